"""The learned style: where each voice plays in a family's grooves, given the kick and the meter.

Fitted by counting over the training grooves of the corpus (:mod:`producer.drums.corpus`, main
grooves of the style files not held out). For a family f, a meter m and a voice v:

* ``usage[v]``: share of the family's grooves that play the voice at all;
* ``p[v, s, c]``: P(v hits step s | f, m, v is played, kick context c), with
  c = 4 kick[s] + 2 kick[s-1] + kick[s+1] (the kick at the step and its neighbours, cyclic);
  counts are smoothed towards P(v at s | f, m), which is smoothed towards the meter's pool of
  all families, which is smoothed towards the voice's overall rate (additive pseudo-counts);
* ``velocity[v, s]``: mean MIDI velocity of its hits (accents high, ghost notes low);
* ``density[v]``, ``syncopation[v]``: hits per step and LHL syncopation per bar of kick + voice;
* ``kick[s]``: P(kick at s), used to pick the family whose kicks best match a given kick.

The hit probability the reward uses (:meth:`StyleModel.prob`) is a kernel-weighted vote of the
training bars of the meter that play the voice: bar j weighs
``exp(-hamming(kick, kick_j) / KNN_TAU)``, times ``KNN_FAMILY`` when it comes from the asked
family, and the vote is smoothed towards the family's per-step rate with ``KNN_PRIOR``
pseudo-bars. The kick as a whole tells which kind of groove it is (a jive kick finds jive
snares), which the per-step counts cannot. A step is worth playing when its probability
passes ``HIT_THRESHOLD`` (F1 rewards recall more than a 0.5 cut does). KNN_TAU, KNN_FAMILY and
HIT_THRESHOLD were chosen by 4-fold cross-validation over the training style files alone, never
on the held-out files (``bench/bench_drums.py --cv``): counting every bar of the folds' files,
snare step F1 0.67 against 0.57 for the per-step counts and 0.61 for a backbeat template;
counting each file's distinct bars once (a fairer weighting, noticed only later) 0.62 / 0.59 /
0.65, so on that count the template is ahead for the snare (hi-hat 0.72 against 0.71).

The fill model pools the fill grooves of all families of a meter: P(voice at step) for snare,
toms and crash over a bar. Fitting takes well under a second, so the model is built from the
committed corpus when first used and kept in memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer.drums.corpus import METER_DIVISIONS, METERS, Groove, load_corpus, split
from producer.drums.metrics import lhl_syncopation, metrical_levels
from producer.errors import InputError

# Voices the style model learns; the first four are chosen step by step by the policy.
POLICY_VOICES = ("snare", "hihat_closed", "hihat_open", "ride")
FILL_VOICES = ("snare", "tom_high", "tom_mid", "tom_low", "crash")
LEARNED_VOICES = POLICY_VOICES + ("rim", "clap", "crash", "tom_high", "tom_mid", "tom_low")
N_CONTEXTS = 8
# Pseudo-counts of the three smoothing levels (voice rate -> meter pool -> family -> kick context).
SMOOTH_POOL, SMOOTH_FAMILY, SMOOTH_CONTEXT = 2.0, 4.0, 3.0
KNN_TAU, KNN_FAMILY, KNN_PRIOR = 1.5, 2.0, 1.0
HIT_THRESHOLD = 0.35


def kick_context(kick: np.ndarray) -> np.ndarray:
    """Context index [shape=(..., T)] in 0..7 of every step of kick bars [shape=(..., T)] 0/1."""
    k = (np.asarray(kick) > 0).astype(np.int64)
    return 4 * k + 2 * np.roll(k, 1, axis=-1) + np.roll(k, -1, axis=-1)


@dataclass
class FamilyStyle:
    """The learned style of one family in one meter (arrays over voices in LEARNED_VOICES order)."""

    family: str
    meter: str
    steps_per_bar: int
    usage: np.ndarray       # [V]
    p: np.ndarray           # [V, T, 8]
    p_step: np.ndarray      # [V, T] not conditioned on the kick
    velocity: np.ndarray    # [V, T]
    density: np.ndarray     # [V]
    syncopation: np.ndarray  # [V]
    kick: np.ndarray        # [T]
    n_grooves: int
    n_bars: int

    def index(self, voice: str) -> int:
        return LEARNED_VOICES.index(voice)

    def prob(self, voice: str, kick_bar: np.ndarray) -> np.ndarray:
        """P(voice hits each step | kick bar [shape=(T,)], voice played) -> [shape=(T,)]."""
        ctx = kick_context(kick_bar)
        return self.p[self.index(voice), np.arange(len(ctx)), ctx]

    def log_odds(self, voice: str, kick_bar: np.ndarray) -> np.ndarray:
        p = np.clip(self.prob(voice, kick_bar), 0.01, 0.99)
        return np.log(p) - np.log1p(-p)

    def kick_log_likelihood(self, kick_bars: np.ndarray) -> float:
        """Mean log-likelihood per bar of kick bars [shape=(bars, T)] under the family's kicks."""
        k = (np.asarray(kick_bars) > 0)
        p = np.clip(self.kick, 0.02, 0.98)
        return float(np.where(k, np.log(p), np.log1p(-p)).sum(-1).mean())


