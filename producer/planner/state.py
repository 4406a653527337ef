"""How actions change a search state: ``ActionSpace`` knows the legal actions of a state and
applies them to it, for one target and library.

Note phase (one cursor per track slot, see ``producer.planner.actions``):

- ``Insert(slot, sample, pitch, gain_db, chord)``: place a note (and the chord's other notes) at
  the cursor, each held to the next onset (or less if its sample runs out); cursor to the next onset.
- ``Hold(slot)``: sustain the sounding note or chord to the next onset; cursor to the next onset.
- ``Rest(slot)``: leave silence after the sounding note; cursor to the next onset.
- ``Finish(slot)``: the track is done (no more notes).

Every note edit therefore changes the mix only between two onsets (plus the release), which keeps
incremental evaluation local whatever the target's length.

When every slot is finished the effect-chain phase begins: ``AddEffect(track, kind)`` (default
parameters) and ``SetParam(track, effect, name, value)`` on a per-parameter grid, until ``Stop``
or the effect budget is spent.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from producer.config import EffectsConfig
from producer.effects import EFFECTS
from producer.planner import features as F
from producer.planner.actions import (Action, AddEffect, Finish, Hold, Insert, Rest, SetParam, Slot, State,
                                      Stop)
from producer.planner.catalogue import Catalogue
from producer.planner.target import Target
from producer.project import Clip, Effect, Project, Track
from producer.render.engine import RELEASE_SECONDS, Renderer


def _track_name(project: Project, instrument: str) -> str:
    base = instrument.replace("_", " ").capitalize()
    names = {t.name for t in project.tracks}
    if base not in names:
        return base
    i = 2
    while f"{base} {i}" in names:
        i += 1
    return f"{base} {i}"


class ActionSpace:
    """Legal actions and their effect on a state, for one target and library."""

    def __init__(self, target: Target, catalogue: Catalogue, renderer: Renderer, *, n_slots: int,
                 effects: EffectsConfig, sample_rate: int = 44100, instruments: list[str] | None = None):
        self.target = target
        self.catalogue = catalogue
        self.renderer = renderer
        # instruments: one per track, chosen before the search; None leaves each track's
        # instrument to its first insert.
        self.instruments = list(instruments) if instruments else None
        self.n_slots = len(self.instruments) if self.instruments else n_slots
        self.effects = effects
        self.sample_rate = sample_rate
        self.onsets = target.onsets
        self._seconds = {(n.sample, n.pitch): n.seconds for n in catalogue.notes}

    def initial(self) -> State:
        project = Project(sample_rate=self.sample_rate, tempo=round(float(self.target.tempo), 2),
                          time_signature=tuple(self.target.time_signature))
        done = len(self.onsets) == 0
        insts = self.instruments or [None] * self.n_slots
        return State(project=project, slots=tuple(Slot(finished=done, instrument=i) for i in insts))

    def is_terminal(self, state: State) -> bool:
        if state.acting_slot() is not None:
            return False
        return (state.stopped or not self.effects.enabled or self.effects.max_per_track == 0
                or not state.project.tracks)

    def slot_instrument(self, state: State, slot: int) -> str | None:
        track = state.slots[slot].track
        return state.slots[slot].instrument if track is None else state.project.tracks[track].instrument

    # --- effect phase ---------------------------------------------------------------------------
    def effect_actions(self, state: State) -> list[Action]:
        acts: list[Action] = [Stop()]
        cfg = self.effects
        for ti, track in enumerate(state.project.tracks):
            have = {e.kind for e in track.effects}
            if len(track.effects) < cfg.max_per_track:
                acts += [AddEffect(ti, k) for k in cfg.kinds if k not in have]
            for ei, eff in enumerate(track.effects):
                for p in EFFECTS[eff.kind].params:
                    for v in param_grid(p, cfg.grid_steps):
                        if not math.isclose(v, eff.value(p.name), rel_tol=1e-6):
                            acts.append(SetParam(ti, ei, p.name, v))
        return acts

    # --- transitions ---------------------------------------------------------------------------
    def apply(self, state: State, action: Action) -> tuple[State, tuple[int, int] | None]:
        """-> (next state, changed sample range [a, b) at 22,050 Hz or None if the mix is unchanged)."""
        return self._APPLY[type(action)](self, state, action)

    def _stop(self, state: State, action: Stop):
        return replace(state, stopped=True), None

    def _edit_effects(self, state: State, action: AddEffect | SetParam):
        sr = F.SR
        track = state.project.tracks[action.track]
        if isinstance(action, AddEffect):
            new = replace(track, effects=track.effects + (Effect.make(action.kind),))
        else:
            effs = list(track.effects)
            effs[action.effect] = effs[action.effect].with_param(action.name, action.value)
            new = replace(track, effects=tuple(effs))
        project = state.project.replace_track(action.track, new)
        a = int(min(c.start for c in track.clips) * sr) if track.clips else 0
        b = max(self.renderer.track_length(track, sr), self.renderer.track_length(new, sr))
        return replace(state, project=project, effect_actions=state.effect_actions + 1), (a, b)

    def _span(self, slot: Slot) -> tuple[int, bool, float, float]:
        """(next cursor, whether it is past the last onset, the cursor's time, the next onset's time)."""
        nxt = slot.cursor + 1
        finished_next = nxt >= len(self.onsets)
        until = float(self.onsets[nxt]) if not finished_next else self.target.duration
        return nxt, finished_next, float(self.onsets[slot.cursor]), until

    def _rest(self, state: State, action: Rest):
        # The sounding note already stops at the cursor: leave the silence that follows.
        slot = state.slots[action.slot]
        nxt, finished_next, _, _ = self._span(slot)
        return self._set_slot(state, action.slot, replace(slot, cursor=nxt, finished=finished_next,
                                                          sounding=False)), None

    def _finish(self, state: State, action: Finish):
        # No more notes on this track. The project is unchanged: letting the last note ring
        # on would fill the rest of the target at once, which the reward pays for at once,
        # and the search would end tracks early to collect it (measured: 15 of 140 decisions).
        slot = state.slots[action.slot]
        return self._set_slot(state, action.slot, replace(slot, finished=True, sounding=False)), None

    def _hold(self, state: State, action: Hold):
        # Hold sustains the sounding note (every note of the chord struck with it) to the next
        # onset, each as long as its sample lasts.
        slot = state.slots[action.slot]
        nxt, finished_next, _, until = self._span(slot)
        new_slot = replace(slot, cursor=nxt, finished=finished_next)
        if not slot.sounding or slot.track is None:
            return self._set_slot(state, action.slot, new_slot), None
        project = state.project
        track = project.tracks[slot.track]
        struck = track.clips[-1].start
        first = len(track.clips)
        while first > 0 and abs(track.clips[first - 1].start - struck) < 1e-9:
            first -= 1
        clips, lo, hi, ringing = list(track.clips), math.inf, -math.inf, False
        for i in range(first, len(clips)):
            clip = clips[i]
            natural = self._seconds.get((clip.sample, clip.pitch), math.inf)
            end = min(clip.start + natural, until)
            if end <= clip.end + 1e-6:
                continue
            lo, hi = min(lo, clip.end), max(hi, end)
            clips[i] = replace(clip, hold=round(end - clip.start, 6))
            ringing = ringing or end >= until - 1e-6
        if hi < lo:
            return self._set_slot(state, action.slot, replace(new_slot, sounding=False)), None
        project = project.replace_track(slot.track, replace(track, clips=tuple(clips)))
        new_slot = replace(new_slot, sounding=ringing)  # False: every sample ran out before the onset
        region = self._region(project, slot.track, lo, hi)
        return self._set_slot(replace(state, project=project), action.slot, new_slot), region

    def _insert(self, state: State, action: Insert):
        slot = state.slots[action.slot]
        nxt, finished_next, here, until = self._span(slot)
        project = state.project
        clips = []
        for sample, pitch, gain_db in action.notes():
            natural = self._seconds.get((sample, pitch), math.inf)
            hold = round(max(1e-3, min(natural, until - here)), 6)
            clips.append(Clip(sample=sample, start=here, hold=hold, pitch=pitch, gain_db=gain_db))
        track_index = slot.track
        if track_index is None:
            inst = self.catalogue.notes[self.catalogue.index[(action.sample, action.pitch)]].instrument
            project = project.add_track(Track(name=_track_name(project, inst), instrument=inst, clips=tuple(clips)))
            track_index = len(project.tracks) - 1
        else:
            track = project.tracks[track_index]
            project = project.replace_track(track_index, replace(track, clips=track.clips + tuple(clips)))
        longest = max(c.hold for c in clips)
        new_slot = Slot(track=track_index, cursor=nxt, finished=finished_next,
                        sounding=longest >= until - here - 1e-6, instrument=slot.instrument)
        region = self._region(project, track_index, here, here + longest)
        return self._set_slot(replace(state, project=project), action.slot, new_slot), region

    _APPLY = {Stop: _stop, AddEffect: _edit_effects, SetParam: _edit_effects, Rest: _rest, Finish: _finish,
              Hold: _hold, Insert: _insert}

    def _region(self, project: Project, track_index: int, start: float, end: float) -> tuple[int, int]:
        """Samples [a, b) whose mix changes when a note on the track changes within [start, end] s
        (release included; with an effect chain, everything to the end of the stem)."""
        sr = F.SR
        b = end + RELEASE_SECONDS
        track = project.tracks[track_index]
        if track.effects:
            b = max(b, self.renderer.track_length(track, sr) / sr)
        return int(math.floor(start * sr)), int(math.ceil(b * sr)) + 1

    @staticmethod
    def _set_slot(state: State, i: int, slot: Slot) -> State:
        slots = list(state.slots)
        slots[i] = slot
        return replace(state, slots=tuple(slots))


def param_grid(p, steps: int) -> list[float]:
    """``steps`` values spanning a parameter's range: geometric for Hz and ms, linear otherwise."""
    if p.unit in ("Hz", "ms") and p.low > 0:
        high = p.high
        if p.unit == "Hz":
            # The search renders at 22,050 Hz: keep filter frequencies well under its Nyquist
            # frequency, where the filters are stable and sound as they will at 44.1 kHz.
            high = min(high, 0.4 * F.SR)
        vals = np.geomspace(p.low, high, steps)
    else:
        vals = np.linspace(p.low, p.high, steps)
    return [float(round(v, 4)) for v in vals]

