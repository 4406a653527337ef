"""The planner's use: a target's audio in, the best project found out. It writes nothing.

``plan_project`` analyses the target, builds the search problem (library catalogue, note prior)
and runs the Monte Carlo tree search; Ctrl-C during the search stops it and the best project so
far is returned. ``producer.api.recreate`` checks the user's input first and writes the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from producer.config import PlannerConfig


# Shares of a run's wall-clock budget: at most this much for the analysis (the note prior stops
# at it), and this much kept back after the search for rendering and writing the project folder.
ANALYSIS_SHARE = 0.5
WRITE_SHARE = 0.1


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
                 started: float | None = None,
                 progress: Callable[[float, int, float], None] | None = None) -> Recreation:
    """Search for a project whose render sounds like ``y`` (shape (channels, n) or (n,), rate ``sr``).

    ``config.budget.seconds`` counts from ``started`` (a ``time.monotonic()`` value, default now):
    what the analysis took comes off the search, so the budget covers the whole run.
    """
    import time

    from producer.planner.mcts import run_mcts
    from producer.planner.problem import build_problem
    from producer.planner.target import to_planner_rate

    started = time.monotonic() if started is None else started
    budget = config.budget.seconds
    with single_thread():
        # The analysis may take half the budget; the search ends with a tenth left for writing.
        problem = build_problem(to_planner_rate(y, sr), library, model, config, renderer=renderer,
                                deadline=started + ANALYSIS_SHARE * budget)
        left = (1.0 - WRITE_SHARE) * budget - (time.monotonic() - started)
        result = run_mcts(problem, seed=seed, seconds=max(0.0, left), progress=progress)
    return Recreation(result=result, target=problem.target)


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
