"""The planner's use: a target's audio in, the best project found out. It writes nothing.

``plan_project`` analyses the target, builds the search problem (library catalogue, note prior)
and runs the Monte Carlo tree search; Ctrl-C during the search stops it and the best project so
far is returned. ``producer.api.recreate`` checks the user's input first and writes the result.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from producer.config import PlannerConfig
from producer.rhythm import with_bar_grid


@dataclass(frozen=True)
class Recreation:
    """What one search found: ``result`` (a ``SearchResult``: project, reward, log, history) and
    ``target`` (the analysed input it was scored against)."""
    result: object
    target: object

    @property
    def project(self):
        return self.result.project


def usable_library(library):
    """The part of ``library`` the planner can write into a project (known instruments only)."""
    from producer.errors import SampleError
    from producer.instruments import INSTRUMENTS
    from producer.samples import Library

    known = [s for s in library if s.instrument in INSTRUMENTS]
    if not known:
        raise SampleError(f"sample library {library.root} has no samples of a known instrument "
                          f"(known: {', '.join(INSTRUMENTS)})")
    if len(known) == len(library):
        return library
    return Library(library.root, known)


def plan_project(y: np.ndarray, sr: int, *, library, model, renderer, config: PlannerConfig, seed: int = 0,
                 started: float | None = None, tempo: float | None = None, quantize: str | None = None,
                 progress: Callable[[float, int, float], None] | None = None, workers: int = 1) -> Recreation:
    """Search for a project whose render sounds like ``y`` (shape (channels, n) or (n,), rate ``sr``).

    ``config.budget.seconds`` counts from ``started`` (a ``time.monotonic()`` value, default now)
    and covers the whole run, writing the result included: ``producer.planner.budget`` shares it
    out (a budget too small for the whole input analyses its start only). ``tempo``
    (BPM) replaces the estimated one; ``quantize`` (a note value such as ``"1/16"``) snaps the found
    project's notes to the beat grid afterwards (the reward reported is the search's). ``workers``
    > 1 scores each batch of candidates on this process and ``workers - 1`` Ray actors
    (``producer.planner.parallel``; Ray must be initialised).
    """
    import time

    from producer.planner.budget import Schedule
    from producer.planner.catalogue_cache import load_or_build
    from producer.planner.mcts import run_mcts
    from producer.planner.problem import build_problem
    from producer.planner.target import to_planner_rate

    schedule = Schedule(time.monotonic() if started is None else started, config.budget.seconds)
    actors = []
    if workers > 1:
        from producer.planner.parallel import start_workers

        actors = start_workers(workers - 1, library, model)  # they load while the target is analysed
    with single_thread():
        # Built once per library, model and code version, then read from the user's cache folder.
        catalogue, _ = load_or_build(library, renderer, model)
        problem = build_problem(to_planner_rate(y, sr), library, model, config, renderer=renderer,
                                catalogue=catalogue, schedule=schedule, tempo=tempo)
        if actors:
            from producer.planner.parallel import attach_workers, stop_workers

            problem.evaluator = attach_workers(problem.evaluator, actors)
        try:
            result = run_mcts(problem, seed=seed, seconds=schedule.search_seconds(problem.target.duration),
                              progress=progress)
        finally:
            if actors:
                stop_workers(actors)
    if quantize:
        result = replace(result, project=quantize_project(result.project, problem.target, quantize))
    # Bar 1 and any tempo map from the beats, so the exports' bar lines fall on the downbeats.
    result = replace(result, project=with_bar_grid(result.project, problem.target.beats, problem.target.downbeats,
                                                   fixed=tempo is not None))
    return Recreation(result=result, target=problem.target)


def quantize_project(project, target, grid: str):
    """Snap every clip's start to the nearest ``grid`` line between the target's beats; each note
    keeps its end where it can (its hold shrinks or grows by the shift, never under 1 ms), and a
    note that would now start at or after the next note on its track keeps its place."""
    from producer.rhythm import quantize

    beat_note = 0.375 if target.time_signature[1] == 8 else 0.25
    tracks = []
    for track in project.tracks:
        starts = np.array([c.start for c in track.clips])
        snapped = quantize(starts, target.beats, grid, beat_note=beat_note) if len(starts) else starts
        clips = []
        for i, (clip, start) in enumerate(zip(track.clips, snapped)):
            nxt = snapped[i + 1] if i + 1 < len(snapped) else np.inf
            if start >= nxt:
                start = clip.start
            hold = max(1e-3, clip.end - start)
            clips.append(replace(clip, start=round(float(start), 6), hold=round(float(hold), 6)))
        tracks.append(replace(track, clips=tuple(clips)))
    return replace(project, tracks=tuple(tracks))


class single_thread:
    """Run torch on one thread inside the block.

    The planner embeds a dozen 1 s segments at a time; for batches that small, torch's intra-op
    threads cost more in synchronisation than they save (measured 20x slower with 2 threads on a
    busy 2-core machine), and one thread leaves the other core to the rest of the process.
    """

    def __enter__(self):
        import torch
        from threadpoolctl import threadpool_limits

        self._n = torch.get_num_threads()
        torch.set_num_threads(1)
        # numpy's BLAS pool too: small products stall on a busy 2-core machine.
        self._limits = threadpool_limits(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self._n)
        self._limits.restore_original_limits()
        return False
