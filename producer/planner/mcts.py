"""Monte Carlo tree search over projects under construction.

The budget is spent in three phases; the result is the best project (by reward) seen anywhere.
Before them, the note prior (``producer.planner.prior``) has chosen each track's instrument;
a track is offered only the notes the prior hears start at its cursor (best first), may strike
its sounding note again only when the prior hears it as loud as a new note, and may finish only
once the prior hears no more of its instrument. Without a prior (it heard nothing), a track's
instrument is that of its first insert and every ranked note is offered.

1. First pass (``search.first_pass`` of the note budget): all tracks are written together, left
   to right (``search.sequential``: one track at a time, each against the ones before).
2. Re-planning rounds (``search.rounds``): each track in turn is taken out of the best project and
   planned again from the start with every other track present, so its notes are chosen in full
   context (with the others in place, the reward ranks a missing true note first among all
   library notes; from an empty project it often does not). The budget left is shared evenly.
3. Effect chains (``effects.evaluations``): a tree search over add-effect / change-parameter actions
   on the best project's tracks.

Within a pass the search plays move by move (receding horizon): at each decision it grows a
tree below the current state for a share of the pass's budget (the budget left over the
decisions left, i.e. onsets left on unfinished slots), commits the root action whose subtree holds
the best value, and keeps that subtree for the next decision.

One iteration:

1. Selection: from the root, while the node may not widen, go to the child maximising UCT::

       Q(child) + c * sqrt(ln N(node) / N(child))

   where Q is the best value found in the child's subtree, min-max normalised among its
   siblings (values differ in the third decimal; normalising keeps c meaningful), and c is
   ``search.exploration``.
2. Progressive widening: a node visited n times may hold ``ceil(widening_c * n ** widening_alpha)``
   children; children are added in the order of the candidate ranking (``Catalogue.rank``, with hold
   second and rest and finish later), so the best-looking inserts are tried first and the tree
   stays narrow where visits are few. The root widens freely while the decision's share lasts,
   so every decision sees at least what a greedy matcher would; so does a node whose whole list
   fits in one batch.
3. Expansion and evaluation: ``search.batch`` untried actions are applied and their children
   scored in one batch (incremental evaluation).
   While notes are planned, a state whose tracks are all finished is a leaf.
4. Backup: the best new value is propagated up; every ancestor keeps the maximum (a max-backup:
   what matters in a single-player search is the best project reachable, not the average).

The value is ``RewardModel.search_value``: the reward without the length penalty of a project
that is only short because it is unfinished. There are no random rollouts: the value is defined
on any partial project, so a child's own value is its estimate; deeper look-ahead comes from the
tree itself. Randomness only breaks exact ties (seeded), so the same seed and evaluation budget
give the same project.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from producer.constants import CLIP_GAIN_MAX_DB, CLIP_GAIN_MIN_DB
from producer.planner import features as F
from producer.planner.evaluate import Evaluation
from producer.planner.problem import Problem, Progress, SearchResult, Tracker, remaining_decisions
from producer.planner.actions import Action, Finish, Hold, Insert, Rest, Slot, State, Stop


class Node:
    __slots__ = ("state", "evaluation", "action", "children", "untried", "visits", "value")

    def __init__(self, state: State, evaluation: Evaluation, action: Action | None):
        self.state = state
        self.evaluation = evaluation
        self.action = action
        self.children: list[Node] = []
        self.untried: list[Action] | None = None  # filled on first expansion, best first
        self.visits = 0
        self.value = evaluation.value

    @property
    def reward(self) -> float:
        """The node's own search value (see ``RewardModel.search_value``)."""
        return self.evaluation.value


