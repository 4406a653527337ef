"""The searches: a static chain (CMA-ES, or random search as the baseline at equal renders) and
follow-mode automation on top of it. Computes and returns; writes nothing.

Score of a chain = MR-STFT distance (``features``) of the loudness-matched result to the
reference: the chain renders through ``ChainPlayer``, the track gain that makes its integrated
loudness equal the reference's is solved in closed form (gain follows the chain), and the
distance is taken on that. Loudness error is therefore ~0 LU unless the gain hits its range.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import median_filter

from producer.match.features import (FLOOR_DB, FRAME_HOP, SpectralTarget, centroid_curve, fit_length,
                                     integrated_loudness, loudness_curve)
from producer.match.player import ChainPlayer
from producer.match.space import STAGES, ChainSpace, Stage
from producer.project import TRACK_AUTOMATION, Effect, Track
from producer.render.engine import LINEAR_EFFECTS, pan_gains

GAIN_RANGE = TRACK_AUTOMATION["gain_db"]
# CMA-ES: the share of renders spent on uniform samples first, and the initial step (unit space).
INITIAL_SHARE = 0.2
CMA_SIGMA = 0.2
# Follow mode: breakpoints allowed per second of reference (readable, yet enough for 16th-note hits).
POINTS_PER_SECOND = 24
# A frame this far below the reference's loudest is "silence" there: the gain envelope pulls the
# result down to match, but brightness is not followed.
FOLLOW_RANGE_DB = 45.0
FINE_WINDOW = 0.01  # s
# While solving, the gain may exceed the fader's top; ``fit_fader`` moves the excess onto the clip.
UNBOUNDED_TOP = 60.0


@dataclass
class StaticResult:
    vector: np.ndarray  # the best unit vector found
    effects: tuple[Effect, ...]  # every stage (neutral ones included), as searched
    gain_db: float
    distance: float
    renders: int
    history: list[tuple[int, float]] = field(default_factory=list)  # (renders, best distance so far)
    seconds: float = 0.0


class Scorer:
    """Renders chains of ``space`` over ``dry`` and scores them against ``reference``."""

    def __init__(self, dry: np.ndarray, reference: np.ndarray, sr: int, space: ChainSpace, *, follow: bool = False):
        n = reference.shape[-1]
        # follow: score each chain as it will sound once the gain follows the reference's level
        # (the frame-wise level difference applied before the distance), so the search looks for
        # the colour and leaves the movement to the automation.
        self.follow = follow
        self.ref_levels = loudness_curve(reference, sr, FINE_WINDOW) if follow else None
        self.sr = sr
        self.space = space
        self.reference = reference
        self.target = SpectralTarget(reference)
        self.ref_lufs = integrated_loudness(reference, sr)
        dry = fit_length(np.asarray(dry, dtype=np.float32), n)
        self.player = ChainPlayer(np.stack([dry, dry]) if dry.ndim == 1 else dry, sr, tuple(s.kind for s in space.stages))
        left, right = pan_gains(0.0)
        self.pan = np.array([[left], [right]], dtype=np.float32)

    def gain_for(self, wet: np.ndarray) -> float:
        """Track gain (dB) that brings ``wet`` (before gain, after pan) to the reference's loudness."""
        lufs = integrated_loudness(wet, self.sr)
        if lufs <= FLOOR_DB:
            return 0.0
        return float(np.clip(self.ref_lufs - lufs, *GAIN_RANGE))

    def stem(self, x) -> tuple[np.ndarray, float]:
        """(stem [shape=(2, n)] at the loudness-matching gain, that gain in dB)."""
        wet = self.player.play(self.space.effects(x)) * self.pan
        if self.follow:
            levels = fit_length(loudness_curve(wet, self.sr, FINE_WINDOW), len(self.ref_levels))
            # where the chain is silent (the source ended) no gain can help: leave it at 0 dB
            moving = np.where(levels > FLOOR_DB + 1.0,
                              np.clip(self.ref_levels - levels, GAIN_RANGE[0], UNBOUNDED_TOP), 0.0)
            wet = wet * (10.0 ** (_frame_to_samples(moving, wet.shape[1], self.sr) / 20.0)).astype(np.float32)
        g = self.gain_for(wet)
        return wet * np.float32(10.0 ** (g / 20.0)), g

    def __call__(self, x) -> tuple[float, float]:
        y, g = self.stem(x)
        return self.target.distance(y), g


