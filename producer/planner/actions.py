"""Search states and the actions that change them.

A ``State`` holds the ``Project`` built so far and one ``Slot`` per track to be written. A slot's
cursor is an index into the target's onset grid; a slot becomes a project track with its first
insert (which fixes the track's instrument). A track strikes one note or one chord at a time
(``Insert.chord``: the notes struck with the first, up to ``search.chord`` in all). The slot
that acts is always the unfinished slot with the earliest cursor (lowest index on ties), so the
tracks are written side by side from left to right and no ordering of the same edits is searched
twice. What each action does to a state is ``producer.planner.state.ActionSpace.apply``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Insert:
    slot: int
    sample: str
    pitch: int
    gain_db: float
    chord: tuple[tuple[str, int, float], ...] = ()  # (sample, pitch, gain dB) of notes struck with it

    def notes(self) -> tuple[tuple[str, int, float], ...]:
        """Every note this insert strikes, the first one first."""
        return ((self.sample, self.pitch, self.gain_db),) + self.chord

    def describe(self) -> str:
        return (f"insert {' + '.join(f'{s}@{p} {g:+.1f} dB' for s, p, g in self.notes())} "
                f"on slot {self.slot}")


@dataclass(frozen=True)
class Hold:
    slot: int

    def describe(self) -> str:
        return f"hold slot {self.slot}"


@dataclass(frozen=True)
class Rest:
    slot: int

    def describe(self) -> str:
        return f"rest slot {self.slot}"


@dataclass(frozen=True)
class Finish:
    slot: int

    def describe(self) -> str:
        return f"finish slot {self.slot}"


@dataclass(frozen=True)
class AddEffect:
    track: int
    kind: str

    def describe(self) -> str:
        return f"add {self.kind} to track {self.track}"


@dataclass(frozen=True)
class SetParam:
    track: int
    effect: int
    name: str
    value: float

    def describe(self) -> str:
        return f"set track {self.track} effect {self.effect} {self.name}={self.value:g}"


@dataclass(frozen=True)
class Stop:
    def describe(self) -> str:
        return "stop"


Action = Insert | Hold | Rest | Finish | AddEffect | SetParam | Stop


@dataclass(frozen=True)
class Slot:
    track: int | None = None  # index in project.tracks once the slot has its first note
    cursor: int = 0  # index into the onset grid
    finished: bool = False
    sounding: bool = False  # the track's last note (or chord) is still held at the cursor
    instrument: str | None = None  # chosen before the search (note prior); None: the first insert's


@dataclass(frozen=True)
class State:
    project: Project
    slots: tuple[Slot, ...]
    effect_actions: int = 0
    stopped: bool = False

    def acting_slot(self) -> int | None:
        """The unfinished slot with the earliest cursor, or None in the effect phase."""
        best = None
        for i, s in enumerate(self.slots):
            if not s.finished and (best is None or s.cursor < self.slots[best].cursor):
                best = i
        return best
