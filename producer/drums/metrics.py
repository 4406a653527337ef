"""Rhythm measures on binary step grids.

Every function takes hits as an array [shape=(..., steps)] of 0/1 (any leading batch shape, so
all 2^16 one-bar patterns can be scored at once) and returns an array [shape=(...)] (a float for
a single pattern). Steps are equal subdivisions of bars; ``steps_per_bar`` says how many.
"""
from __future__ import annotations

import numpy as np


def _bar_divisions(steps_per_bar: int) -> list[int]:
    """Metrical hierarchy of one bar, top down: 16 -> [2, 2, 2, 2], 12 -> [2, 2, 3]."""
    out, n = [], steps_per_bar
    # Binary levels first (half bar, beat, ...) and ternary ones last: 12 steps are 4 beats of
    # triplets, so 2, 2, 3 rather than 3, 2, 2.
    for p in (2, 3, 5, 7):
        while n % p == 0:
            out.append(p)
            n //= p
    if n > 1:
        out.append(n)
    return out


def metrical_levels(steps_per_bar: int = 16, bars: int = 1,
                    divisions: list[int] | tuple[int, ...] | None = None) -> np.ndarray:
    """Longuet-Higgins & Lee metrical weights [shape=(steps_per_bar * bars,)] int.

    0 on the bar's downbeat, -1 on the next level (half bar), down to -depth on the finest
    subdivision. For 16 steps: [0 -4 -3 -4 -2 -4 -3 -4 -1 -4 -3 -4 -2 -4 -3 -4].
    ``divisions`` (top down, product = steps_per_bar) names the meter's hierarchy, e.g. 3/4 on 12
    steps is (3, 2, 2) and 6/8 is (2, 3, 2); the default guesses binary levels first.
    """
    levels = np.zeros(steps_per_bar, dtype=np.int64)
    span = steps_per_bar
    depth = 0
    divs = list(divisions) if divisions else _bar_divisions(steps_per_bar)
    if int(np.prod(divs)) != steps_per_bar:
        raise ValueError(f"divisions {divs} do not multiply to {steps_per_bar}")
    for div in divs:
        span //= div
        depth += 1
        idx = np.arange(steps_per_bar)
        newly = (idx % span == 0) & (levels == 0) & (idx != 0)
        levels[newly] = -depth
    levels[(levels == 0) & (np.arange(steps_per_bar) != 0)] = -depth  # not reached; safety
    return np.tile(levels, bars)


def _gap_max_table(levels: np.ndarray) -> np.ndarray:
    """table[i, d] = max weight strictly between step i and step i+d (cyclic), -inf for d <= 1."""
    n = len(levels)
    table = np.full((n, n + 1), -np.inf)
    for i in range(n):
        run = -np.inf
        for d in range(1, n + 1):
            table[i, d] = run
            run = max(run, levels[(i + d) % n])
    return table


def lhl_syncopation(hits: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Longuet-Higgins & Lee (1984) syncopation of a looped pattern, in weight units (>= 0).

    As formalised by Fitch & Rosenfeld (2007): a note at step i whose next note is at j
    (wrapping round the loop) syncopates when a silent step between them carries a higher
    metrical weight; it adds ``max(weight in (i, j)) - weight(i)``. Son clave 3-2 over one bar of
    16 steps scores 4; four-on-the-floor scores 0; a lone backbeat (steps 4, 12) scores 3.
    """
    h = np.asarray(hits).astype(bool)
    n = h.shape[-1]
    lev = np.asarray(levels, dtype=float)
    flat = h.reshape(-1, n)
    total = np.zeros(flat.shape[0])
    for i in range(n):
        onset = flat[:, i]
        if not onset.any():
            continue
        open_ = onset.copy()  # rows whose note at i has not yet met its successor
        run = np.full(flat.shape[0], -np.inf)
        for d in range(1, n + 1):
            pos = (i + d) % n
            stop = open_ & flat[:, pos]
            if stop.any():
                total[stop] += np.maximum(run[stop] - lev[i], 0.0)
                open_ &= ~stop
                if not open_.any():
                    break
            run = np.maximum(run, lev[pos])
    out = total.reshape(h.shape[:-1])
    return float(out) if out.ndim == 0 else out


class LHLScorer:
    """Fast single-pattern LHL syncopation for the environment's inner loop (same values as
    :func:`lhl_syncopation`, via a precomputed gap-maximum table)."""

    def __init__(self, levels: np.ndarray):
        self.levels = np.asarray(levels, dtype=float)
        self.table = _gap_max_table(self.levels)
        self.n = len(levels)

    def __call__(self, hits: np.ndarray) -> float:
        on = np.flatnonzero(hits)
        if len(on) == 0:
            return 0.0
        total = 0.0
        nxt = np.roll(on, -1)
        gaps = (nxt - on) % self.n
        gaps[gaps == 0] = self.n  # a single note is its own successor one loop later
        lev = self.levels
        for i, d in zip(on.tolist(), gaps.tolist()):
            s = self.table[i, d] - lev[i]
            if s > 0:
                total += s
        return total


def density(hits: np.ndarray) -> np.ndarray:
    """Fraction of steps that hold a hit, in [0, 1]."""
    h = np.asarray(hits, dtype=float)
    out = h.mean(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def complementarity(hits: np.ndarray, kick: np.ndarray) -> np.ndarray:
    """(hits where the kick is silent - hits on the kick) / steps, in [-1, 1].

    A backbeat snare (steps 4, 12) over four-on-the-floor scores -2/16; over a rock kick
    (steps 0, 8) +2/16.
    """
    h = np.asarray(hits, dtype=float)
    k = np.asarray(kick).astype(bool)
    sign = np.where(k, -1.0, 1.0)
    out = (h * sign).sum(axis=-1) / h.shape[-1]
    return float(out) if np.ndim(out) == 0 else out


def metrical_weight(hits: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Mean over steps of hits x a per-step template (e.g. +1 on the backbeat), shape (...)."""
    h = np.asarray(hits, dtype=float)
    out = (h * np.asarray(template, dtype=float)).sum(axis=-1) / h.shape[-1]
    return float(out) if np.ndim(out) == 0 else out


def backbeat_template(steps_per_bar: int = 16, bars: int = 1) -> np.ndarray:
    """+1 on beats 2 and 4, -0.5 on beats 1 and 3 (where the kick lives), 0 elsewhere."""
    t = np.zeros(steps_per_bar)
    beat = steps_per_bar // 4
    if beat >= 1 and steps_per_bar % 4 == 0:
        t[[beat, 3 * beat]] = 1.0
        t[[0, 2 * beat]] = -0.5
    return np.tile(t, bars)


def offbeat_template(steps_per_bar: int = 16, bars: int = 1) -> np.ndarray:
    """+1 on the off-beat eighths ("and"s: steps 2, 6, 10, 14 of 16), 0 elsewhere."""
    t = np.zeros(steps_per_bar)
    beat = steps_per_bar // 4
    if beat >= 2 and beat % 2 == 0:
        t[beat // 2::beat] = 1.0
    return np.tile(t, bars)


def pulse_template(steps_per_bar: int = 16, bars: int = 1,
                   divisions: list[int] | tuple[int, ...] | None = None) -> np.ndarray:
    """Normalised metrical strength in [0, 1]: 1 on the downbeat, 0 on the finest subdivision."""
    lev = metrical_levels(steps_per_bar, 1, divisions).astype(float)
    depth = -lev.min() if lev.min() < 0 else 1.0
    return np.tile(1.0 + lev / depth, bars)