def _voice_rows(grooves: list[Groove], voice: str, T: int):
    """(hits [n, T], velocities [n, T], kicks [n, T]) of every bar of grooves that play voice."""
    hits, vels, kicks = [], [], []
    for g in grooves:
        if not any(voice in bar for bar in g.bars):
            continue
        for bar in g.bars:
            if "kick" not in bar:
                continue
            row = bar.get(voice, np.zeros(T, np.uint8)).astype(float)
            hits.append(row > 0)
            vels.append(row)
            kicks.append(bar["kick"] > 0)
    if not hits:
        z = np.zeros((0, T))
        return z, z, z
    return np.array(hits, float), np.array(vels, float), np.array(kicks, float)


class StyleModel:
    """All families and meters of the training corpus; see the module docstring."""

    def __init__(self, grooves: list[Groove]):
        self.grooves = [g for g in grooves if g.kind == "main"]
        self.fills = [g for g in grooves if g.kind == "fill"]
        self.styles: dict[tuple[str, str], FamilyStyle] = {}
        self.fill_p: dict[str, np.ndarray] = {}
        for meter, (T, _) in METERS.items():
            in_meter = [g for g in self.grooves if g.meter == meter]
            if not in_meter:
                continue
            pool = self._pool(in_meter, T)
            for fam in sorted({g.family for g in in_meter}):
                mine = [g for g in in_meter if g.family == fam]
                self.styles[(fam, meter)] = self._fit(fam, meter, mine, pool, T)
            fills = [g for g in self.fills if g.meter == meter]
            self.fill_p[meter] = self._fit_fills(fills, T)
        # Kernel vote index: per (meter, voice) the kicks [n, T], hits [n, T] and family of every
        # training bar whose groove plays the voice.
        self._bars: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for meter, (T, _) in METERS.items():
            for v in LEARNED_VOICES:
                rows = [(bar["kick"] > 0, bar.get(v, np.zeros(T, np.uint8)) > 0, g.family)
                        for g in self.grooves if g.meter == meter
                        and any(v in b for b in g.bars) for bar in g.bars if "kick" in bar]
                if rows:
                    self._bars[(meter, v)] = (np.array([r[0] for r in rows]),
                                              np.array([r[1] for r in rows], float),
                                              np.array([r[2] for r in rows]))

    @classmethod
    def from_corpus(cls) -> "StyleModel":
        """The model of the shipped corpus's training split (held-out style files excluded)."""
        train, _ = split(load_corpus())
        return cls(train)

    # ---- fitting ----------------------------------------------------------------------------
    @staticmethod
    def _pool(grooves: list[Groove], T: int) -> dict:
        pool = {}
        for v in LEARNED_VOICES:
            h, vel, k = _voice_rows(grooves, v, T)
            rate = (h.sum() + 1.0) / (h.size + 2.0)
            p_step = (h.sum(0) + SMOOTH_POOL * rate) / (len(h) + SMOOTH_POOL)
            mean_vel = vel[h > 0].mean() if (h > 0).any() else 90.0
            v_step = (vel.sum(0) + 2.0 * mean_vel) / (h.sum(0) + 2.0)
            pool[v] = (p_step, v_step)
        k = np.array([bar["kick"] > 0 for g in grooves for bar in g.bars if "kick" in bar], float)
        pool["kick"] = ((k.sum(0) + 1.0) / (len(k) + 2.0), None)
        return pool

    @staticmethod
    def _fit(fam: str, meter: str, grooves: list[Groove], pool: dict, T: int) -> FamilyStyle:
        V = len(LEARNED_VOICES)
        usage, density, sync = np.zeros(V), np.zeros(V), np.zeros(V)
        p = np.zeros((V, T, N_CONTEXTS))
        p_step, velocity = np.zeros((V, T)), np.zeros((V, T))
        levels = metrical_levels(T, 1, METER_DIVISIONS[meter])
        for i, v in enumerate(LEARNED_VOICES):
            usage[i] = np.mean([any(v in bar for bar in g.bars) for g in grooves])
            h, vel, k = _voice_rows(grooves, v, T)
            pool_p, pool_v = pool[v]
            ps = (h.sum(0) + SMOOTH_FAMILY * pool_p) / (len(h) + SMOOTH_FAMILY)
            p_step[i] = ps
            velocity[i] = (vel.sum(0) + 2.0 * pool_v) / (h.sum(0) + 2.0)
            ctx = kick_context(k) if len(k) else np.zeros((0, T), np.int64)
            for c in range(N_CONTEXTS):
                m = (ctx == c)
                p[i, :, c] = ((h * m).sum(0) + SMOOTH_CONTEXT * ps) / (m.sum(0) + SMOOTH_CONTEXT)
            if len(h):
                density[i] = h.mean()
                sync[i] = float(np.mean(lhl_syncopation(np.maximum(h, k), levels)))
            else:
                density[i] = float(pool_p.mean())
        kb = np.array([bar["kick"] > 0 for g in grooves for bar in g.bars if "kick" in bar], float)
        kick = (kb.sum(0) + 2.0 * pool["kick"][0]) / (len(kb) + 2.0)
        return FamilyStyle(family=fam, meter=meter, steps_per_bar=T, usage=usage, p=p,
                           p_step=p_step, velocity=velocity, density=density, syncopation=sync,
                           kick=kick, n_grooves=len(grooves), n_bars=len(kb))

    @staticmethod
    def _fit_fills(fills: list[Groove], T: int) -> np.ndarray:
        """P(voice at step) [shape=(len(FILL_VOICES), T)] over the fill bars of a meter."""
        bars = [bar for g in fills for bar in g.bars]
        out = np.zeros((len(FILL_VOICES), T))
        for i, v in enumerate(FILL_VOICES):
            h = np.array([bar[v] > 0 if v in bar else np.zeros(T, bool) for bar in bars], float)
            out[i] = (h.sum(0) + 0.5 * (0.3 if v == "snare" else 0.1)) / (len(h) + 0.5) \
                if len(h) else np.full(T, 0.3 if v == "snare" else 0.1)
        return out

    # ---- queries ----------------------------------------------------------------------------
    def families(self, meter: str | None = None) -> list[str]:
        return sorted({f for f, m in self.styles if meter is None or m == meter})

    def meters(self, family: str) -> list[str]:
        return [m for m in METERS if (family, m) in self.styles]

    def get(self, family: str, meter: str) -> FamilyStyle:
        """The style of ``family`` in ``meter``; InputError (one line) when there is none."""
        if meter not in METERS:
            raise InputError(f"--meter {meter}: not supported (choose from {', '.join(METERS)})")
        if family not in self.families():
            raise InputError(f"--style {family}: unknown style (choose from "
                             f"{', '.join(self.families())})")
        if (family, meter) not in self.styles:
            raise InputError(f"--style {family} --meter {meter}: the corpus has no {family} "
                             f"grooves in {meter} (it has {', '.join(self.meters(family))})")
        return self.styles[(family, meter)]

    def prob(self, family: str, meter: str, voice: str, kick_bar: np.ndarray) -> np.ndarray:
        """P(voice hits each step | family, meter, kick bar [shape=(T,)], voice played) [shape=(T,)]
        (the kernel vote of the module docstring)."""
        st = self.get(family, meter)
        prior = st.p_step[st.index(voice)]
        if (meter, voice) not in self._bars:
            return prior.copy()
        K, H, F = self._bars[(meter, voice)]
        k = np.asarray(kick_bar) > 0
        w = np.exp(-(K != k).sum(1) / KNN_TAU) * np.where(F == family, KNN_FAMILY, 1.0)
        return ((w[:, None] * H).sum(0) + KNN_PRIOR * prior) / (w.sum() + KNN_PRIOR)

    def logits(self, family: str, meter: str, voices, kick_bar: np.ndarray) -> np.ndarray:
        """Style term per step [shape=(V, T)]: logit(p) - logit(HIT_THRESHOLD), clipped to +-4;
        positive where the voice is worth playing."""
        off = np.log(HIT_THRESHOLD / (1 - HIT_THRESHOLD))
        out = []
        for v in voices:
            p = np.clip(self.prob(family, meter, v, kick_bar), 0.01, 0.99)
            out.append(np.clip(np.log(p / (1 - p)) - off, -4.0, 4.0))
        return np.array(out)

    def terms(self, family: str, meter: str, voices, kick_bar: np.ndarray,
              enabled=None):
        """The reward's StyleTerms for ``voices`` over one kick bar; voices not in ``enabled``
        (default: all) get the lowest style term everywhere, so the policy leaves them out."""
        from producer.drums.reward import StyleTerms

        st = self.get(family, meter)
        logits = self.logits(family, meter, voices, kick_bar)
        dens = np.array([st.density[st.index(v)] for v in voices])
        sync = np.array([st.syncopation[st.index(v)] for v in voices])
        if enabled is not None:
            off = np.array([v not in enabled for v in voices])
            logits[off] = -4.0
            dens[off] = 0.0
        return StyleTerms(logits=logits, density=dens, syncopation=sync)

    def voices_played(self, family: str, meter: str, min_usage: float = 0.3) -> tuple[str, ...]:
        """The policy voices the family plays in at least ``min_usage`` of its grooves."""
        st = self.get(family, meter)
        return tuple(v for v in POLICY_VOICES if st.usage[st.index(v)] >= min_usage)

    def best_family(self, kick_bars: np.ndarray, meter: str) -> str:
        """The family of ``meter`` whose kicks best explain kick bars [shape=(bars, T)]."""
        fams = self.families(meter)
        if not fams:
            raise InputError(f"--meter {meter}: no grooves in this meter")
        scores = [self.styles[(f, meter)].kick_log_likelihood(kick_bars) for f in fams]
        return fams[int(np.argmax(scores))]


_MODEL: StyleModel | None = None


def style_model() -> StyleModel:
    """The shipped model (built from the committed corpus on first use, then cached)."""
    global _MODEL
    if _MODEL is None:
        _MODEL = StyleModel.from_corpus()
    return _MODEL
