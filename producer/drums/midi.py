"""Writing the drum part as a Standard MIDI File (type 1, General MIDI drums on channel 10)."""
from __future__ import annotations

import os

import numpy as np

from producer.drums.prior import GM_NOTES

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9  # zero-based: General MIDI's channel 10


def step_times(n_steps: int, *, steps_per_bar: int, bpm: float, swing: float = 0.0,
               beats_per_bar: int = 4) -> np.ndarray:
    """Onset time (s) of every step [shape=(n_steps,)].

    ``swing`` in [0, 0.5] delays every second step (the off-beat 16ths of a 16-step bar) by that
    fraction of a step: 0 straight, 1/3 a triplet shuffle, 0.5 a dotted feel.
    """
    step_s = 60.0 / bpm * beats_per_bar / steps_per_bar
    t = np.arange(n_steps) * step_s
    t[1::2] += swing * step_s
    return t


def write_drum_midi(path: str | os.PathLike, rows: dict[str, np.ndarray], *, steps_per_bar: int,
                    bpm: float, swing: float = 0.0, beats_per_bar: int = 4) -> None:
    """Write ``rows`` (voice -> MIDI velocities [shape=(steps,)], 0 = rest) as a type-1 file.

    Track 0 holds the tempo and time signature, track 1 the drum notes on channel 10 at their GM
    keys (kick 36, snare 38, closed hi-hat 42, open hi-hat 46, ...), each half a step long.
    """
    import mido

    step_ticks = TICKS_PER_BEAT * beats_per_bar / steps_per_bar
    events: list[tuple[int, int, int, int]] = []  # (tick, 0 off / 1 on, note, velocity)
    for voice, vel in rows.items():
        note = GM_NOTES[voice]
        for t, v in enumerate(np.asarray(vel)):
            if v <= 0:
                continue
            start = int(round((t + (swing if t % 2 else 0.0)) * step_ticks))
            length = max(1, int(round(step_ticks / 2)))
            events.append((start, 1, note, int(min(127, v))))
            events.append((start + length, 0, note, 0))
    events.sort()  # at equal ticks note-offs (0) come before note-ons (1)

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("track_name", name="producer drums", time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    drums = mido.MidiTrack()
    drums.append(mido.MetaMessage("track_name", name="drums", time=0))
    now = 0
    for tick, on, note, vel in events:
        kind = "note_on" if on else "note_off"
        drums.append(mido.Message(kind, channel=DRUM_CHANNEL, note=note, velocity=vel,
                                  time=tick - now))
        now = tick
    drums.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.extend([meta, drums])
    mid.save(str(path))
