"""The song's time as every exporter writes it: the tempo and time-signature changes that put a
DAW's bar lines on the music's downbeats while audio and notes keep their times in seconds.

From the project: ``time_signature``, ``tempo`` (or ``tempo_map``, the tempo from given times on)
and ``downbeat``, where bar 1 of the music starts. The time before it (the lead-in) is written as
a **pickup bar**: a short first bar of k notes of value 1/den' (3/16, 1/8, ...) at the tempo that
makes it last exactly the lead-in; the project's meter and tempo start at the downbeat, on the
second bar line. With no lead-in there is one bar of the meter from 0, as before.

Why a pickup bar and not the other ways:

* Every format counts bars from time 0 in whole bars of the meter in force, so a bar line at the
  downbeat needs the time before it to be a whole bar. A meter change in mid-bar is not one: MIDI
  readers and REAPER place a time-signature change on the next bar line, and Ardour's meters sit
  on bar lines.
* A first bar of the full meter squeezed into the lead-in needs absurd tempi (a 4/4 bar in 0.43 s
  is 558 BPM).
* A short bar of whole note values does it at about the music's tempo: the note value is the
  coarsest (the meter's beat, its half, ... down to a 64th) whose nearest count of notes lasts the
  lead-in within ``PICKUP_TOLERANCE`` at the music's tempo; 0.43 s before a 97 BPM 4/4 is 3/16 at
  104.65 BPM. MIDI (time-signature and tempo meta events), Ardour (its tempo map's Tempos and
  Meters), DAWproject (tempo and time-signature automation) and REAPER (tempo markers carrying a
  time signature) all express "a 3/16 bar at 104.65 BPM, then 4/4 at 97" the same way.

The cost: the DAW numbers the pickup as bar 1, so the music's first bar is bar 2 there (the report
numbers bars the same way). A lead-in shorter than a 64th note at ``PICKUP_BPM[1]`` (9.4 ms) is
left out: bar 1 then starts at 0, that much early.

Tempi are quarter notes per minute; a tempo map's changes are steps (held until the next point),
which every format can write.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

# The pickup's tempo may differ from the music's by this factor at most, where a note value allows.
PICKUP_TOLERANCE = 0.10
# Tempi a pickup may take (BPM): the project's own range, which every exporter's host accepts.
PICKUP_BPM = (20.0, 400.0)
# The finest note value a pickup is counted in.
PICKUP_FINEST = 64


@dataclass(frozen=True)
class Change:
    """From ``seconds`` (= ``quarters`` quarter notes from 0) on, the tempo is ``bpm``; ``meter``
    is a time signature that starts here (always on a bar line), None where only the tempo
    changes."""

    seconds: float
    quarters: float
    bpm: float
    meter: tuple[int, int] | None = None


def pickup(lead_in: float, bpm: float, time_signature: tuple[int, int]) -> tuple[int, int, float] | None:
    """The pickup bar for a ``lead_in`` (s) before music at ``bpm`` in ``time_signature``:
    (notes, note value, its tempo) with notes/value lasting exactly ``lead_in`` at that tempo, or
    None when there is no lead-in or it is too short for a 64th at the fastest tempo."""
    if lead_in <= 0.0:
        return None
    candidates = []
    value = time_signature[1]
    while value <= PICKUP_FINEST:
        note = 4.0 / value * 60.0 / bpm  # one note of this value at the music's tempo (s)
        count = max(1, int(round(lead_in / note)))
        tempo = count * 4.0 / value * 60.0 / lead_in
        if PICKUP_BPM[0] <= tempo <= PICKUP_BPM[1]:
            off = abs(tempo / bpm - 1.0)
            if off <= PICKUP_TOLERANCE:
                return count, value, tempo
            candidates.append((off, count, value, tempo))
        value *= 2
    if not candidates:
        return None
    _, count, value, tempo = min(candidates)
    return count, value, tempo


@dataclass(frozen=True)
class Conductor:
    """Every tempo and meter change of a project, in time order, the first at 0."""

    changes: tuple[Change, ...]

    @classmethod
    def of(cls, project) -> "Conductor":
        """The changes that put bar lines at ``project.downbeat`` and every bar after it (through
        its tempo map), with the lead-in as a pickup bar (see the module notes)."""
        points = list(project.tempo_map) or [(project.downbeat, project.tempo)]
        start, bpm = points[0]
        changes = []
        found = pickup(start, bpm, project.time_signature)
        if found is not None:
            count, value, tempo = found
            changes.append(Change(0.0, 0.0, tempo, (count, value)))
            changes.append(Change(start, count * 4.0 / value, bpm, tuple(project.time_signature)))
        else:
            # No lead-in, or one too short to write: the meter starts at 0.
            changes.append(Change(0.0, 0.0, bpm, tuple(project.time_signature)))
        for t, tempo in points[1:]:
            last = changes[-1]
            changes.append(Change(t, last.quarters + (t - last.seconds) * last.bpm / 60.0, tempo))
        return cls(tuple(changes))

    @property
    def simple(self) -> bool:
        """One tempo and one meter from 0: what projects without a downbeat or map have."""
        return len(self.changes) == 1

    def _at_seconds(self, seconds: float) -> Change:
        return self.changes[max(0, bisect_right([c.seconds for c in self.changes], seconds) - 1)]

    def _at_quarters(self, quarters: float) -> Change:
        return self.changes[max(0, bisect_right([c.quarters for c in self.changes], quarters) - 1)]

    def quarters_at(self, seconds: float) -> float:
        """Quarter notes from 0 to ``seconds``."""
        c = self._at_seconds(seconds)
        return c.quarters + (seconds - c.seconds) * c.bpm / 60.0

    def seconds_at(self, quarters: float) -> float:
        """Seconds from 0 to ``quarters`` quarter notes."""
        c = self._at_quarters(quarters)
        return c.seconds + (quarters - c.quarters) * 60.0 / c.bpm

    def bbt(self, quarters: float) -> tuple[int, int, float]:
        """(bar from 1, beat of the bar from 1, fraction of that beat) at ``quarters``; a beat is
        the note value of the meter in force (an eighth in 6/8)."""
        bar = 1
        meters = [c for c in self.changes if c.meter is not None]
        for here, nxt in zip(meters, meters[1:] + [None]):
            num, den = here.meter
            length = num * 4.0 / den
            if nxt is not None and quarters >= nxt.quarters - 1e-9:
                bar += int(round((nxt.quarters - here.quarters) / length))
                continue
            into = quarters - here.quarters
            whole = math.floor(into / length + 1e-9)
            beats = (into - whole * length) * den / 4.0
            beat = math.floor(beats + 1e-9)
            return bar + whole, beat + 1, max(0.0, beats - beat)
        raise ValueError("no meter")  # pragma: no cover - the first change always has one

    def bar_lines(self, until: float) -> list[float]:
        """Times (s) of every bar line from 0 to ``until`` s."""
        end_q = self.quarters_at(until)
        meters = [c for c in self.changes if c.meter is not None]
        out = []
        for here, nxt in zip(meters, meters[1:] + [None]):
            num, den = here.meter
            length = num * 4.0 / den
            stop = nxt.quarters if nxt is not None else end_q + 1e-9
            k = 0
            while here.quarters + k * length < stop - 1e-9 and here.quarters + k * length <= end_q + 1e-9:
                out.append(self.seconds_at(here.quarters + k * length))
                k += 1
        return out
