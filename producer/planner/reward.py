"""The reward: how close a recreation O is to the target I.

    reward = L(I, O) * mean_t sim(I_t, O_t)
    L(I, O) = max(0, 1 - | |I| - |O| | / |I|)          (|.| = duration in seconds)

over the reward windows t (3 s long, 1 s hop by default). For one window::

    sim = (w_timbre * timbre + w_chroma * chroma + w_env * envelope + w_spec * spectrum) / (sum of weights)

- timbre: cosine similarity of the window embeddings, rescaled so that the ``timbre_floor``
  (the 5th percentile of the cosine between two library notes, computed per library and model:
  "as alike as two unrelated sounds") maps to 0 and 1 stays 1, clipped to [0, 1]. Without the
  rescaling a model whose embeddings all lie in a narrow cone gives every non-silent window about
  the same timbre score, which rewards filling silence with anything. A window embedding is
  the L2-normalised sum of the unit embeddings of its non-silent 1 s segments (the timbre model
  averages 1 s sub-windows the same way), so it is computed from per-segment embeddings and an edit
  re-embeds only the segments it touches.
- chroma: mean over the window's frames of the frame chroma cosine similarity.
- envelope (an extra term, weight ``envelope_weight``): mean over frames of
  ``1 - min(1, |dB_I - dB_O| / silence_db)`` with both levels floored at the silence threshold.
- spectrum (an extra term, weight ``spectrum_weight``): mean over frames of
  ``max(0, 1 - |a - b|_1 / |a|_1)`` where a, b are the target's and the recreation's compressed
  mel spectra ``log1p(mel / m0)`` (m0: the silence threshold's power per band). Unlike chroma it
  tells octaves and tone colours apart; unlike the embedding and chroma it penalises extra or
  missing energy. Frame silence rules as for chroma.

With both extra weights at 0 the reward is exactly the designed one. The presets say which
weights the benchmark settled on.

Silence. A frame is silent when its power is more than ``silence_db`` below the target's loudest
frame; a segment when its mean power is. The same absolute threshold is used for target and
recreation. Per frame: both silent -> chroma similarity 1; exactly one silent -> 0. Per window:
both silent (every frame) -> sim 1 (silence rebuilt as silence); exactly one silent -> sim 0;
otherwise the weighted sum above (a window whose segments are all silent on one side but with a
few audible frames has timbre 0).
"""
from __future__ import annotations

import numpy as np

from producer.config import RewardConfig
from producer.planner import features as F
from producer.planner.target import Target


def length_factor(target_seconds: float, output_seconds: float) -> float:
    """L(I, O) = max(0, 1 - ||I| - |O|| / |I|); 1 when the lengths agree, 0 at a difference >= |I|."""
    if target_seconds <= 0:
        raise ValueError(f"target length must be positive, given {target_seconds}")
    return max(0.0, 1.0 - abs(target_seconds - output_seconds) / target_seconds)


