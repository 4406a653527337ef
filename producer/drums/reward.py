"""The groove score: a documented, weighted sum of rhythm measures.

For voices v with hits h_v [shape=(T,)] (T = bars x steps_per_bar) over a kick k::

    score = sum_v [  w_complementarity * c_v * complementarity(h_v, k)       (hits where the kick rests)
                   + w_metrical        * metrical_weight(h_v, template_v)     (backbeat / offbeat / pulse)
                   + w_style           * mean_t h_v[t] * logodds_v[t | k[t]]  (style prior)
                   - w_density         * steps_per_bar * (density(h_v) - d*_v)^2
                   - w_syncopation     * |LHL(h_v OR k) per bar - s*_v| / 8 ]
            - w_complementarity * 8 * mean_t(h_a[t] h_b[t])  for choked pairs (closed + open hi-hat)

``c_v`` is how much the voice cares about avoiding the kick (snare 1, closed hat 0.1 ...);
``template_v`` is the voice's metrical template; d*_v and s*_v are the voice's density and
syncopation in the style prior. The choke penalty (8 per step, against linear gains of at most
about 6 per step) keeps one hi-hat from being closed and open at once. The first three terms are sums over steps, so the value of a hit
depends mostly on its own step; density and syncopation couple the steps of one voice.
An empty pattern scores only the (negative) density and syncopation terms.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from producer.drums import metrics
from producer.drums.prior import StylePrior


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the groove score's measures (all >= 0; 0 switches a measure off)."""

    complementarity: float = 1.0
    metrical: float = 1.0
    style: float = 1.0
    density: float = 1.0
    syncopation: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# Voice -> (how much it avoids the kick, metrical template name).
VOICE_ROLES = {
    "snare": (1.0, "backbeat"),
    "clap": (1.0, "backbeat"),
    "rim": (0.5, "offbeat"),
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


def voice_template(name: str, steps_per_bar: int, bars: int) -> np.ndarray:
    """Metrical template [shape=(steps,)] of a voice role."""
    kind = VOICE_ROLES.get(name, (0.5, "none"))[1]
    if kind == "backbeat":
        return metrics.backbeat_template(steps_per_bar, bars)
    if kind == "offbeat":
        return metrics.offbeat_template(steps_per_bar, bars)
    if kind == "pulse":
        return metrics.pulse_template(steps_per_bar, bars)
    t = np.zeros(steps_per_bar * bars)
    if kind == "downbeat":
        t[0] = 1.0
    return t


class GrooveReward:
    """Scores patterns of fixed voices over one fixed kick.

    ``score(hits)`` takes hits [shape=(..., V, T)] of 0/1 and returns the groove score [shape=(...)]
    (float for one pattern); ``measures(hits)`` gives the unweighted measures per voice.
    Everything that depends only on the kick is precomputed, so a single-pattern score costs
    tens of microseconds (the environment calls it every step).
    """

    def __init__(self, voices: tuple[str, ...], kick: np.ndarray, *, steps_per_bar: int = 16,
                 prior: StylePrior | None = None, weights: RewardWeights | None = None):
        self.voices = tuple(voices)
        self.kick = (np.asarray(kick) > 0).astype(np.uint8)
        self.steps_per_bar = steps_per_bar
        self.T = len(self.kick)
        self.bars = self.T // steps_per_bar
        self.prior = prior or StylePrior.default()
        self.weights = weights or RewardWeights()
        w = self.weights
        T, bars = self.T, self.bars
        self.levels = metrics.metrical_levels(steps_per_bar, bars)
        self._lhl = metrics.LHLScorer(self.levels)
        self.kick_sign = np.where(self.kick > 0, -1.0, 1.0)
        self.comp_w = np.array([VOICE_ROLES.get(v, (0.5, "none"))[0] for v in self.voices])
        self.templates = np.stack([voice_template(v, steps_per_bar, bars) for v in self.voices])
        self.logodds = np.stack([self.prior.log_odds(v, self.kick, steps_per_bar=steps_per_bar)
                                 for v in self.voices])
        # Per-step linear part of the score [shape=(V, T)].
        self.linear = (w.complementarity * self.comp_w[:, None] * self.kick_sign[None, :]
                       + w.metrical * self.templates + w.style * self.logodds) / T
        self.d_target = np.array([self.prior.density[v] for v in self.voices])
        self.s_target = np.array([self.prior.syncopation[v] for v in self.voices])
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
                "complementarity": metrics.complementarity(h[i], self.kick),
                "metrical": metrics.metrical_weight(h[i], self.templates[i]),
                "style": float((h[i] * self.logodds[i]).sum() / self.T),
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
            total -= w.complementarity * CHOKE_PENALTY * (hf[..., a, :] * hf[..., b, :]).mean(axis=-1)
        return total

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
            total -= w.complementarity * CHOKE_PENALTY * float((h[a] * h[b]).sum()) / self.T
        return total


def all_patterns(steps: int) -> np.ndarray:
    """Every binary pattern of ``steps`` steps, uint8 [shape=(2**steps, steps)] (steps <= 20)."""
    if steps > 20:
        raise ValueError(f"steps={steps}: too many to enumerate")
    idx = np.arange(2 ** steps, dtype=np.int64)
    return ((idx[:, None] >> np.arange(steps)) & 1).astype(np.uint8)


def exhaustive_optimum(reward: GrooveReward) -> tuple[np.ndarray, float]:
    """Best one-voice pattern by scoring all 2^T patterns: (hits [shape=(1, T)], score)."""
    if len(reward.voices) != 1:
        raise ValueError("exhaustive search is for one voice")
    pats = all_patterns(reward.T)[:, None, :]
    scores = reward.score(pats)
    best = int(np.argmax(scores))
    return pats[best], float(scores[best])
