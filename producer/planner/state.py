"""Search states and actions: a project under construction, one cursor per track slot.

A state holds the ``Project`` built so far and one ``Slot`` per track to be written. A slot's
cursor is an index into the target's onset grid; a slot becomes a project track with its first
insert (which fixes the track's instrument). Tracks are monophonic: one note at a time.

To keep the tree small the slot that acts is always the unfinished slot with the earliest cursor
(lowest index on ties), so the tracks are written side by side from left to right and no
ordering of the same edits is searched twice. Its actions:

- ``Insert(slot, sample, pitch, gain_db)``: place a note at the cursor, held to the next onset
  (or less if the sample runs out); cursor to the next onset.
- ``Hold(slot)``: sustain the sounding note to the next onset; cursor to the next onset.
- ``Rest(slot)``: leave silence after the sounding note; cursor to the next onset.
- ``Finish(slot)``: the track is done (no more notes).

Every note edit therefore changes the mix only between two onsets (plus the release), which keeps
incremental evaluation local whatever the target's length.

When every slot is finished the effect-chain phase begins: ``AddEffect(track, kind)`` (default
parameters) and ``SetParam(track, effect, name, value)`` on a per-parameter grid, until ``Stop``
or the effect budget is spent.

Insert candidates are ranked (see ``Catalogue.rank``) by the similarity of each library note to
the target around the cursor: timbre embedding of the second after the onset, and chroma of what
the target has there that the recreation does not yet have (the residual).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from producer.audio import db_to_gain
from producer.config import EffectsConfig
from producer.constants import CLIP_GAIN_MAX_DB, CLIP_GAIN_MIN_DB
from producer.instruments import INSTRUMENTS
from producer.planner import features as F
from producer.planner.target import Target
from producer.project import Clip, Effect, Project, Track
from producer.effects import EFFECTS
from producer.render.engine import RELEASE_SECONDS, Renderer


# --- actions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Insert:
    slot: int
    sample: str
    pitch: int
    gain_db: float

    def describe(self) -> str:
        return f"insert {self.sample}@{self.pitch} {self.gain_db:+.1f} dB on slot {self.slot}"


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
    sounding: bool = False  # the track's last note is still held at the cursor
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


# --- the library as notes --------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    sample: str
    instrument: str
    pitch: int
    seconds: float  # how long the transposed sample lasts (inf: a sustained instrument, loops)


class Catalogue:
    """Every note the library can play (sample, pitch), with the features that rank candidates.

    Pitched samples play every pitch of their instrument's range within ``max_shift`` semitones
    of a sample root (the nearest root wins); drum samples play at their own note.
    emb [shape=(n, D)], chroma [shape=(n, 12)] (mean raw chroma of the first 0.3 s),
    power [shape=(n,)] (mean frame power of the first 0.3 s at 0 dB gain).
    """

    ATTACK_FRAMES = 13  # 0.3 s of frames: the part of a note the ranking compares

    def __init__(self, library, renderer: Renderer, model, *, max_shift: int = 2,
                 instruments: list[str] | None = None):
        notes: list[Note] = []
        audio = []
        sr = F.SR
        for inst in (instruments or library.instruments):
            group = [s for s in library.by_instrument(inst)]
            if not group:
                continue
            if inst == "drums" or inst not in INSTRUMENTS:
                plays = [(s, s.pitch if s.pitch is not None else 60) for s in group]
            else:
                rooted = [s for s in group if s.pitch is not None]
                spec = INSTRUMENTS[inst]
                plays = []
                for p in range(spec.low, spec.high + 1):
                    best = min(rooted, key=lambda s: (abs(s.pitch - p), s.pitch), default=None)
                    if best is not None and abs(best.pitch - p) <= max_shift:
                        plays.append((best, p))
            spec = INSTRUMENTS.get(inst)
            for info, pitch in plays:
                clip = Clip(sample=info.id, start=0.0, hold=1.0, pitch=int(pitch))
                y = renderer.clip_audio(clip, sr)
                if spec is not None and spec.sustains:
                    seconds = math.inf  # the sampler loops a held note: it lasts as long as the clip
                else:
                    own = len(library.load(info, sr)) / sr
                    shift = 0 if (info.pitch is None or inst == "drums") else pitch - info.pitch
                    seconds = own * 2.0 ** (-shift / 12.0)
                notes.append(Note(info.id, inst, int(pitch), seconds))
                seg = np.zeros(sr, np.float32)
                seg[:min(sr, len(y))] = y[:sr]
                audio.append(seg)
        if not notes:
            from producer.errors import SampleError

            raise SampleError(f"sample library {library.root} holds no playable samples")
        self.notes = notes
        segs = np.stack(audio)
        self.emb = model.embed(segs).astype(np.float32)
        from producer.planner.prior import note_templates

        self.templates = note_templates(segs)  # attack spectra for the note prior
        chroma, power, mel = [], [], []
        for seg in segs:
            c, db, m = F.frame_features(seg, 0, 0, self.ATTACK_FRAMES)
            chroma.append(c.mean(axis=0))
            power.append(np.mean(10 ** (db / 10)))
            mel.append(np.sqrt(m).ravel())
        self.chroma = np.stack(chroma).astype(np.float32)
        self.mel = np.stack(mel).astype(np.float32)
        self.power = np.maximum(np.array(power, np.float64), 1e-12)
        self.instrument = np.array([n.instrument for n in notes])
        self.index = {(n.sample, n.pitch): i for i, n in enumerate(notes)}

    def __len__(self) -> int:
        return len(self.notes)

    def timbre_floor(self, percentile: float = 5.0) -> float:
        """Cosine similarity that two unrelated library notes reach (the ``percentile``-th of all
        pairs); the reward rescales timbre similarity from it (see ``producer.planner.reward``)."""
        n = len(self.emb)
        if n < 2:
            return 0.0
        rng = np.random.default_rng(0)
        idx = rng.choice(n, size=min(n, 400), replace=False)
        c = self.emb[idx] @ self.emb[idx].T
        pairs = c[np.triu_indices(len(idx), k=1)]
        return float(min(np.percentile(pairs, percentile), 0.999))

    def rank(self, target: Target, evaluation, onset_index: int, *, instrument: str | None,
             k: int, timbre_weight: float = 0.5, chroma_weight: float = 0.5, spectrum_weight: float = 1.0,
             output_mel: np.ndarray | None = None, prior=None) -> list[tuple[int, float, bool]]:
        """The ``k`` best notes to insert at onset ``onset_index``: [(note index, gain dB, prior-backed)].

        With a note prior (``producer.planner.prior``), only the notes it backs at this onset,
        by its score and with its gain (the score below is not needed then).

        Score = timbre_weight * cos(note embedding, target embedding after the onset)
              + chroma_weight * cos(note chroma, residual chroma at the onset)
              + spectrum_weight * cos(note mel patch, residual mel patch at the onset),
        where the residual is what the target's frames hold beyond the recreation's
        (``evaluation``; ``output_mel`` [shape=(frames, 64)] its mel power from the onset) and a
        mel patch is the square-rooted mel power of the first 0.3 s, time and bands flattened
        (it tells octaves, tone colours and attack shapes apart). The gain makes the note's power
        match the residual power (1 dB steps, -30..+6 dB).
        """
        if prior is not None:
            return self._rank_backed(prior, onset_index, instrument, k)
        t0 = target.onsets[onset_index]
        f0 = int(round(t0 * F.SR / F.HOP))
        f1 = min(target.n_frames, f0 + self.ATTACK_FRAMES)
        if f1 <= f0:
            f0 = max(0, target.n_frames - 1)
            f1 = target.n_frames
        t_chroma = target.frame_chroma[f0:f1]
        o_chroma = evaluation.frame_chroma[f0:f1]
        residual = np.maximum(t_chroma - o_chroma, 0.0).mean(axis=0)
        t_pow = np.mean(10 ** (target.frame_db[f0:f1] / 10))
        o_pow = np.mean(10 ** (evaluation.frame_db[f0:f1] / 10))
        res_pow = max(t_pow - o_pow, t_pow * 0.05)
        score = timbre_weight * (self.emb @ target.onset_emb[onset_index])
        score = score + chroma_weight * F.cosine_rows(self.chroma, residual[None, :])
        if spectrum_weight > 0:
            res_mel = target.frame_mel[f0:f1]
            if output_mel is not None:
                res_mel = np.maximum(res_mel - output_mel[:f1 - f0], 0.0)
            patch = np.zeros((self.ATTACK_FRAMES, F.N_MELS), np.float32)
            patch[:f1 - f0] = np.sqrt(res_mel)
            score = score + spectrum_weight * F.cosine_rows(self.mel, patch.ravel()[None, :])
        if instrument is not None:
            score = np.where(self.instrument == instrument, score, -np.inf)
            order = np.argsort(-score, kind="stable")[:k]
        else:
            # A slot without an instrument yet: deal candidates round-robin over the instruments
            # (each instrument's best first), so every instrument gets a hearing from the reward
            # instead of one family filling the list.
            order = self._round_robin(score, k)
        out = []
        for i in order:
            if not np.isfinite(score[i]):
                break
            gain = 10 * math.log10(res_pow / self.power[i])
            out.append((int(i), float(np.clip(round(gain), CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB)), False))
        return out

    def _rank_backed(self, prior, onset_index: int, instrument: str | None, k: int) -> list[tuple[int, float, bool]]:
        """``rank`` with a note prior: the notes it backs here (of ``instrument``), best first."""
        ok = prior.backed_all[onset_index]
        if instrument is not None:
            ok = ok & (self.instrument == instrument)
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(-prior.score[onset_index, idx], kind="stable")][:k]
        return [(int(i), float(prior.gain_db[onset_index, i]), True) for i in order]

    def _round_robin(self, score: np.ndarray, k: int) -> np.ndarray:
        by_inst: dict[str, list[int]] = {}
        for i in np.argsort(-score, kind="stable"):
            by_inst.setdefault(str(self.instrument[i]), []).append(int(i))
        queues = sorted(by_inst.values(), key=lambda q: -score[q[0]])
        out: list[int] = []
        depth = 0
        while len(out) < k and any(depth < len(q) for q in queues):
            out += [q[depth] for q in queues if depth < len(q)][: k - len(out)]
            depth += 1
        return np.array(out, dtype=int)


# --- applying actions ------------------------------------------------------------------------
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
        project = Project(sample_rate=self.sample_rate, tempo=round(float(self.target.tempo), 2))
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
        sr = F.SR
        if isinstance(action, Stop):
            return replace(state, stopped=True), None
        if isinstance(action, (AddEffect, SetParam)):
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
        slot = state.slots[action.slot]
        nxt = slot.cursor + 1
        finished_next = nxt >= len(self.onsets)
        here = float(self.onsets[slot.cursor])
        until = float(self.onsets[nxt]) if not finished_next else self.target.duration
        project = state.project
        if isinstance(action, Rest):
            # The sounding note already stops at the cursor: leave the silence that follows.
            return self._set_slot(state, action.slot, replace(slot, cursor=nxt, finished=finished_next,
                                                              sounding=False)), None
        if isinstance(action, Finish):
            # No more notes on this track. The project is unchanged: letting the last note ring
            # on would fill the rest of the target at once, which the reward pays for at once,
            # and the search would end tracks early to collect it (measured: 15 of 140 decisions).
            return self._set_slot(state, action.slot, replace(slot, finished=True, sounding=False)), None
        if isinstance(action, Hold):
            # Hold sustains the sounding note to the next onset (if the sample lasts).
            target_end = until
            new_slot = replace(slot, cursor=nxt, finished=finished_next)
            if not slot.sounding or slot.track is None:
                return self._set_slot(state, action.slot, new_slot), None
            track = project.tracks[slot.track]
            last = track.clips[-1]
            natural = self._seconds.get((last.sample, last.pitch), math.inf)
            end = min(last.start + natural, target_end)
            if end <= last.end + 1e-6:
                new_slot = replace(new_slot, sounding=False)
                return self._set_slot(state, action.slot, new_slot), None
            longer = replace(last, hold=round(end - last.start, 6))
            project = project.replace_track(slot.track, replace(track, clips=track.clips[:-1] + (longer,)))
            if end < until - 1e-6:
                new_slot = replace(new_slot, sounding=False)  # the sample ran out before the onset
            region = self._region(project, slot.track, last.end, end)
            return self._set_slot(replace(state, project=project), action.slot, new_slot), region
        assert isinstance(action, Insert)
        natural = self._seconds.get((action.sample, action.pitch), math.inf)
        hold = round(max(1e-3, min(natural, until - here)), 6)
        clip = Clip(sample=action.sample, start=here, hold=hold, pitch=action.pitch, gain_db=action.gain_db)
        track_index = slot.track
        if track_index is None:
            inst = self.catalogue.notes[self.catalogue.index[(action.sample, action.pitch)]].instrument
            project = project.add_track(Track(name=_track_name(project, inst), instrument=inst, clips=(clip,)))
            track_index = len(project.tracks) - 1
        else:
            project = project.replace_track(track_index, project.tracks[track_index].with_clip(clip))
        new_slot = Slot(track=track_index, cursor=nxt, finished=finished_next,
                        sounding=hold >= until - here - 1e-6, instrument=slot.instrument)
        region = self._region(project, track_index, here, here + hold)
        return self._set_slot(replace(state, project=project), action.slot, new_slot), region

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


def note_gain(gain_db: float) -> float:
    return db_to_gain(gain_db)
