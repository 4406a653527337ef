"""How ``recreate``'s wall-clock budget is shared out, so the whole command holds it.

A run has fixed costs (reading the input, loading the timbre model and the library's catalogue,
cached on disk by ``catalogue_cache``; librosa's compiled kernels), an analysis whose cost grows
with the input's length and its onsets, the search, and writing the project folder. ``plan_project``
pays the fixed costs first, then a ``Schedule`` (from the time left) decides:

1. ``detect_span``: how much of the input to detect onsets on, before their number is known
   (``GUESS_DENSITY`` onsets a second assumed; music has 4-5, noise 12.5);
2. ``analysis_span``: with the onsets known, the longest start of the input (whole seconds, at
   least one reward window) whose analysis, estimated from the costs below, fits in the analysis
   deadline: ``ANALYSIS_SHARE`` of what is left once writing is reserved. A budget that fits the
   whole input analyses all of it, exactly as an unlimited one does; a smaller budget analyses the
   start, and the project recreates that (the search, which places notes from the start on,
   could not have reached further in the time left anyway);
3. the note prior stops at the analysis deadline whatever the estimate said (its cost per onset
   varies most with the sound and the machine's load);
4. ``search_seconds``: the search runs until the write reserve is left.

The costs were measured on the shared 2-core machine while a training job held the other core
(load 2-6), on noise and dev-set pieces of 20-300 s, and rounded up; a faster machine analyses
more of a long input in the same budget only through the note prior's deadline.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

# The analysis may take this share of the time left after the fixed costs and the write reserve;
# the search gets the rest. At least this share of the budget is kept back for writing.
ANALYSIS_SHARE = 0.5
WRITE_SHARE = 0.1

AUDIO_COST = 0.04  # s per s of input: onset detection 2-6 ms, rhythm 9-20 ms, frames and segment embeddings 3-6 ms
ONSET_COST = 0.07  # s per onset candidate: its embedding (2-3 ms) and its note-prior fit (36-66 ms)
ANALYSIS_FIXED = 0.5  # s: first calls of the analysis (numba kernels loaded, tempo set-up)
GUESS_DENSITY = 2.0  # onsets per s assumed before detection: detecting on more than is analysed costs little
WRITE_FIXED = 2.0  # s: render, stems, MIDI, sessions, report (0.5 s + 1.2-1.7 s for 20-60 s targets)
WRITE_COST = 0.03  # s per s of target: the report's waveforms and spectrograms (8.3 s for 300 s)


@dataclass(frozen=True)
class Schedule:
    """The budget of one run: ``seconds`` of wall clock from ``started`` (``time.monotonic()``)."""

    started: float
    seconds: float

    def left(self, now: float | None = None) -> float:
        return self.started + self.seconds - (time.monotonic() if now is None else now)

    def write_reserve(self, span: float) -> float:
        """Seconds kept for writing a project folder whose target is ``span`` s long."""
        return max(WRITE_SHARE * self.seconds, WRITE_FIXED + WRITE_COST * span)

    def analysis_room(self, span: float, now: float | None = None) -> float:
        """Seconds the analysis of ``span`` s may take from ``now`` (never negative)."""
        return max(0.0, ANALYSIS_SHARE * (self.left(now) - self.write_reserve(span)))

    def detect_span(self, duration: float, *, shortest: float, now: float | None = None) -> float:
        """Seconds of the input (from its start) to detect onsets on: ``duration`` when its
        analysis fits at ``GUESS_DENSITY``, else the longest whole number of seconds that does
        (at least ``shortest``)."""
        per_second = AUDIO_COST + GUESS_DENSITY * ONSET_COST
        return _longest(duration, shortest,
                        lambda p: ANALYSIS_FIXED + per_second * p <= self.analysis_room(p, now))

    def analysis_span(self, duration: float, onsets: np.ndarray, deadline: float, *, shortest: float,
                      now: float | None = None) -> float:
        """Seconds of the input to analyse, its ``onsets`` (s, ascending) known: ``duration`` when
        the estimate fits before ``deadline``, else the longest whole number of seconds that does
        (at least ``shortest``)."""
        room = deadline - (time.monotonic() if now is None else now)
        onsets = np.asarray(onsets, np.float64)
        return _longest(duration, shortest,
                        lambda p: AUDIO_COST * p + ONSET_COST * int(np.searchsorted(onsets, p)) <= room)

    def search_seconds(self, span: float, now: float | None = None) -> float:
        """Seconds the search may run from ``now``, writing a ``span`` s target's folder after it."""
        return max(0.0, self.left(now) - self.write_reserve(span))


def _longest(duration: float, shortest: float, fits) -> float:
    """``duration`` if ``fits(duration)``, else the longest whole number of seconds in
    [shortest, duration) that fits, else ``shortest`` (or ``duration`` when that is shorter).
    ``fits`` must hold for every span below one where it holds (costs grow with the span)."""
    if fits(duration):
        return duration
    lo = math.ceil(shortest)
    if lo >= duration:
        return duration
    if not fits(lo):
        return float(lo)
    hi = math.ceil(duration)  # the first whole number not below duration: taken not to fit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return float(lo)
