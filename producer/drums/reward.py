"""The groove score: a documented, weighted sum of rhythm measures over one bar or more.

For voices v with hits h_v [shape=(T,)] (T = bars x steps_per_bar) over a kick k::

    score = sum_v [  w_style           * mean_t h_v[t] * style_v[t]          (learned style)
                   + w_complementarity * c_v * complementarity(h_v, k)       (hits where the kick rests)
                   + w_metrical        * metrical_weight(h_v, template_v)    (backbeat / pulse)
                   - w_density         * steps_per_bar * (density(h_v) - d*_v)^2
                   - w_syncopation     * |LHL(h_v OR k) per bar - s*_v| / 8 ]
            - 8 * mean_t(h_a[t] h_b[t])  for choked pairs (closed + open hi-hat)

``style_v[t]`` is the learned style's logit at the step, shifted so that it is positive where
the corpus says the voice is worth playing (:meth:`producer.drums.style.StyleModel.logits`);
d*_v and s*_v are the family's density and syncopation. ``c_v`` is how much the voice avoids
the kick (snare 1, closed hat 0.1 ...); ``template_v`` the voice's metrical template in the
meter. The default weights were set by hand to let the learned style decide and keep the
hand-made terms small (they were not tuned on any figure); bench/bench_drums.py prints the
reward optimum's held-out F1 with these weights and with the style term alone, side by side.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from producer.drums import metrics
from producer.drums.corpus import BACKBEAT_STEPS, METER_DIVISIONS, METERS


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the groove score's measures (all >= 0; 0 switches a measure off)."""

    complementarity: float = 0.1
    metrical: float = 0.1
    style: float = 1.0
    density: float = 0.5
    syncopation: float = 0.1

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class StyleTerms:
    """What the reward needs from the learned style for V voices over T steps.

    ``logits`` [shape=(V, T)]: style term per step; ``density`` [V] hits per step and
    ``syncopation`` [V] LHL per bar, the family's targets.
    """

    logits: np.ndarray
    density: np.ndarray
    syncopation: np.ndarray


# Voice -> (how much it avoids the kick, metrical template name).
VOICE_ROLES = {
    "snare": (1.0, "backbeat"),
    "clap": (1.0, "backbeat"),
    "rim": (0.5, "backbeat"),
    "hihat_closed": (0.1, "pulse"),
    "hihat_open": (0.5, "offbeat"),
    "ride": (0.1, "pulse"),
    "crash": (0.0, "downbeat"),
    "tom_low": (0.5, "none"),
    "tom_mid": (0.5, "none"),
    "tom_high": (0.5, "none"),
    "kick": (0.0, "none"),
}
# One physical hi-hat: these two never sound on the same step.
CHOKED_PAIRS = (("hihat_closed", "hihat_open"),)
CHOKE_PENALTY = 8.0


def voice_template(name: str, meter: str, bars: int = 1) -> np.ndarray:
    """Metrical template [shape=(bars * steps_per_bar,)] of a voice role in a meter."""
    T = METERS[meter][0]
    kind = VOICE_ROLES.get(name, (0.5, "none"))[1]
    t = np.zeros(T)
    if kind == "backbeat":
        t[[0]] = -0.5
        t[list(BACKBEAT_STEPS[meter])] = 1.0
    elif kind == "offbeat":
        lev = metrics.metrical_levels(T, 1, METER_DIVISIONS[meter])
        t[lev == lev.min() + 1] = 1.0
    elif kind == "pulse":
        t = metrics.pulse_template(T, 1, METER_DIVISIONS[meter])
    elif kind == "downbeat":
        t[0] = 1.0
    return np.tile(t, bars)


