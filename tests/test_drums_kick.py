import mido
import numpy as np
import pytest
import soundfile as sf

from producer.drums.kick import kick_from_audio, kick_from_midi, read_kick
from producer.drums.patterns import format_pattern
from producer.errors import InputError

SR = 22050


def midi_file(path, events, ticks_per_beat=96):
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    tr = mido.MidiTrack()
    now = 0
    for tick, note, vel in events:
        tr.append(mido.Message("note_on", channel=9, note=note, velocity=vel, time=tick - now))
        tr.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=10))
        now = tick + 10
    mid.tracks.append(tr)
    mid.save(path)
    return path


def test_kick_from_midi_in_four_four(tmp_path):
    # Kicks on beats 1 and 3 (loud on 1), a snare on 2 that must be ignored; second bar: beat 4.
    path = midi_file(tmp_path / "k.mid", [(0, 36, 110), (96, 38, 90), (192, 36, 80),
                                          (384 + 288, 35, 90)])
    assert format_pattern(kick_from_midi(path), steps_per_bar=16) == \
        "X.......x.......|............x..."


def test_kick_from_midi_in_six_eight(tmp_path):
    # 6/8: twelve 16ths a bar; kicks on the two dotted beats (ticks 0 and 144 at 96 per quarter).
    path = midi_file(tmp_path / "k.mid", [(0, 36, 90), (144, 36, 90)])
    assert format_pattern(kick_from_midi(path, meter="6/8")) == "x.....x....."


def test_midi_without_kick(tmp_path):
    path = midi_file(tmp_path / "s.mid", [(0, 38, 90)])
    with pytest.raises(InputError, match="no kick notes"):
        kick_from_midi(path)


def thump(n):
    t = np.arange(n) / SR
    return np.sin(2 * np.pi * 55 * t) * np.exp(-t * 18)


def tick(n, rng):
    noise = rng.standard_normal(n) * np.exp(-np.arange(n) / SR * 60)
    return np.diff(noise, prepend=0.0) * 0.3  # differentiated: almost nothing below 150 Hz


def loop(kick_steps, bars=4, bpm=120.0, with_kick=True, seed=0):
    rng = np.random.default_rng(seed)
    step = int(round(60 / bpm / 4 * SR))
    y = np.zeros(step * 16 * bars + SR // 2)
    for b in range(bars):
        for s in range(16):
            at = (b * 16 + s) * step
            if s % 2 == 0:
                y[at:at + 2000] += tick(2000, rng)
            if s % 8 == 4:  # a snare-ish crack on 2 and 4: noise, mostly high
                y[at:at + 3000] += 1.5 * tick(3000, rng)
            if with_kick and s in kick_steps:
                y[at:at + 6000] += thump(6000)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_kick_from_audio_finds_the_onsets_on_the_grid(tmp_path):
    path = tmp_path / "loop.wav"
    sf.write(path, loop({0, 6, 8, 10}), SR)
    levels, bpm = kick_from_audio(path)
    assert bpm == pytest.approx(120, rel=0.04)
    text = format_pattern(levels > 0, steps_per_bar=16)
    assert text.split("|")[:3] == ["x.....x.x.x....."] * 3
    k = read_kick(str(path))
    assert k.source == "audio" and k.bpm == bpm


def test_audio_without_kick_is_refused(tmp_path):
    path = tmp_path / "hats.wav"
    sf.write(path, loop(set(), with_kick=False), SR)
    with pytest.raises(InputError, match="no kick found"):
        kick_from_audio(path)


def test_read_kick_dispatches_and_checks_the_meter(tmp_path):
    assert read_kick("x...x...x...x...").source == "pattern"
    with pytest.raises(InputError, match="--meter 7/8: not supported"):
        read_kick("x...", meter="7/8")
    with pytest.raises(InputError, match="no such MIDI file"):
        read_kick(str(tmp_path / "none.mid"))
