"""What every search strategy shares: the problem (target, library, reward, actions), the budget,
the record of the best project found, and the result.

MCTS (``mcts.py``) and the baselines (``baselines.py``) all run on a ``Problem`` with a ``Tracker``,
so they spend the same budget on the same reward and report the same way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from producer.config import PlannerConfig
from producer.planner.evaluate import Evaluation, Evaluator
from producer.planner.prior import NotePrior, build_prior
from producer.planner.reward import RewardModel
from producer.planner.actions import State
from producer.planner.catalogue import Catalogue
from producer.planner.state import ActionSpace
from producer.planner.features import SR
from producer.planner.target import Target, analyze, onset_times
from producer.project import Project
from producer.render.engine import Renderer

# Onset candidates' peak-picking threshold (see ``onset_times``); the prior filters them.
CANDIDATE_DELTA = 0.01


@dataclass
class Problem:
    target: Target
    config: PlannerConfig
    renderer: Renderer
    model: object
    catalogue: Catalogue
    space: ActionSpace
    evaluator: Evaluator
    prior: NotePrior | None = None


def build_problem(y: np.ndarray, library, model, config: PlannerConfig, *, renderer: Renderer | None = None,
                  onsets: np.ndarray | None = None, target: Target | None = None,
                  catalogue: Catalogue | None = None, schedule=None, tempo: float | None = None) -> Problem:
    """Analyse mono 22,050 Hz audio ``y`` [shape=(n,)] and set up the search over ``library``.

    ``target`` and ``catalogue`` may be passed in to share them between strategies (the bench).
    ``schedule`` (a ``producer.planner.budget.Schedule``) bounds the analysis: only as much of the
    start of ``y`` is analysed as its estimate fits (all of it when the budget allows: then
    nothing differs from a run without one), and the note prior stops at the analysis deadline.
    ``tempo`` (BPM, a user's ``--tempo``) replaces the estimated tempo; the beats follow it.
    """
    renderer = renderer or Renderer(library)
    detected = target is None and onsets is None
    # The catalogue first: its cost is known before the schedule chooses how much to analyse.
    catalogue = catalogue or Catalogue.build(library, renderer, model)
    deadline = None
    whole = len(y) / SR
    if schedule is not None and target is None:
        y, deadline = _detection_span(y, schedule, config.analysis.window_seconds)
    transcription = None
    if config.search.note_model:
        # The note model's notes are the insert candidates, its onsets the onset grid
        # (producer.planner.note_prior).
        from producer.planner.note_prior import model_onsets, transcribe_target

        transcription = transcribe_target(y)
        if detected and transcription.notes + transcription.drums:
            onsets = model_onsets(transcription)
    if target is None:
        if detected and onsets is None:
            # A generous threshold (recall 0.97 of true onsets on the benchmark targets, 3 candidates
            # per true onset); the note prior then keeps the candidates where it hears a note start.
            # (Its tempo is not used: producer.rhythm estimates tempo, beats and meter in analyze.)
            onsets = onset_times(y, delta=CANDIDATE_DELTA)
        if deadline is not None:
            span = schedule.analysis_span(len(y) / SR, onsets, deadline, shortest=config.analysis.window_seconds)
            y, onsets = y[:_samples(span, len(y))], onsets[onsets < span]
        target = analyze(y, model, window_seconds=config.analysis.window_seconds,
                         hop_seconds=config.analysis.hop_seconds, onsets=onsets, tempo=tempo)
        if len(y) / SR < whole:
            target = replace(target, input_duration=whole)
    if transcription is not None:
        from producer.planner.note_prior import build_model_prior

        prior = build_model_prior(target, catalogue, transcription, deadline=deadline)
    else:
        prior = build_prior(target, catalogue, deadline=deadline)
    if detected:
        keep = prior.onsets_with_notes()
        if keep.any():
            target, prior = target.keep_onsets(keep), prior.keep_onsets(keep)
    instruments = prior.choose_instruments(config.search.tracks, chord=config.search.chord) or None
    if instruments is None:
        prior = None  # it hears no note: tracks take the instrument of their first insert
    space = ActionSpace(target, catalogue, renderer, n_slots=config.search.tracks, effects=config.effects,
                        instruments=instruments)
    evaluator = Evaluator(target, renderer, model,
                          RewardModel(target, config.reward, timbre_floor=catalogue.timbre_floor()))
    return Problem(target, config, renderer, model, catalogue, space, evaluator, prior)


def _detection_span(y: np.ndarray, schedule, shortest: float) -> tuple[np.ndarray, float]:
    """(the start of ``y`` worth detecting onsets on, the analysis deadline), once librosa's kernels
    are loaded (``producer.planner.budget``)."""
    from producer.planner.target import warm_up

    warm_up()
    span = schedule.detect_span(len(y) / SR, shortest=shortest)
    return y[:_samples(span, len(y))], time.monotonic() + schedule.analysis_room(span)


def _samples(span: float, n: int) -> int:
    """Samples of the first ``span`` s at the planner's rate; all ``n`` when the span is the whole."""
    return n if span * SR >= n else int(round(span * SR))


@dataclass
class SearchResult:
    """The best project a search found and how it got there.

    history : [(seconds, evaluations, best reward)] at every improvement.
    log : one dict per committed decision: {"iteration", "action", "reward", "best", "evaluations"}.
    """

    strategy: str
    project: Project
    evaluation: Evaluation
    reward: float
    evaluations: int
    seconds: float
    history: list[tuple[float, int, float]]
    log: list[dict]
    interrupted: bool = False
    stats: dict = field(default_factory=dict)

    @property
    def window_rewards(self) -> list[float]:
        return [float(v) for v in self.evaluation.window_sims]


Progress = Callable[[float, int, float], None]


EFFECT_MARGIN = 1e-3


def _n_effects(project: Project) -> int:
    return sum(len(t.effects) for t in project.tracks)


class Tracker:
    """Budget (evaluations and wall-clock seconds) and the best state seen, for one search run."""

    def __init__(self, problem: Problem, *, evaluations: int, seconds: float, progress: Progress | None = None):
        self.problem = problem
        self.max_evaluations = int(evaluations)
        self.max_seconds = float(seconds)
        self.progress = progress
        self.start = time.perf_counter()
        self.start_evals = problem.evaluator.evaluations
        self.best_state: State | None = None
        self.best_eval: Evaluation | None = None
        self.best_reward = -1.0
        self.history: list[tuple[float, int, float]] = []
        self.log: list[dict] = []
        self._last_progress = 0.0

    @property
    def evaluations(self) -> int:
        return self.problem.evaluator.evaluations - self.start_evals

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def evals_left(self) -> int:
        return self.max_evaluations - self.evaluations

    def seconds_left(self) -> float:
        return self.max_seconds - self.elapsed

    def exhausted(self) -> bool:
        return self.evals_left() <= 0 or self.seconds_left() <= 0

    def offer(self, state: State, evaluation: Evaluation) -> None:
        # Strictly better only: ties keep the earlier (simpler) project, deterministically. A
        # project with more effects than the best must beat it by EFFECT_MARGIN: an effect that
        # moves the reward in the fourth decimal is not worth a plugin on the user's track (and
        # such changes were seen to cost onset accuracy on the benchmark).
        margin = 1e-12
        if self.best_state is not None and _n_effects(state.project) > _n_effects(self.best_state.project):
            margin = EFFECT_MARGIN
        if evaluation.reward > self.best_reward + margin:
            self.best_reward = evaluation.reward
            self.best_state = state
            self.best_eval = evaluation
            self.history.append((round(self.elapsed, 3), self.evaluations, float(evaluation.reward)))
        self.tick()

    def tick(self, force: bool = False) -> None:
        if self.progress is None:
            return
        now = self.elapsed
        if force or now - self._last_progress >= 0.25:
            self._last_progress = now
            self.progress(now, self.evaluations, max(self.best_reward, 0.0))

    def result(self, strategy: str, *, interrupted: bool = False) -> SearchResult:
        self.tick(force=True)
        ev = self.problem.evaluator
        if self.best_state is None:
            state = self.problem.space.initial()
            evaluation = ev.empty()
        else:
            state, evaluation = self.best_state, self.best_eval
        return SearchResult(strategy=strategy, project=state.project, evaluation=evaluation,
                            reward=float(evaluation.reward), evaluations=self.evaluations,
                            seconds=self.elapsed, history=list(self.history), log=list(self.log),
                            interrupted=interrupted,
                            stats={"timing": dict(ev.seconds), "renderer": dict(self.problem.renderer.stats)})


def remaining_decisions(problem: Problem, state: State) -> int:
    """Upper estimate of the decisions left in the note phase: onsets left on unfinished slots."""
    n = len(problem.target.onsets)
    return sum(max(0, n - s.cursor) for s in state.slots if not s.finished)
