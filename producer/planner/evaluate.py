"""Incremental evaluation: the reward of a project, recomputed only where an edit changed it.

An ``Evaluation`` holds the recreation's features on the whole grid (segment embeddings and
power, frame chroma, power and similarities) and the per-window similarities. A child project
that differs from its parent in the samples [a, b) is scored by mixing only that region (clips
that overlap it, taken from the renderer's clip cache; tracks with effects from its stem cache),
re-embedding the 1 s segments it touches, recomputing the frames it touches and re-scoring the
windows that read them. The cost is therefore set by the edit, not by the target's length.

``Evaluator.evaluate_batch`` scores many children of one parent at once: all their changed
segments go through the timbre model in one batch.
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from producer.audio import db_to_gain
from producer.planner import features as F
from producer.planner.reward import RewardModel
from producer.planner.target import Target
from producer.project import Project
from producer.render.engine import Renderer, pan_gains

EMB_CACHE_SIZE = 20000  # segments (a 256-d embedding each: about 20 MB)


@dataclass(frozen=True)
class Evaluation:
    """Features and reward of one project (arrays are shared between states: never written)."""

    seg_emb: np.ndarray  # [shape=(S, D)]
    seg_db: np.ndarray  # [shape=(S,)]
    frame_chroma: np.ndarray  # [shape=(Fr, 12)] raw chroma power of the recreation
    frame_db: np.ndarray  # [shape=(Fr,)]
    chroma_sim: np.ndarray  # [shape=(Fr,)]
    env_sim: np.ndarray  # [shape=(Fr,)]
    spec_sim: np.ndarray  # [shape=(Fr,)]
    window_sims: np.ndarray  # [shape=(T,)]
    length_s: float  # rendered length of the recreation (s)
    reward: float
    value: float  # what the search climbs (``RewardModel.search_value``)


def project_length(project: Project, renderer: Renderer, sr: int = F.SR) -> float:
    """Length of the rendered mix (s): the longest stem, release and effect tails included."""
    return max((renderer.track_length(t, sr) for t in project.tracks), default=0) / sr


class Evaluator:
    """Scores projects against a target. ``evaluations`` counts scored candidates."""

    def __init__(self, target: Target, renderer: Renderer, model, reward: RewardModel):
        self.target = target
        self.renderer = renderer
        self.model = model
        self.reward = reward
        self.evaluations = 0
        self.seconds = {"mix": 0.0, "embed": 0.0, "frames": 0.0, "score": 0.0}
        self._silent_emb = None
        # Segment audio digest -> embedding. The search reaches the same mix of a segment by many
        # paths (re-planning rounds rebuild much of what the first pass built); the CNN is the
        # dearest step of an evaluation, a digest of the segment costs about 1/50 of it.
        self._emb_cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.emb_cache_hits = 0

    # --- mixing ---------------------------------------------------------------------------------
    def mix_region(self, project: Project, a: int, b: int) -> np.ndarray:
        """Mono mix of samples [a, b) at 22,050 Hz [shape=(b - a,)], as ``Renderer.render`` would
        produce it averaged over the two channels."""
        sr = F.SR
        buf = np.zeros(max(0, b - a), np.float32)
        for track in project.tracks:
            left, right = pan_gains(track.pan)
            k = db_to_gain(track.gain_db) * (left + right) / 2.0
            if track.effects:
                stem = self.renderer.stem(track, sr)
                lo, hi = max(a, 0), min(b, stem.shape[1])
                if hi > lo:
                    part = stem[:, lo:hi].mean(axis=0)
                    # An unstable effect setting can blow up; score it as the noise it is, finitely.
                    buf[lo - a:hi - a] += np.clip(np.nan_to_num(part, nan=0.0, posinf=1.0, neginf=-1.0), -16, 16)
                continue
            for clip in track.clips:
                i = int(round(clip.start * sr))
                if i >= b:
                    break  # clips are sorted by start
                y = self.renderer.clip_audio(clip, sr)
                lo, hi = max(a, i), min(b, i + len(y))
                if hi > lo:
                    buf[lo - a:hi - a] += k * y[lo - i:hi - i]
        return buf

    # --- scoring --------------------------------------------------------------------------------
    def empty(self) -> Evaluation:
        """The evaluation of a project with no sound (every output frame and segment silent)."""
        t = self.target
        S, Fr = t.n_segments, t.n_frames
        seg_emb = np.zeros((S, t.seg_emb.shape[1]), np.float32)
        seg_db = np.full(S, F.FLOOR_DB, np.float32)
        chroma = np.zeros((Fr, F.N_CHROMA), np.float32)
        db = np.full(Fr, F.FLOOR_DB, np.float32)
        csim, esim, ssim = self.reward.frame_sims(chroma, db, np.zeros((Fr, F.N_MELS), np.float32), 0)
        ws = self.reward.window_sims(np.arange(len(t.windows)), seg_emb=seg_emb, seg_db=seg_db, frame_db=db,
                                     chroma_sim=csim, env_sim=esim, spec_sim=ssim)
        return Evaluation(seg_emb, seg_db, chroma, db, csim, esim, ssim, ws, 0.0, self.reward.total(ws, 0.0),
                          self.reward.search_value(ws, 0.0))

    def _embed(self, rows: np.ndarray) -> np.ndarray:
        """Embeddings of 1 s segments [shape=(k, sr)], through the digest cache."""
        keys = [hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in rows]
        out = np.empty((len(rows), self.target.seg_emb.shape[1]), np.float32)
        todo = []
        for i, key in enumerate(keys):
            hit = self._emb_cache.get(key)
            if hit is None:
                todo.append(i)
            else:
                self._emb_cache.move_to_end(key)
                out[i] = hit
        self.emb_cache_hits += len(rows) - len(todo)
        if todo:
            fresh = self.model.embed(rows[todo])
            for i, e in zip(todo, fresh):
                out[i] = e
                self._emb_cache[keys[i]] = e
            while len(self._emb_cache) > EMB_CACHE_SIZE:
                self._emb_cache.popitem(last=False)
        return out

    def full(self, project: Project) -> Evaluation:
        """Score a project from scratch (no parent); equals the incremental result."""
        t = self.target
        return self.evaluate_batch(self.empty(), [(project, (0, t.n_segments * F.SR))])[0]

    def evaluate_batch(self, parent: Evaluation, children: list[tuple[Project, tuple[int, int] | None]]
                       ) -> list[Evaluation]:
        """Score child projects of ``parent``; each child names the sample range [a, b) (at
        22,050 Hz) where its mix differs from the parent's, or None when it does not differ.

        Long because it is the search's hot path: the children's changed spans are rendered,
        framed and embedded as one batch, and splitting it would copy those arrays between steps."""
        t0 = time.perf_counter()
        t = self.target
        S, Fr, sr = t.n_segments, t.n_frames, F.SR
        plans = []
        seg_rows = []
        for project, region in children:
            if region is None:
                plans.append(None)
                continue
            a, b = max(0, region[0]), min(region[1], S * sr)
            if b <= a:
                # The change lies past the scored span: only the length term can move.
                plans.append((project, 0, 0, 0, 0, None, 0))
                continue
            s0, s1 = a // sr, (b - 1) // sr + 1
            f0, f1 = F.frames_touching(a, b, Fr)
            fa, fb = F.frame_support(f0, f1)
            lo, hi = min(s0 * sr, fa), max(s1 * sr, fb)
            mix = self.mix_region(project, lo, hi)
            plans.append((project, s0, s1, f0, f1, mix, lo))
            seg_rows.append(mix[s0 * sr - lo:s1 * sr - lo].reshape(s1 - s0, sr))
        t1 = time.perf_counter()
        self.seconds["mix"] += t1 - t0
        emb_all = None
        if seg_rows:
            rows = np.concatenate(seg_rows)
            db_all = F.segment_db(rows)
            emb_all = np.zeros((len(rows), t.seg_emb.shape[1]), np.float32)
            # Silent segments are not embedded: the reward ignores their embedding.
            loud = db_all >= self.reward.threshold_db
            if loud.any():
                emb_all[loud] = self._embed(rows[loud])
        t2 = time.perf_counter()
        self.seconds["embed"] += t2 - t1
        out = []
        row = 0
        for plan in plans:
            if plan is None:
                out.append(parent)
                continue
            project, s0, s1, f0, f1, mix, lo = plan
            length = project_length(project, self.renderer)
            if mix is None:
                out.append(Evaluation(parent.seg_emb, parent.seg_db, parent.frame_chroma, parent.frame_db,
                                      parent.chroma_sim, parent.env_sim, parent.spec_sim, parent.window_sims, length,
                                      self.reward.total(parent.window_sims, length),
                                      self.reward.search_value(parent.window_sims, length)))
                self.evaluations += 1
                continue
            n = s1 - s0
            seg_emb = parent.seg_emb.copy()
            seg_emb[s0:s1] = emb_all[row:row + n]
            seg_db = parent.seg_db.copy()
            seg_db[s0:s1] = db_all[row:row + n]
            row += n
            tf = time.perf_counter()
            chroma, db, mel = F.frame_features(mix, lo, f0, f1)
            csim, esim, ssim = self.reward.frame_sims(chroma, db, mel, f0)
            frame_chroma = parent.frame_chroma.copy()
            frame_chroma[f0:f1] = chroma
            frame_db = parent.frame_db.copy()
            frame_db[f0:f1] = db
            chroma_sim = parent.chroma_sim.copy()
            chroma_sim[f0:f1] = csim
            env_sim = parent.env_sim.copy()
            env_sim[f0:f1] = esim
            spec_sim = parent.spec_sim.copy()
            spec_sim[f0:f1] = ssim
            self.seconds["frames"] += time.perf_counter() - tf
            ts = time.perf_counter()
            wins = self.reward.windows_touching(s0, s1, f0, f1)
            window_sims = parent.window_sims.copy()
            window_sims[wins] = self.reward.window_sims(wins, seg_emb=seg_emb, seg_db=seg_db, frame_db=frame_db,
                                                        chroma_sim=chroma_sim, env_sim=env_sim, spec_sim=spec_sim)
            out.append(Evaluation(seg_emb, seg_db, frame_chroma, frame_db, chroma_sim, env_sim, spec_sim, window_sims,
                                  length, self.reward.total(window_sims, length),
                                  self.reward.search_value(window_sims, length)))
            self.seconds["score"] += time.perf_counter() - ts
            self.evaluations += 1
        return out
