import mido
import numpy as np
import pytest

from producer.drums.midi import step_times, write_drum_midi


def test_swing_delays_every_second_step(tmp_path):
    t = step_times(4, steps_per_bar=16, bpm=120, swing=0.25)
    # A 16th at 120 bpm is 0.125 s; odd steps move by a quarter of that.
    assert np.allclose(t, [0.0, 0.125 + 0.03125, 0.25, 0.375 + 0.03125])
    vel = np.array([100, 80, 0, 90] + [0] * 12)
    write_drum_midi(tmp_path / "d.mid", {"hihat_closed": vel}, steps_per_bar=16, bpm=120,
                    swing=0.25)
    mid = mido.MidiFile(tmp_path / "d.mid")
    tick, ons = 0, []
    for m in mid.tracks[1]:
        tick += m.time
        if m.type == "note_on":
            ons.append((tick, m.note, m.velocity, m.channel))
    assert ons == [(0, 42, 100, 9), (150, 42, 80, 9), (390, 42, 90, 9)]


def test_note_offs_follow_each_note(tmp_path):
    write_drum_midi(tmp_path / "d.mid", {"kick": np.array([100] * 16), "snare": np.zeros(16)},
                    steps_per_bar=16, bpm=90)
    mid = mido.MidiFile(tmp_path / "d.mid")
    msgs = [m for m in mid.tracks[1] if not m.is_meta]
    assert sum(m.type == "note_on" for m in msgs) == 16
    assert sum(m.type == "note_off" for m in msgs) == 16
    # The last note-off comes half a step after the 16th note's onset (tempo is whole microseconds).
    assert mid.length == pytest.approx(15.5 * 60 / 90 / 4, abs=1e-5)