def ordered_actions(problem: Problem, state: State, evaluation: Evaluation) -> list[Action]:
    """Legal actions of a state, best-looking first (the order progressive widening follows)."""
    space = problem.space
    slot_i = state.acting_slot()
    if slot_i is None:
        if space.is_terminal(state):
            return []
        # Each track may take its effects and a few parameter changes; deeper chains are not searched.
        if state.effect_actions >= 3 * problem.config.effects.max_per_track * max(1, len(state.project.tracks)):
            return [Stop()]
        return space.effect_actions(state)
    slot = state.slots[slot_i]
    cfg = problem.config.search
    # With a prior, only notes it hears start here are inserted (the tree stays small, and a track
    # acting before the others at an onset cannot take the energy that is theirs).
    instrument = space.slot_instrument(state, slot_i)
    if problem.prior is not None:
        ranked = problem.catalogue.rank(problem.target, evaluation, slot.cursor, instrument=instrument,
                                        k=cfg.candidates, prior=problem.prior)
    else:
        ranked = problem.catalogue.rank(problem.target, evaluation, slot.cursor, instrument=instrument,
                                        k=cfg.candidates, timbre_weight=cfg.rank_timbre,
                                        chroma_weight=cfg.rank_chroma, spectrum_weight=cfg.rank_spectrum,
                                        output_mel=output_mel(problem, state, slot.cursor))
    if problem.prior is not None:
        if slot.sounding and slot.track is not None:
            # The note that is sounding, struck again: only when the prior hears it as loud as a
            # new note (within 6 dB). A weaker match is the held note's own movement (vibrato,
            # a sustain loop), not a second note.
            last = state.project.tracks[slot.track].clips[-1]
            notes = problem.catalogue.notes
            ranked = [r for r in ranked if not ((notes[r[0]].sample, notes[r[0]].pitch) == (last.sample, last.pitch)
                                                and r[1] < last.gain_db - 6.0)]
    inserts: list[Action] = []
    for note_i, gain, _ in ranked:
        note = problem.catalogue.notes[note_i]
        for off in cfg.gain_offsets_db:
            g = float(np.clip(gain + off, CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB))
            inserts.append(Insert(slot_i, note.sample, note.pitch, g))
    inserts = list(dict.fromkeys(inserts))
    chords = chord_inserts(problem, slot_i, ranked) if problem.prior is not None else []
    acts: list[Action] = chords[:1] + inserts[:1] + [Hold(slot_i)] + chords[1:] + inserts[1:3]
    if slot.sounding:
        acts.append(Rest(slot_i))
    acts += inserts[3:]
    if problem.prior is None or instrument is None or not problem.prior.backed_after(slot.cursor, instrument):
        # With a prior, a track finishes only once the prior hears no more of its notes: an early
        # finish shortens the tree below it, which a max-backup search mistakes for a better branch.
        acts.append(Finish(slot_i))
    return acts


def chord_inserts(problem: Problem, slot_i: int, ranked: list[tuple[int, float, bool]]) -> list[Insert]:
    """Chords of the notes the prior hears start here (``ranked``, best first): every heard pitch
    (up to ``search.chord`` notes), then the best few of them, largest first. One note per pitch
    (for drums, per kit voice), each at the prior's gain. Empty for monophonic tracks or when the
    prior hears one pitch."""
    size = problem.config.search.chord
    if size < 2:
        return []
    notes, picked, pitches = problem.catalogue.notes, [], set()
    for note_i, gain, _ in ranked:
        note = notes[note_i]
        if note.pitch not in pitches:
            pitches.add(note.pitch)
            picked.append((note.sample, note.pitch, float(np.clip(gain, CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB))))
        if len(picked) == size:
            break
    return [Insert(slot_i, *picked[0], chord=tuple(picked[1:m])) for m in range(len(picked), 1, -1)]


def output_mel(problem: Problem, state: State, onset_index: int) -> np.ndarray | None:
    """Mel power [shape=(13, 64)] of the recreation's frames from an onset (for the ranking)."""
    if not state.project.tracks:
        return None
    from producer.planner import features as F

    f0 = int(round(problem.target.onsets[onset_index] * F.SR / F.HOP))
    f1 = f0 + problem.catalogue.ATTACK_FRAMES
    a, b = F.frame_support(f0, f1)
    mix = problem.evaluator.mix_region(state.project, a, b)
    return F.frame_features(mix, a, f0, f1)[2]