def search_static(scorer: Scorer, *, renders: int, seed: int, method: str = "cma",
                  deadline: float | None = None) -> StaticResult:
    """Best chain within ``renders`` renders (and before ``deadline``, a time.monotonic() value).
    ``method``: "cma" (``INITIAL_SHARE`` of the renders on uniform samples, then CMA-ES from the
    best of them with step ``CMA_SIGMA``, restarted there if it converges) or "random" (uniform
    samples); both score the neutral chain first, so neither ends worse than it."""
    t0 = time.monotonic()
    space = scorer.space
    x_neutral = space.neutral_vector()
    best = [x_neutral, *scorer(x_neutral)]
    history = [(1, best[1])]
    used = 1

    def consider(x) -> float:
        nonlocal used
        d, g = scorer(x)
        used += 1
        if d < best[1]:
            best[:] = [np.array(x, dtype=np.float64), d, g]
        history.append((used, best[1]))
        return d

    def out_of_budget() -> bool:
        return used >= renders or (deadline is not None and time.monotonic() > deadline)

    if method == "random":
        rng = np.random.default_rng(seed)
        while not out_of_budget():
            consider(rng.random(space.dims))
    elif method == "cma":
        import cma

        # A share of the budget samples the box uniformly (the loss is flat far from a filter's
        # basin and a chain's stages mask each other), then CMA-ES refines from the best point.
        rng = np.random.default_rng(seed)
        for _ in range(int(INITIAL_SHARE * renders)):
            if out_of_budget():
                break
            consider(rng.random(space.dims))
        x0 = np.clip(best[0], 0.02, 0.98)
        es = cma.CMAEvolutionStrategy(x0, CMA_SIGMA, {"bounds": [0.0, 1.0], "seed": seed + 1, "verbose": -9})
        while not out_of_budget():
            if es.stop():  # converged early: restart around the best with the initial step
                es = cma.CMAEvolutionStrategy(np.clip(best[0], 0.02, 0.98), CMA_SIGMA,
                                              {"bounds": [0.0, 1.0], "seed": seed + 1 + used, "verbose": -9})
            xs = es.ask()
            xs = xs[: max(0, renders - used)]
            fs = [consider(np.clip(x, 0.0, 1.0)) for x in xs]
            if len(fs) < es.popsize:
                break
            es.tell(xs, fs)
    else:
        raise ValueError(f"unknown search method {method!r}")
    return StaticResult(vector=best[0], effects=space.effects(best[0]), gain_db=best[2], distance=best[1],
                        renders=used, history=history, seconds=time.monotonic() - t0)


# --- follow mode ---------------------------------------------------------------------------------

def thin(times: np.ndarray, values: np.ndarray, tolerance: float, max_points: int) -> list[tuple[float, float]]:
    """Breakpoints that redraw the curve within ``tolerance`` (Ramer-Douglas-Peucker), the
    tolerance doubled until at most ``max_points`` remain."""
    def rdp(lo: int, hi: int, tol: float, keep: list[int]) -> None:
        stack = [(lo, hi)]
        while stack:
            a, b = stack.pop()
            if b <= a + 1:
                continue
            line = values[a] + (values[b] - values[a]) * (times[a + 1: b] - times[a]) / (times[b] - times[a])
            err = np.abs(values[a + 1: b] - line)
            k = int(np.argmax(err))
            if err[k] > tol:
                keep.append(a + 1 + k)
                stack += [(a, a + 1 + k), (a + 1 + k, b)]

    tol = tolerance
    while True:
        keep = [0, len(times) - 1]
        rdp(0, len(times) - 1, tol, keep)
        if len(keep) <= max_points or tol > 1e6:
            break
        tol *= 1.5
    idx = sorted(set(keep))
    return [(round(float(times[i]), 4), float(values[i])) for i in idx]


def _frame_to_samples(curve: np.ndarray, n: int, sr: int) -> np.ndarray:
    return np.interp(np.arange(n) / sr, np.arange(len(curve)) * FRAME_HOP, curve)


@dataclass
class FollowResult:
    gain_envelope: tuple[tuple[float, float], ...]
    cutoff_envelope: tuple[tuple[float, float], ...] | None  # low-pass cutoff (Hz), when it helped
    distance: float
    renders: int
    clip_gain_db: float = 0.0  # the source clip's gain (raised when the fader's range ran out)