class GrooveReward:
    """Scores patterns of fixed voices over one fixed kick in one meter.

    ``score(hits)`` takes hits [shape=(..., V, T)] of 0/1 and returns the groove score [shape=(...)]
    (float for one pattern); ``measures(hits)`` gives the unweighted measures per voice.
    Everything that depends only on the kick is precomputed, so a single-pattern score costs
    tens of microseconds (the environment calls it every step).
    """

    def __init__(self, voices: tuple[str, ...], kick: np.ndarray, style: StyleTerms, *,
                 meter: str = "4/4", weights: RewardWeights | None = None):
        self.voices = tuple(voices)
        self.kick = (np.asarray(kick) > 0).astype(np.uint8)
        self.meter = meter
        self.steps_per_bar = METERS[meter][0]
        self.T = len(self.kick)
        self.bars = self.T // self.steps_per_bar
        self.style = style
        self.weights = weights or RewardWeights()
        w = self.weights
        self.levels = metrics.metrical_levels(self.steps_per_bar, self.bars, METER_DIVISIONS[meter])
        self._lhl = metrics.LHLScorer(self.levels)
        self.kick_sign = np.where(self.kick > 0, -1.0, 1.0)
        self.comp_w = np.array([VOICE_ROLES.get(v, (0.5, "none"))[0] for v in self.voices])
        self.templates = np.stack([voice_template(v, meter, self.bars) for v in self.voices])
        self.logits = np.asarray(style.logits, dtype=float).reshape(len(self.voices), self.T)
        # Per-step linear part of the score [shape=(V, T)].
        self.linear = (w.complementarity * self.comp_w[:, None] * self.kick_sign[None, :]
                       + w.metrical * self.templates + w.style * self.logits) / self.T
        self.d_target = np.asarray(style.density, dtype=float)
        self.s_target = np.asarray(style.syncopation, dtype=float)
        self.pairs = [(self.voices.index(a), self.voices.index(b)) for a, b in CHOKED_PAIRS
                      if a in self.voices and b in self.voices]

    # ---- measures -----------------------------------------------------------------------------
    def measures(self, hits: np.ndarray) -> dict[str, dict[str, float]]:
        """Unweighted measures of one pattern [shape=(V, T)]: {voice: {measure: value}}."""
        h = np.asarray(hits)
        out = {}
        for i, v in enumerate(self.voices):
            both = np.maximum(h[i], self.kick)
            out[v] = {
                "style": float((h[i] * self.logits[i]).sum() / self.T),
                "complementarity": metrics.complementarity(h[i], self.kick),
                "metrical": metrics.metrical_weight(h[i], self.templates[i]),
                "density": metrics.density(h[i]),
                "syncopation_lhl_per_bar": self._lhl(both) / self.bars,
            }
        return out

    # ---- score --------------------------------------------------------------------------------
    def score(self, hits: np.ndarray):
        """Groove score of hits [shape=(..., V, T)] -> [shape=(...)] (float for one pattern)."""
        h = np.asarray(hits)
        if h.ndim == 2:
            return self._score_one(h)
        hf = h.astype(float)
        w = self.weights
        total = (hf * self.linear).sum(axis=(-1, -2))
        dens = hf.mean(axis=-1)  # (..., V)
        total -= w.density * self.steps_per_bar * ((dens - self.d_target) ** 2).sum(axis=-1)
        if w.syncopation:
            for i in range(len(self.voices)):
                both = np.maximum(h[..., i, :], self.kick)
                s = metrics.lhl_syncopation(both, self.levels) / self.bars
                total -= w.syncopation * np.abs(s - self.s_target[i]) / 8.0
        for a, b in self.pairs:
            total -= CHOKE_PENALTY * (hf[..., a, :] * hf[..., b, :]).mean(axis=-1)
        return total

    def local_gains(self, h: np.ndarray) -> np.ndarray:
        """Score change of toggling each step [shape=(V, T)] from hits ``h`` [shape=(V, T)],
        exact for every term but syncopation (which couples a voice's steps; left out): the
        style, complementarity and metrical terms, density and the hi-hat choke."""
        w = self.weights
        h = np.asarray(h, dtype=float)
        sign = 1.0 - 2.0 * h  # +1 adds a hit, -1 removes one
        count = h.sum(-1, keepdims=True)
        before = (count / self.T - self.d_target[:, None]) ** 2
        after = ((count + sign) / self.T - self.d_target[:, None]) ** 2
        gains = sign * self.linear - w.density * self.steps_per_bar * (after - before)
        for a, b in self.pairs:
            gains[a] -= sign[a] * CHOKE_PENALTY * h[b] / self.T
            gains[b] -= sign[b] * CHOKE_PENALTY * h[a] / self.T
        return gains

    def _score_one(self, h: np.ndarray) -> float:
        w = self.weights
        total = float((h * self.linear).sum())
        dens = h.sum(axis=-1) / self.T
        total -= w.density * self.steps_per_bar * float(((dens - self.d_target) ** 2).sum())
        if w.syncopation:
            for i in range(len(self.voices)):
                s = self._lhl(np.maximum(h[i], self.kick)) / self.bars
                total -= w.syncopation * abs(s - self.s_target[i]) / 8.0
        for a, b in self.pairs:
            total -= CHOKE_PENALTY * float((h[a] * h[b]).sum()) / self.T
        return total


def all_patterns(steps: int) -> np.ndarray:
    """Every binary pattern of ``steps`` steps, uint8 [shape=(2**steps, steps)] (steps <= 20)."""
    if steps > 20:
        raise ValueError(f"steps={steps}: too many to enumerate")
    idx = np.arange(2 ** steps, dtype=np.int64)
    return ((idx[:, None] >> np.arange(steps)) & 1).astype(np.uint8)


def exhaustive_optimum(reward: GrooveReward) -> tuple[np.ndarray, float]:
    """Best pattern when the voices are scored apart, by scoring all 2^T patterns of each voice:
    (hits [shape=(V, T)], score of those hits together).

    Without choked pairs the voices' terms are independent, so this is the exact optimum; with
    a choked pair (closed + open hat) the per-voice sum is an upper bound of the optimum (the
    choke only subtracts), returned as ``upper`` in :func:`optimum_bound`."""
    pats = all_patterns(reward.T)
    best = np.zeros((len(reward.voices), reward.T), np.uint8)
    for i, v in enumerate(reward.voices):
        one = GrooveReward((v,), reward.kick, StyleTerms(reward.logits[i:i + 1],
                           reward.d_target[i:i + 1], reward.s_target[i:i + 1]),
                           meter=reward.meter, weights=reward.weights)
        best[i] = pats[int(np.argmax(one.score(pats[:, None, :])))]
    return best, float(reward.score(best))


def optimum_bound(reward: GrooveReward) -> float:
    """Upper bound of the best score: the per-voice exhaustive optima summed (choke ignored)."""
    pats = all_patterns(reward.T)
    total = 0.0
    for i, v in enumerate(reward.voices):
        one = GrooveReward((v,), reward.kick, StyleTerms(reward.logits[i:i + 1],
                           reward.d_target[i:i + 1], reward.s_target[i:i + 1]),
                           meter=reward.meter, weights=reward.weights)
        total += float(one.score(pats[:, None, :]).max())
    return total