class MCTS:
    """See the module docstring. ``run`` returns the best project found."""

    name = "mcts"

    def __init__(self, problem: Problem, *, seed: int = 0):
        self.problem = problem
        self.cfg = problem.config.search
        self.rng = np.random.default_rng(seed)

    # --- tree operations ----------------------------------------------------------------------
    def _width(self, node: Node, is_root: bool) -> float:
        if is_root:
            return math.inf
        if node.untried is not None and len(node.children) + len(node.untried) <= self.cfg.batch:
            # A short list (the note prior keeps most to a few inserts, hold and rest) is scored in
            # one batch: widening exists to keep long candidate lists narrow, and one batch of k
            # costs far less than k batches of one.
            return math.inf
        return math.ceil(self.cfg.widening_c * (node.visits + 1) ** self.cfg.widening_alpha)

    def _expand(self, node: Node, tracker: Tracker, limit: int) -> list[Node]:
        # (``_iterate`` has filled node.untried.)
        take = node.untried[:max(1, limit)]
        node.untried = node.untried[len(take):]
        space, ev = self.problem.space, self.problem.evaluator
        applied = [space.apply(node.state, a) for a in take]
        evals = ev.evaluate_batch(node.evaluation, [(s.project, region) for s, region in applied])
        new = []
        for action, (state, _), evaluation in zip(take, applied, evals):
            child = Node(state, evaluation, action)
            node.children.append(child)
            tracker.offer(state, evaluation)
            new.append(child)
        return new

    def _select(self, node: Node) -> Node:
        kids = node.children
        values = np.array([k.value for k in kids])
        lo, hi = values.min(), values.max()
        q = (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)
        visits = np.array([k.visits for k in kids], dtype=np.float64)
        u = q + self.cfg.exploration * np.sqrt(math.log(node.visits + 1) / (visits + 1))
        best = np.flatnonzero(u >= u.max() - 1e-12)
        return kids[int(best[0] if len(best) == 1 else self.rng.choice(best))]

    def _iterate(self, root: Node, tracker: Tracker, quota_left: int, *, notes_only: bool) -> int:
        """One selection-widening-backup pass; returns the number of children added. With
        ``notes_only`` (the note phase), a state whose tracks are all finished is a leaf."""
        path = [root]
        node = root
        new: list[Node] = []
        space = self.problem.space
        while True:
            if space.is_terminal(node.state) or (notes_only and node.state.acting_slot() is None):
                # (While notes are planned, a state whose tracks are all finished is a leaf: its
                # effect chains are searched once, on the best project, in the effect phase.)
                leaf_value = node.reward
                break
            if node.untried is None:
                node.untried = ordered_actions(self.problem, node.state, node.evaluation)
            can_widen = bool(node.untried) and len(node.children) < self._width(node, node is root)
            if can_widen or not node.children:
                if not node.untried and not node.children:
                    leaf_value = node.reward
                    break
                room = self._width(node, node is root) - len(node.children)
                # Never past the run's evaluation cap: --evaluations is a hard limit.
                limit = int(min(self.cfg.batch, room if math.isfinite(room) else self.cfg.batch,
                                max(1, quota_left), tracker.evals_left()))
                if limit <= 0:
                    leaf_value = node.reward
                    break
                new = self._expand(node, tracker, limit)
                for child in new:
                    child.visits = 1
                leaf_value = max((c.reward for c in new), default=node.reward)
                break
            node = self._select(node)
            path.append(node)
        for n in path:
            n.visits += 1
            n.value = max(n.value, leaf_value)
        return len(new)

    # --- the decision loop --------------------------------------------------------------------
    def _search(self, root: Node, tracker: Tracker, quota: int, seconds: float, *, notes_only: bool) -> None:
        """Iterate below ``root`` until ``quota`` evaluations or ``seconds`` are spent (at least
        one expansion), or nothing is left to expand."""
        start_evals, start_time = tracker.evaluations, tracker.elapsed
        idle = iters = 0
        while True:
            used = tracker.evaluations - start_evals
            if tracker.exhausted():
                return
            if root.children and (used >= quota or tracker.elapsed - start_time >= seconds):
                return
            if iters > 4 * quota + 100 or idle > 10:
                return
            n_new = self._iterate(root, tracker, max(1, quota - used), notes_only=notes_only)
            iters += 1
            idle = idle + 1 if n_new == 0 else 0

    def run(self, *, evaluations: int, seconds: float, progress: Progress | None = None) -> SearchResult:
        """Plan all tracks together, then re-plan one track at a time against the others, then
        search effect chains; the best project seen anywhere is the result."""
        problem = self.problem
        tracker = Tracker(problem, evaluations=evaluations, seconds=seconds, progress=progress)
        ev = problem.evaluator
        state = problem.space.initial()
        empty = ev.empty()
        tracker.offer(state, empty)
        fx = problem.config.effects
        effects_budget = fx.evaluations if (fx.enabled and fx.max_per_track > 0) else 0
        rounds = self.cfg.rounds
        notes_budget = max(0, tracker.evals_left() - effects_budget)
        first = notes_budget if rounds == 0 else int(notes_budget * self.cfg.first_pass)
        interrupted = False
        self._decision = 0
        try:
            if self.cfg.sequential:
                # Track by track: each new track is planned against the tracks already built.
                n = len(state.slots)
                for k in range(n):
                    share = first // n
                    context = tracker.best_state.project if tracker.best_state is not None else state.project
                    start = ev.full(context) if context.tracks else empty
                    slot = Slot(instrument=state.slots[k].instrument)
                    self._plan(Node(State(project=context, slots=(slot,)), start, None), tracker,
                               evaluations=share, label=f"pass 1 track {k}")
            else:
                self._plan(Node(state, empty, None), tracker, evaluations=first, label="pass 1")
            for r in range(rounds):
                n_tracks = len(self._replan_slots(tracker))
                for k in range(n_tracks):
                    if tracker.exhausted():
                        break
                    jobs_left = (rounds - r) * n_tracks - k
                    share = max(0, tracker.evals_left() - effects_budget) // max(1, jobs_left)
                    self._replan_track(k, tracker, share, label=f"round {r + 1} track {k}")
            if (effects_budget and not tracker.exhausted() and tracker.best_state is not None
                    and tracker.best_state.project.tracks):
                best = tracker.best_state
                done = State(project=best.project, slots=tuple(Slot(finished=True) for _ in best.project.tracks))
                root = Node(done, tracker.best_eval, None)
                self._search(root, tracker, max(1, min(effects_budget, tracker.evals_left())),
                             max(0.0, tracker.seconds_left()), notes_only=False)
        except KeyboardInterrupt:
            interrupted = True
        return tracker.result(self.name, interrupted=interrupted)

    def _replan_slots(self, tracker: Tracker) -> list[tuple[int | None, str | None]]:
        """What a re-planning round rebuilds: [(track index in the best project or None, instrument)].

        With instruments chosen by the prior, one entry per chosen track, so an instrument whose
        track the first pass left empty gets planned again too; otherwise every track of the best
        project."""
        best = tracker.best_state.project if tracker.best_state else None
        tracks = best.tracks if best is not None else ()
        chosen = self.problem.space.instruments
        if not chosen:
            return [(k, None) for k in range(len(tracks))]
        out, used = [], set()
        for inst in chosen:
            k = next((i for i, t in enumerate(tracks) if t.instrument == inst and i not in used), None)
            if k is not None:
                used.add(k)
            out.append((k, inst))
        return out

    def _replan_track(self, j: int, tracker: Tracker, evaluations: int, *, label: str) -> None:
        """Take the ``j``-th re-planned track (see ``_replan_slots``) out of the best project and
        plan a new track in its place, the other tracks all present (each decision is then made
        in full context)."""
        best = tracker.best_state.project
        k, instrument = self._replan_slots(tracker)[j]
        context = best if k is None else replace(best, tracks=best.tracks[:k] + best.tracks[k + 1:])
        ev = self.problem.evaluator
        region = (0, self.problem.target.n_segments * F.SR)
        start_eval = ev.evaluate_batch(tracker.best_eval, [(context, region)])[0]
        state = State(project=context, slots=(Slot(instrument=instrument),))
        self._plan(Node(state, start_eval, None), tracker, evaluations=evaluations, label=label)

    def _plan(self, root: Node, tracker: Tracker, *, evaluations: int, label: str) -> None:
        """The move-by-move note phase from ``root`` within ``evaluations``.

        Shares are counted in evaluations only, never in seconds, so that the same seed gives the
        same project on a busy or an idle machine; only the run's wall-clock cap (``Tracker``)
        cuts by time."""
        problem = self.problem
        start_evals = tracker.evaluations
        while root.state.acting_slot() is not None:
            evals_left = evaluations - (tracker.evaluations - start_evals)
            if evals_left <= 0 or tracker.exhausted():
                self._complete_greedily(root, tracker)
                return
            left = max(1, remaining_decisions(problem, root.state))
            self._search(root, tracker, max(self.cfg.batch, evals_left // left), math.inf, notes_only=True)
            if not root.children:
                return
            best = max(root.children, key=lambda c: (c.value, c.reward))
            self._decision += 1
            tracker.log.append({"iteration": self._decision, "phase": label, "evaluations": tracker.evaluations,
                                "action": best.action.describe(),
                                "reward": round(float(best.evaluation.reward), 6),
                                "best": round(float(tracker.best_reward), 6)})
            root = best

    def _complete_greedily(self, root: Node, tracker: Tracker) -> Node:
        """Share spent mid-piece: finish every slot with the ranking's first insert or hold
        (one evaluation each), so the output covers the whole target. The run's own budget is
        never exceeded: once it is spent the best project seen so far stands."""
        problem = self.problem
        node = root
        while not problem.space.is_terminal(node.state) and not tracker.exhausted():
            acts = ordered_actions(problem, node.state, node.evaluation)
            if not acts:
                break
            if node.state.acting_slot() is None:
                acts = [a for a in acts if isinstance(a, Stop)] or acts[:1]
            state, region = problem.space.apply(node.state, acts[0])
            evaluation = problem.evaluator.evaluate_batch(node.evaluation, [(state.project, region)])[0]
            if region is not None and evaluation.value < node.reward and node.state.acting_slot() is not None:
                state, _ = problem.space.apply(node.state, Hold(node.state.acting_slot()))
                evaluation = node.evaluation
            tracker.offer(state, evaluation)
            node = Node(state, evaluation, acts[0])
        return node


def run_mcts(problem: Problem, *, seed: int = 0, evaluations: int | None = None, seconds: float | None = None,
             progress: Progress | None = None) -> SearchResult:
    b = problem.config.budget
    return MCTS(problem, seed=seed).run(evaluations=evaluations if evaluations is not None else b.evaluations,
                                        seconds=seconds if seconds is not None else b.seconds, progress=progress)


__all__ = ["MCTS", "Node", "chord_inserts", "ordered_actions", "run_mcts", "Finish", "Insert", "Rest"]