def follow(scorer: Scorer, static: StaticResult, *, renderer, track: Track, iterations: int = 3) -> FollowResult:
    """Automation that makes the static result follow the reference over time: the track gain
    from the frame loudness difference (refined ``iterations`` times against the rendered result,
    gain being after the chain this converges fast), then a low-pass cutoff envelope from the
    spectral-centroid ratio, kept only when it lowers the MR-STFT distance.

    ``track`` is the static result as a track (its chain, gain, the source clip); ``renderer``
    renders it with automation exactly as the project will be rendered.

    Long because the gain envelope, the optional cut-off envelope and the check that
    keeps either only when it lowers the distance share the frame features and renders."""
    sr, ref = scorer.sr, scorer.reference
    n = ref.shape[-1]
    seconds = n / sr
    max_points = max(8, int(POINTS_PER_SECOND * seconds))
    # The gain is solved on a fine level curve (10 ms windows, one a frame): on the 50 ms loudness
    # curve the windows overlap and a frame-by-frame correction overshoots around every attack.
    l_ref = loudness_curve(ref, sr, FINE_WINDOW)
    loud = l_ref > max(float(l_ref.max()) - FOLLOW_RANGE_DB, FLOOR_DB + 1.0)
    wet0 = fit_length(renderer.stem(_with(track, gain_db=0.0), sr), n)  # the chain alone, gain 0
    frames = np.arange(len(l_ref)) * FRAME_HOP
    l_wet = fit_length(loudness_curve(wet0, sr, FINE_WINDOW), len(l_ref))
    renders = 1
    audible = l_wet > FLOOR_DB + 1.0  # where the chain is silent (the source ended) gain cannot help
    gain = np.where(audible, np.clip(l_ref - l_wet, GAIN_RANGE[0], UNBOUNDED_TOP), 0.0)
    points = None
    for _ in range(iterations):
        points = thin(frames, gain, 0.75, max_points)
        curve = _frame_to_samples(np.interp(frames, [t for t, _ in points], [v for _, v in points]), n, sr)
        result = wet0 * (10.0 ** (curve / 20.0)).astype(np.float32)
        l_res = fit_length(loudness_curve(result, sr, FINE_WINDOW), len(l_ref))
        # where the reference is silent, any level down to the floor matches: do not chase it;
        # half steps, as thinning couples neighbouring frames
        err = np.where(audible & (loud | (l_res > FLOOR_DB + 1.0)), l_ref - l_res, 0.0)
        gain = np.clip(gain + 0.5 * err, GAIN_RANGE[0], UNBOUNDED_TOP)
    track, gain_env = fit_fader(track, points)
    best_track = _with(track, automation=(("gain_db", gain_env),))
    best = scorer.target.distance(renderer.stem(best_track, sr))
    renders += 1

    cutoff_env = None
    c_ref = fit_length(centroid_curve(ref, sr), len(l_ref))
    lp_index = next((i for i, e in enumerate(track.effects) if e.kind == "lowpass"), None)
    effects = list(track.effects)
    if lp_index is None:
        effects.append(Effect.make("lowpass", cutoff_hz=20000.0))
        lp_index = len(effects) - 1
    start = effects[lp_index].value("cutoff_hz")
    log_cut = np.full(len(l_ref), math.log(start))
    candidate_track = None
    for _ in range(iterations):
        pts = thin(frames, log_cut, 0.05, max_points)
        env = tuple((t, float(np.clip(math.exp(v), 20.0, 20000.0))) for t, v in pts)
        fx = list(effects)
        fx[lp_index] = Effect.make("lowpass", automation={"cutoff_hz": env}, **dict(effects[lp_index].params))
        candidate_track = _with(best_track, effects=tuple(fx))
        y = fit_length(renderer.stem(candidate_track, sr), n)
        renders += 1
        d = scorer.target.distance(y)
        if d < best:
            best, cutoff_env = d, env
        c_res = fit_length(centroid_curve(y, sr), len(l_ref))
        ok = loud & (c_res > 0) & (c_ref > 0)
        step = np.where(ok, np.log(np.maximum(c_ref, 1.0)) - np.log(np.maximum(c_res, 1.0)), 0.0)
        log_cut = np.clip(median_filter(log_cut + np.clip(step, -1.0, 1.0), size=5, mode="nearest"),
                          math.log(20.0), math.log(20000.0))
    return FollowResult(gain_envelope=gain_env, cutoff_envelope=cutoff_env, distance=best, renders=renders,
                        clip_gain_db=track.clips[0].gain_db)


def fit_fader(track: Track, envelope) -> tuple[Track, tuple[tuple[float, float], ...]]:
    """Bring a gain envelope (dB) within the track gain's range. Peaks may need more than the
    fader's +24 dB (a low-pass that leaves 2 % of white noise's power, then hits 6 dB over the
    average); on a chain of linear effects the excess goes before it, on the source clip's own
    gain, which scales the chain's output exactly. Returns (track with that clip gain, envelope)."""
    top = max(v for _, v in envelope)
    clip = track.clips[0]
    if top > GAIN_RANGE[1] and all(e.kind in LINEAR_EFFECTS for e in track.effects):
        pre = min(top - GAIN_RANGE[1], GAIN_RANGE[1] - clip.gain_db)
        track = _with(track, clips=(_with(clip, gain_db=clip.gain_db + pre),) + track.clips[1:])
        envelope = [(t, v - pre) for t, v in envelope]
    return track, tuple((t, float(np.clip(v, *GAIN_RANGE))) for t, v in envelope)


def _with(track: Track, **changes) -> Track:
    from dataclasses import replace

    return replace(track, **changes)
