"""Baselines with the same action space, budget and reward as the MCTS planner.

- ``RandomSearch``: complete random episodes, each action drawn uniformly from the legal actions
  the planner would consider (ranked insert candidates, hold, rest, finish); every step is scored
  incrementally and the best state of all episodes is kept.
- ``Greedy``: the onset-by-onset matcher: at each decision, score every candidate action and keep
  the best (the first in ranking order on ties, hold second), one pass from left to right. Its
  share of the budget per decision is the budget left over the decisions left, so it widens to
  more candidates when the budget allows.

Neither searches effect chains (the planner's effect phase is an addition they lack).
"""
from __future__ import annotations

import numpy as np

from producer.planner.mcts import ordered_actions
from producer.planner.problem import Problem, Progress, SearchResult, Tracker, remaining_decisions
from producer.planner.actions import Finish


def _note_phase_over(problem: Problem, state) -> bool:
    return state.acting_slot() is None


class RandomSearch:
    name = "random"

    def __init__(self, problem: Problem, *, seed: int = 0):
        self.problem = problem
        self.rng = np.random.default_rng(seed)

    def run(self, *, evaluations: int, seconds: float, progress: Progress | None = None) -> SearchResult:
        problem = self.problem
        space, ev = problem.space, problem.evaluator
        tracker = Tracker(problem, evaluations=evaluations, seconds=seconds, progress=progress)
        empty = ev.empty()
        tracker.offer(space.initial(), empty)
        interrupted = False
        episode = 0
        try:
            while not tracker.exhausted():
                episode += 1
                state, evaluation = space.initial(), empty
                while not _note_phase_over(problem, state) and not tracker.exhausted():
                    acts = ordered_actions(problem, state, evaluation)
                    action = acts[int(self.rng.integers(len(acts)))]
                    state, region = space.apply(state, action)
                    evaluation = ev.evaluate_batch(evaluation, [(state.project, region)])[0]
                    tracker.offer(state, evaluation)
                tracker.log.append({"iteration": episode, "evaluations": tracker.evaluations,
                                    "action": f"episode {episode}", "reward": round(float(evaluation.reward), 6),
                                    "best": round(float(tracker.best_reward), 6)})
        except KeyboardInterrupt:
            interrupted = True
        return tracker.result(self.name, interrupted=interrupted)


class Greedy:
    name = "greedy"

    def __init__(self, problem: Problem, *, seed: int = 0):
        self.problem = problem

    def run(self, *, evaluations: int, seconds: float, progress: Progress | None = None) -> SearchResult:
        problem = self.problem
        space, ev = problem.space, problem.evaluator
        tracker = Tracker(problem, evaluations=evaluations, seconds=seconds, progress=progress)
        state, evaluation = space.initial(), ev.empty()
        tracker.offer(state, evaluation)
        wide = problem.config.search.candidates
        interrupted = False
        decision = 0
        try:
            while not _note_phase_over(problem, state):
                left = max(1, remaining_decisions(problem, state))
                quota = max(2, tracker.evals_left() // left)
                acts = ordered_actions(problem, state, evaluation)
                if quota > len(acts) - 1 and wide < 4 * problem.config.search.candidates:
                    # Spare budget: widen the candidate list for the following decisions.
                    wide = min(4 * problem.config.search.candidates, wide * 2)
                    problem = _with_candidates(problem, wide)
                    acts = ordered_actions(problem, state, evaluation)
                acts = [a for a in acts if not isinstance(a, Finish)][:quota]
                if tracker.exhausted():
                    acts = acts[:2]  # out of budget: best-ranked insert or hold, still scored
                applied = [space.apply(state, a) for a in acts]
                evals = ev.evaluate_batch(evaluation, [(s.project, r) for s, r in applied])
                best = int(np.argmax([e.value for e in evals]))
                state, evaluation = applied[best][0], evals[best]
                tracker.offer(state, evaluation)
                decision += 1
                tracker.log.append({"iteration": decision, "evaluations": tracker.evaluations,
                                    "action": acts[best].describe(), "reward": round(float(evaluation.reward), 6),
                                    "best": round(float(tracker.best_reward), 6)})
        except KeyboardInterrupt:
            interrupted = True
        return tracker.result(self.name, interrupted=interrupted)


def _with_candidates(problem: Problem, k: int) -> Problem:
    import dataclasses

    cfg = problem.config
    cfg = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, candidates=k))
    return dataclasses.replace(problem, config=cfg)


STRATEGIES = {"random": RandomSearch, "greedy": Greedy}


def run_strategy(name: str, problem: Problem, *, seed: int = 0, evaluations: int | None = None,
                 seconds: float | None = None, progress: Progress | None = None) -> SearchResult:
    """Run 'mcts', 'random' or 'greedy' on a problem with the preset's (or the given) budget."""
    from producer.planner.mcts import MCTS

    cls = {"mcts": MCTS, **STRATEGIES}[name]
    b = problem.config.budget
    return cls(problem, seed=seed).run(evaluations=b.evaluations if evaluations is None else evaluations,
                                       seconds=b.seconds if seconds is None else seconds, progress=progress)
