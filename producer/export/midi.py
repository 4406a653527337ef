"""The arrangement as a type-1 Standard MIDI File.

Track 0 is the conductor (tempo, time signature); then one MIDI track per project track, named
after it, with its General MIDI program; drums on channel 10. 960 ticks per quarter note.
Clip gain becomes velocity (see ``velocity_for_gain``).
"""
from __future__ import annotations

import math
from pathlib import Path

from producer.constants import DRUM_CHANNEL, PPQ
from producer.instruments import INSTRUMENTS
from producer.project import Project


def velocity_for_gain(gain_db: float) -> int:
    """Clip gain (dB) -> MIDI velocity: 0 dB is 100; velocity follows amplitude as sqrt (-6 dB ~ 84)."""
    return max(1, min(127, int(round(100 * 10.0 ** (gain_db / 40.0)))))


def gain_for_velocity(velocity: int) -> float:
    """Inverse of ``velocity_for_gain`` (dB)."""
    return 40.0 * math.log10(max(1, velocity) / 100.0)


def seconds_to_ticks(seconds: float, tempo_bpm: float) -> int:
    return int(round(seconds * tempo_bpm / 60.0 * PPQ))


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


def build_midi(project: Project):
    """Project -> ``mido.MidiFile`` (type 1)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ, charset=name_charset(t.name for t in project.tracks))
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name="Conductor", time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(project.tempo), time=0))
    num, den = project.time_signature
    conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(conductor)

    for track, channel in zip(project.tracks, channels_for(project)):
        mt = mido.MidiTrack()
        mt.append(mido.MetaMessage("track_name", name=track.name, time=0))
        inst = INSTRUMENTS.get(track.instrument)
        if channel != DRUM_CHANNEL:
            mt.append(mido.Message("program_change", channel=channel, program=inst.gm_program if inst else 0, time=0))
        events = []  # (tick, order, message); note-offs sort before note-ons at the same tick
        for clip in track.clips:
            on = seconds_to_ticks(clip.start, project.tempo)
            off = max(on + 1, seconds_to_ticks(clip.end, project.tempo))
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
