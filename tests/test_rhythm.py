"""producer.rhythm on synthetic click tracks of known tempo and meter; the quantize grid; the
project's tempo and meter reaching every exporter's bar lines."""
from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from producer.errors import InputError
from producer.rhythm import (analyze_rhythm, beat_f_measure, check_tempo, parse_grid, quantize,
                             tempo_error)

SR = 22050


def _tone(freq: float, seconds: float, decay: float, amp: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t) * np.exp(-t * decay)).astype(np.float32)


def click_track(bpm: float, beats_per_bar: int, *, seconds: float = 16.0, start: float = 0.25,
                eighths: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A bar of clicks: a low thump and a chord on the downbeat (chords change every bar, as in
    songs), high clicks on the other beats, optional soft eighths. -> (y, beats, downbeats)."""
    y = np.zeros(int(seconds * SR), np.float32)
    period = 60.0 / bpm
    beats = np.arange(start, seconds - 0.3, period)
    roots = (0, 5, 7, 9)

    def put(t: float, sig: np.ndarray) -> None:
        s = int(round(t * SR))
        n = min(len(sig), len(y) - s)
        y[s:s + n] += sig[:n]

    for i, t in enumerate(beats):
        if i % beats_per_bar == 0:
            put(t, _tone(60.0, 0.15, 40.0, 1.0))
            r = roots[(i // beats_per_bar) % len(roots)]
            for k in (0, 4, 7):
                put(t, _tone(220.0 * 2 ** ((r + k) / 12), beats_per_bar * period * 0.9, 2.0, 0.12))
        else:
            put(t, _tone(1000.0, 0.03, 60.0, 0.5))
        if eighths:
            put(t + period / 2, _tone(3000.0, 0.02, 80.0, 0.2))
    return y, beats, beats[::beats_per_bar]


@pytest.mark.parametrize("bpm,bar,eighths", [(100.0, 4, False), (133.0, 4, True), (133.0, 3, False),
                                             (90.0, 3, True)])
def test_tempo_beats_meter_and_downbeats_of_click_tracks(bpm, bar, eighths):
    y, beats, downbeats = click_track(bpm, bar, eighths=eighths)
    r = analyze_rhythm(y, SR)
    assert abs(r.tempo - bpm) / bpm < 0.02
    assert r.time_signature == (bar, 4) and r.beats_per_bar == bar
    assert beat_f_measure(beats, r.beats) >= 0.9
    assert beat_f_measure(downbeats, r.downbeats) >= 0.9
    assert r.project_tempo == pytest.approx(r.tempo)


def test_a_given_tempo_replaces_the_estimate():
    y, _, _ = click_track(133.0, 4)
    r = analyze_rhythm(y, SR, tempo=100.0)
    assert r.tempo == 100.0
    assert np.median(np.diff(r.beats)) == pytest.approx(0.6, abs=0.05)


def test_silence_and_short_input_fall_back_to_four_four():
    r = analyze_rhythm(np.zeros(SR * 4, np.float32), SR)
    assert r.tempo == 120.0 and r.time_signature == (4, 4) and len(r.beats) > 0
    y, _, _ = click_track(120.0, 3, seconds=2.0)
    r = analyze_rhythm(y, SR)
    assert r.time_signature == (4, 4) and r.confidence == 0.0


def test_other_sample_rates_are_resampled():
    y, beats, _ = click_track(110.0, 4, seconds=12.0)
    from producer.audio import resample

    r = analyze_rhythm(resample(y, SR, 44100), 44100)
    assert abs(r.tempo - 110.0) / 110.0 < 0.02 and beat_f_measure(beats, r.beats) >= 0.9


def test_quantize_snaps_to_the_grid_between_beats():
    beats = np.array([1.0, 1.5, 2.0, 2.5])
    times = np.array([1.06, 1.2, 1.74, 2.9, 0.2])
    # 1/16 of a quarter-note beat of 0.5 s: 0.125 s steps, continued past both ends.
    assert quantize(times, beats, "1/16") == pytest.approx([1.0, 1.25, 1.75, 2.875, 0.25])
    assert quantize(times, beats, "1/4") == pytest.approx([1.0, 1.0, 1.5, 3.0, 0.0])
    # Eighth triplets: three steps a beat.
    assert quantize([1.17], beats, "1/8t") == pytest.approx([1.0 + 0.5 / 3])
    # The grid follows the beats where the tempo drifts.
    drift = np.array([0.0, 0.5, 1.1, 1.8])
    assert quantize([1.4, 1.47], drift, "1/8") == pytest.approx([1.45, 1.45])
    assert quantize([0.3], np.array([1.0]), "1/16") == pytest.approx([0.3])  # no grid: unchanged


def test_grid_and_tempo_values_are_checked():
    assert parse_grid("1/16") == pytest.approx(1 / 16)
    assert parse_grid(" 1/8T ") == pytest.approx(1 / 12)
    for bad in ("1/3", "2/16", "1/128", "sixteenth", ""):
        with pytest.raises(InputError, match="--quantize"):
            parse_grid(bad)
    assert check_tempo("96.5") == 96.5
    for bad in (0, 19.9, 401, float("nan"), "fast"):
        with pytest.raises(InputError, match="--tempo"):
            check_tempo(bad)


def test_tempo_error_counts_double_and_half():
    assert tempo_error(100.0, 100.0) == (0.0, True)
    assert tempo_error(201.0, 100.0)[1] and tempo_error(49.0, 100.0)[1]
    assert not tempo_error(150.0, 100.0)[1] and not tempo_error(105.0, 100.0)[1]


# --- the project's tempo and meter in every exporter ----------------------------------------

def three_four_song():
    from producer.project import Clip, Project, Track

    bar = 3 * 60.0 / 133.0  # one bar of 3/4 at 133 BPM
    return Project(sample_rate=48000, tempo=133.0, time_signature=(3, 4), tracks=(
        Track("Keys", "piano", clips=(Clip("piano/60", 0.0, 0.2, 60), Clip("piano/60", bar, 0.2, 64),
                                      Clip("piano/60", 2 * bar, 0.2, 67))),
    )), bar


def test_midi_bars_follow_the_project_tempo_and_meter(tmp_path):
    import mido

    from producer.constants import PPQ
    from producer.export.midi import write_midi

    project, bar = three_four_song()
    mid = mido.MidiFile(str(write_midi(project, tmp_path / "song.mid")))
    meta = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(133.0, abs=1e-3)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    ticks, now = [], 0
    for msg in mid.tracks[1]:
        now += msg.time
        if msg.type == "note_on":
            ticks.append(now)
    assert ticks == [0, 3 * PPQ, 6 * PPQ]  # each clip on a bar line of 3 quarter notes


def test_ardour_dawproject_and_rpp_carry_tempo_and_meter(tmp_path, tiny_library):
    from producer.export.ardour import write_ardour_session
    from producer.export.clips import collect_clips
    from producer.export.dawproject import write_dawproject
    from producer.export.rpp import parse_rpp, write_rpp
    from producer.render.engine import Renderer

    project, _ = three_four_song()
    clips = collect_clips(project, Renderer(tiny_library))
    clips.write(tmp_path / "clips")
    root = ET.parse(write_ardour_session(project, clips, tmp_path / "ardour", name="s")).getroot()
    tempo = root.find("TempoMap/Tempos/Tempo")
    meter = root.find("TempoMap/Meters/Meter")
    assert float(tempo.get("npm")) == 133.0 and tempo.get("note-type", tempo.get("note_type")) == "4"
    assert (meter.get("divisions-per-bar", meter.get("divisions_per_bar")),
            meter.get("note-value", meter.get("note_value"))) == ("3", "4")
    rpp = parse_rpp(write_rpp(project, clips, tmp_path / "song.rpp").read_text())
    assert rpp.value("TEMPO")[:3] == ["133.0", "3", "4"]
    with zipfile.ZipFile(write_dawproject(project, clips, tmp_path / "song.dawproject", title="t")) as z:
        doc = ET.fromstring(z.read("project.xml"))
    assert float(doc.find("Transport/Tempo").get("value")) == 133.0
    sig = doc.find("Transport/TimeSignature")
    assert (sig.get("numerator"), sig.get("denominator")) == ("3", "4")


def test_the_target_and_a_new_project_carry_the_songs_time():
    from producer.planner.target import analyze

    class FlatModel:  # the analysis only needs embeddings of the right shape here
        def embed(self, segments):
            return np.ones((len(segments), 4), np.float32) / 2.0

    y, beats, _ = click_track(133.0, 3, seconds=12.0)
    target = analyze(y, FlatModel())
    assert target.time_signature == (3, 4) and abs(target.tempo - 133.0) < 2.0
    assert beat_f_measure(beats, target.beats) >= 0.9
    forced = analyze(y, FlatModel(), tempo=100.0)
    assert forced.tempo == 100.0


# --- report.html: beats, bars and the recreation's notes over the target's spectrogram ------

def test_bar_marks_number_the_bars_inside_the_span():
    from producer.export.report.figures import bar_marks

    beats, bars = bar_marks([0.5, 1.0, 1.5, 2.0, 9.0], [0.5, 2.0, 9.0], 5.0)
    assert beats == [0.5, 1.0, 1.5, 2.0] and bars == [(0.5, 1), (2.0, 2)]


def test_spectrogram_draws_bar_lines_and_notes_where_they_fall():
    import base64
    import io

    from PIL import Image

    from producer.export.report.figures import FIG_DPI, FIG_WIDTH_IN, TIME_LEFT, TIME_RIGHT, _spectrogram_png
    from producer.export.report.page import PREVIEW_SR
    from producer.project import Clip, Project, Track

    span = 8.0
    t = np.arange(int(span * PREVIEW_SR)) / PREVIEW_SR
    y = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    downbeats = [1.0, 3.0, 5.0, 7.0]

    def pixels(**kw) -> np.ndarray:
        png = _spectrogram_png(y, y, span, **kw)
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"), np.int16)

    plain = pixels()
    marked = pixels(beats=np.arange(1.0, 8.0, 0.5), downbeats=downbeats)
    cols = np.flatnonzero(np.abs(marked - plain).sum(axis=(0, 2)) > 0)
    width = FIG_WIDTH_IN * FIG_DPI
    for d in downbeats:
        x = (TIME_LEFT + d / span * (TIME_RIGHT - TIME_LEFT)) * width
        assert np.min(np.abs(cols - x)) <= 2  # a line drawn at every bar
    project = Project(tracks=(Track("Keys", "piano", clips=(Clip("piano/60", 2.0, 1.0, 69),)),))
    noted = pixels(project=project)
    rows, cols = np.nonzero(np.abs(noted - plain).sum(axis=2) > 60)
    x0 = (TIME_LEFT + 2.0 / span * (TIME_RIGHT - TIME_LEFT)) * width
    x1 = (TIME_LEFT + 3.0 / span * (TIME_RIGHT - TIME_LEFT)) * width
    assert len(cols) and cols.min() >= x0 - 2 and cols.max() <= x1 + 2  # the note's second, no more


def test_quantize_project_moves_starts_and_keeps_holds():
    from producer.project import Clip, Project, Track
    from producer.rhythm import quantize_project

    beats = np.arange(0.0, 4.0, 0.5)  # 120 BPM
    project = Project(tempo=120.0, tracks=(
        Track("Keys", "piano", clips=(Clip("piano/60", 0.13, 0.3, 60), Clip("piano/60", 1.02, 0.2, 62))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.49, 0.1, 36),)),
    ))
    q = quantize_project(project, beats, "1/8")
    assert [c.start for c in q.tracks[0].clips] == [0.25, 1.0] and [c.hold for c in q.tracks[0].clips] == [0.3, 0.2]
    assert q.tracks[1].clips[0].start == 0.5 and q.tempo == 120.0
    assert project.tracks[0].clips[0].start == 0.13  # the original is left as it was
