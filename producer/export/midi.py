"""The arrangement as a type-1 Standard MIDI File.

Track 0 is the conductor: tempo and time-signature events (``producer.export.conductor``: a
pickup bar for the lead-in before the project's downbeat, then the meter and the tempo map), so a
reader's bar lines fall on the music's downbeats; then one MIDI track per project track, named
after it, with its General MIDI program; drums on channel 10. 960 ticks per quarter note.
Clip gain becomes velocity (see ``velocity_for_gain``).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from pathlib import Path

from producer.constants import DRUM_CHANNEL, PPQ
from producer.export.conductor import Conductor
from producer.instruments import INSTRUMENTS
from producer.project import Project


def velocity_for_gain(gain_db: float) -> int:
    """Clip gain (dB) -> MIDI velocity: 0 dB is 100; velocity follows amplitude as sqrt (-6 dB ~ 84)."""
    return max(1, min(127, int(round(100 * 10.0 ** (gain_db / 40.0)))))


def gain_for_velocity(velocity: int) -> float:
    """Inverse of ``velocity_for_gain`` (dB)."""
    return 40.0 * math.log10(max(1, velocity) / 100.0)


def channels_for(project: Project) -> list[int]:
    """A MIDI channel per track: drums on 10, the rest share 1-9, 11-16 in order (wrapping)."""
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    out, k = [], 0
    for track in project.tracks:
        if INSTRUMENTS.get(track.instrument) and INSTRUMENTS[track.instrument].is_drums:
            out.append(DRUM_CHANNEL)
        else:
            out.append(melodic[k % len(melodic)])
            k += 1
    return out


def name_charset(names) -> str:
    """MIDI text has no declared encoding; Latin-1 is what old readers assume. Names it cannot
    hold (CJK, emoji) are written as UTF-8, which current DAWs read."""
    try:
        for name in names:
            name.encode("latin-1")
    except UnicodeEncodeError:
        return "utf-8"
    return "latin1"


def tempo_events(conductor: Conductor) -> list[tuple[int, int, tuple[int, int] | None]]:
    """(tick, microseconds per quarter, time signature or None) for every change.

    A MIDI tempo is whole microseconds: rounded plainly, each segment's error would carry into
    every later change (0.5 us a quarter). Each segment's tempo is instead chosen so that the next
    change falls at its own time in seconds as the file plays, to a fraction of a microsecond a
    quarter within the segment."""
    import mido

    changes = conductor.changes
    ticks = [int(round(c.quarters * PPQ)) for c in changes]
    out, now = [], 0.0  # now: the file's time (us) at the current change
    for i, c in enumerate(changes):
        if i + 1 < len(changes) and ticks[i + 1] > ticks[i]:
            us = int(round((changes[i + 1].seconds * 1e6 - now) * PPQ / (ticks[i + 1] - ticks[i])))
        else:
            us = mido.bpm2tempo(c.bpm)
        us = max(1, min(us, 0xFFFFFF))
        out.append((ticks[i], us, c.meter))
        if i + 1 < len(changes):
            now += (ticks[i + 1] - ticks[i]) * us / PPQ
    return out


def build_midi(project: Project):
    """Project -> ``mido.MidiFile`` (type 1)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ, charset=name_charset(t.name for t in project.tracks))
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="Conductor", time=0))
    tempi = tempo_events(Conductor.of(project))
    now = 0
    for tick, us, meter in tempi:
        conductor.append(mido.MetaMessage("set_tempo", tempo=us, time=tick - now))
        now = tick
        if meter is not None:
            conductor.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(conductor)

    # Notes go where the file plays them at their time in seconds, through its own (whole
    # microsecond) tempi: within half a tick of the audio, however long the piece.
    starts, at = [], 0.0
    for (tick, us, _), nxt in zip(tempi, tempi[1:] + [None]):
        starts.append(at)
        if nxt is not None:
            at += (nxt[0] - tick) * us / PPQ

    def ticks(seconds: float) -> int:
        us_time = seconds * 1e6
        i = max(0, bisect_right(starts, us_time) - 1)
        tick, us, _ = tempi[i]
        return int(round(tick + (us_time - starts[i]) * PPQ / us))

    for track, channel in zip(project.tracks, channels_for(project)):
        mt = mido.MidiTrack()
        mt.append(mido.MetaMessage("track_name", name=track.name, time=0))
        inst = INSTRUMENTS.get(track.instrument)
        if channel != DRUM_CHANNEL:
            mt.append(mido.Message("program_change", channel=channel, program=inst.gm_program if inst else 0, time=0))
        events = []  # (tick, order, message); note-offs sort before note-ons at the same tick
        for clip in track.clips:
            on = ticks(clip.start)
            off = max(on + 1, ticks(clip.end))
            vel = velocity_for_gain(clip.gain_db)
            events.append((on, 1, mido.Message("note_on", channel=channel, note=clip.pitch, velocity=vel)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=clip.pitch, velocity=0)))
        events.sort(key=lambda e: (e[0], e[1], e[2].note))
        now = 0
        for tick, _, msg in events:
            mt.append(msg.copy(time=tick - now))
            now = tick
        mt.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(mt)
    return mid


def write_midi(project: Project, path: str | Path) -> Path:
    build_midi(project).save(str(path))
    return Path(path)
