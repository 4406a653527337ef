"""arrangement.mid as written by the export: read back by mido and pretty_midi with the project's
notes, and played by an independent synthesizer (the FluidSynth command line with FluidR3_GM)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from producer.export.sessions import write_sessions
from producer.project import Clip, Project, Track
from producer.render.engine import Renderer

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FLUIDSYNTH = shutil.which("fluidsynth")

# Notes a second apart with silence between, so each onset stands out in the synthesized audio.
PIANO = [(0.5, 0.3, 60), (1.5, 0.3, 64), (2.5, 0.3, 67)]
KICKS = [(1.0, 0.1, 36), (2.0, 0.1, 36)]


def song() -> Project:
    return Project(sample_rate=44100, tempo=110.0, tracks=(
        Track("Piano", "piano", clips=tuple(Clip("piano/60", s, h, p) for s, h, p in PIANO)),
        Track("Kit", "drums", clips=tuple(Clip("drums/kick", s, h, p) for s, h, p in KICKS)),
    ))


@pytest.fixture()
def midi_path(tmp_path, tiny_library):
    written = write_sessions(song(), Renderer(tiny_library), tmp_path, ("midi",))
    assert list(written) == ["midi"] and sorted(p.name for p in tmp_path.iterdir()) == ["arrangement.mid"]
    return written["midi"][0]


def test_mido_and_pretty_midi_read_the_same_notes(midi_path):
    mid = mido.MidiFile(str(midi_path))
    assert mid.type == 1 and len(mid.tracks) == 3
    pm = pretty_midi.PrettyMIDI(str(midi_path))
    piano, kit = pm.instruments
    assert (piano.program, piano.is_drum, kit.is_drum) == (0, False, True)
    tick = 60.0 / 110.0 / 960  # one tick at 110 bpm, 960 PPQ
    for inst, notes in ((piano, PIANO), (kit, KICKS)):
        got = [(n.start, n.end - n.start, n.pitch) for n in inst.notes]
        assert len(got) == len(notes)
        for (s, d, p), (s2, d2, p2) in zip(got, notes):
            assert p == p2 and abs(s - s2) <= tick and abs(d - d2) <= 2 * tick
    # mido agrees with pretty_midi on every note-on, in absolute seconds
    ons, now = [], 0.0
    for msg in mido.merge_tracks(mid.tracks):
        now += mido.tick2second(msg.time, 960, mido.bpm2tempo(110.0))
        if msg.type == "note_on" and msg.velocity > 0:
            ons.append((round(now, 4), msg.note))
    assert sorted(ons) == sorted((round(n.start, 4), n.pitch) for i in pm.instruments for n in i.notes)


@pytest.mark.skipif(FLUIDSYNTH is None or not SOUNDFONT.is_file(),
                    reason="fluidsynth CLI or /usr/share/sounds/sf2/FluidR3_GM.sf2 missing "
                           "(apt-get install fluidsynth fluid-soundfont-gm)")
def test_fluidsynth_plays_it_with_onsets_where_the_notes_are(midi_path, tmp_path):
    wav = tmp_path / "fluid.wav"
    subprocess.run([FLUIDSYNTH, "-ni", "-F", str(wav), "-r", "44100", "-g", "0.5", str(SOUNDFONT), str(midi_path)],
                   check=True, capture_output=True, timeout=120)
    y, sr = sf.read(str(wav), always_2d=True)
    mono = y.mean(axis=1)
    assert np.sqrt(np.mean(mono ** 2)) > 1e-3  # not silent

    def rms_db(t0: float, t1: float) -> float:
        seg = mono[int(t0 * sr): int(t1 * sr)]
        return 10 * np.log10(np.mean(seg ** 2) + 1e-12)

    for start, _, _ in sorted(PIANO + KICKS):
        before, after = rms_db(start - 0.06, start - 0.01), rms_db(start + 0.005, start + 0.055)
        assert after - before > 6.0, (start, before, after)  # a note starts here
    # and before the first note there is nothing
    assert rms_db(0.0, 0.45) < -80.0