class RewardModel:
    """Scores output features against one target; every method works on a slice of the grid."""

    def __init__(self, target: Target, cfg: RewardConfig, *, timbre_floor: float = 0.0):
        self.target = target
        self.cfg = cfg
        if not -1.0 <= timbre_floor < 1.0:
            raise ValueError(f"timbre_floor must be in [-1, 1), given {timbre_floor}")
        self.timbre_floor = float(timbre_floor)
        w = np.array([cfg.timbre_weight, cfg.chroma_weight, cfg.envelope_weight, cfg.spectrum_weight], np.float64)
        self.weights = w / w.sum()
        self.threshold_db = target.peak_db - cfg.silence_db
        self.t_frame_silent = target.frame_db < self.threshold_db
        self.t_seg_silent = target.seg_db < self.threshold_db
        win, hop = target.window_seconds, target.hop_seconds
        self.win = win
        starts = target.windows
        # Window t reads segments [s0, s0 + win) and frames centred in [s0 * sr, (s0 + win) * sr).
        self.w_seg0 = starts.astype(int)
        self.w_frame0 = -(-(starts * F.SR) // F.HOP)
        self.w_frame1 = np.minimum(-(-((starts + win) * F.SR) // F.HOP), target.n_frames)
        self.t_window_silent = np.array([self.t_frame_silent[a:b].all()
                                         for a, b in zip(self.w_frame0, self.w_frame1)])
        self.mel_ref = 10 ** (self.threshold_db / 10) / F.N_MELS
        self.t_mel = np.log1p(target.frame_mel / self.mel_ref).astype(np.float32)
        self.t_window_emb = np.stack([self._window_emb(target.seg_emb, self.t_seg_silent, t)
                                      for t in range(len(starts))])

    # --- frames -------------------------------------------------------------------------------
    def frame_sims(self, chroma: np.ndarray, db: np.ndarray, mel: np.ndarray | None, f0: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-frame (chroma, envelope, spectrum) similarities of output frames f0.. [shape=(k,)] each.

        chroma [shape=(k, 12)], db [shape=(k,)], mel [shape=(k, 64)] (None: spectrum term off)."""
        k = len(db)
        t_chroma = self.target.frame_chroma[f0:f0 + k]
        t_db = self.target.frame_db[f0:f0 + k]
        t_sil = self.t_frame_silent[f0:f0 + k]
        o_sil = db < self.threshold_db
        cos = F.cosine_rows(t_chroma, chroma)
        chroma_sim = np.where(t_sil & o_sil, 1.0, np.where(t_sil | o_sil, 0.0, cos)).astype(np.float32)
        thr = self.threshold_db
        env = 1.0 - np.minimum(1.0, np.abs(np.maximum(t_db, thr) - np.maximum(db, thr)) / self.cfg.silence_db)
        if mel is None or self.weights[3] == 0:
            spec_sim = np.zeros(k, np.float32)
        else:
            t_mel = self.t_mel[f0:f0 + k]
            o_mel = np.log1p(mel / self.mel_ref)
            err = np.abs(t_mel - o_mel).sum(axis=1) / np.maximum(t_mel.sum(axis=1), 1e-6)
            close = np.maximum(0.0, 1.0 - err)
            spec_sim = np.where(t_sil & o_sil, 1.0, np.where(t_sil | o_sil, 0.0, close)).astype(np.float32)
        return chroma_sim, env.astype(np.float32), spec_sim

    # --- windows ------------------------------------------------------------------------------
    def _window_emb(self, seg_emb: np.ndarray, seg_silent: np.ndarray, t: int) -> np.ndarray:
        s0 = self.w_seg0[t]
        keep = ~seg_silent[s0:s0 + self.win]
        v = seg_emb[s0:s0 + self.win][keep].sum(axis=0) if keep.any() else np.zeros(seg_emb.shape[1], np.float32)
        n = np.linalg.norm(v)
        return v / n if n > 0 else v

    def window_sims(self, windows, *, seg_emb, seg_db, frame_db, chroma_sim, env_sim, spec_sim) -> np.ndarray:
        """sim(I_t, O_t) for the windows listed [shape=(len(windows),)], from whole-grid output arrays."""
        seg_silent = seg_db < self.threshold_db
        out = np.empty(len(windows), np.float32)
        wt, wc, we, wsp = self.weights
        for j, t in enumerate(windows):
            a, b = self.w_frame0[t], self.w_frame1[t]
            o_silent = bool((frame_db[a:b] < self.threshold_db).all())
            t_silent = bool(self.t_window_silent[t])
            if o_silent or t_silent:
                out[j] = 1.0 if (o_silent and t_silent) else 0.0
                continue
            cos = float(self.t_window_emb[t] @ self._window_emb(seg_emb, seg_silent, t))
            timbre = float(np.clip((cos - self.timbre_floor) / (1.0 - self.timbre_floor), 0.0, 1.0))
            chroma = float(chroma_sim[a:b].mean())
            env = float(env_sim[a:b].mean()) if we > 0 else 0.0
            spec = float(spec_sim[a:b].mean()) if wsp > 0 else 0.0
            out[j] = wt * timbre + wc * chroma + we * env + wsp * spec
        return out

    def windows_touching(self, s0: int, s1: int, f0: int, f1: int) -> np.ndarray:
        """Windows that read any of segments [s0, s1) or frames [f0, f1)."""
        seg_hit = (self.w_seg0 < s1) & (self.w_seg0 + self.win > s0)
        frame_hit = (self.w_frame0 < f1) & (self.w_frame1 > f0)
        return np.flatnonzero(seg_hit | frame_hit)

    def total(self, window_sims: np.ndarray, output_seconds: float) -> float:
        """reward = L(I, O) * mean_t sim_t."""
        return length_factor(self.target.duration, output_seconds) * float(np.mean(window_sims))

    def search_value(self, window_sims: np.ndarray, output_seconds: float) -> float:
        """What the search climbs: the reward, except that a recreation still shorter than the
        target is not penalised for it (a partial project is short because it is unfinished;
        counting that would favour long-ringing samples). Equals the reward once |O| >= |I|."""
        d = self.target.duration
        return self.total(window_sims, max(output_seconds, d) if output_seconds < d else output_seconds)
