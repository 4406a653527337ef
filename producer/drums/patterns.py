"""Drum pattern text: parse and format step grids.

A pattern is ``np.ndarray`` uint8 [shape=(steps,)] of velocity levels: 0 rest, 1 hit, 2 accent.
Text syntax: ``x`` hit, ``X`` accent, ``.`` or ``-`` rest, ``1``/``0`` hit/rest; ``|`` and
spaces are bar-line decoration and ignored. Several bars are simply written one after another.
"""
from __future__ import annotations

import numpy as np

from producer.errors import InputError

REST, HIT, ACCENT = 0, 1, 2
_CHAR_LEVEL = {"x": HIT, "X": ACCENT, "1": HIT, ".": REST, "-": REST, "0": REST}
_IGNORED = set("| \t_")


def parse_pattern(text: str, *, name: str = "--kick") -> np.ndarray:
    """Parse pattern text into levels [shape=(steps,)] uint8 (0 rest, 1 hit, 2 accent).

    Raises InputError naming the bad character and its 1-based position in ``text``,
    e.g. ``--kick "x..y": unexpected 'y' at position 4``.
    """
    levels = []
    for pos, ch in enumerate(text, start=1):
        if ch in _IGNORED:
            continue
        if ch not in _CHAR_LEVEL:
            raise InputError(
                f'{name} "{text}": unexpected {ch!r} at position {pos} '
                "(use x hit, X accent, . or - rest, | bar line, or 1/0)"
            )
        levels.append(_CHAR_LEVEL[ch])
    if not levels:
        raise InputError(f'{name} "{text}": pattern has no steps')
    return np.asarray(levels, dtype=np.uint8)


def fit_bars(pattern: np.ndarray, *, steps_per_bar: int, bars: int | None = None,
             name: str = "--kick") -> np.ndarray:
    """Check that ``pattern`` holds whole bars and repeat it to ``bars`` bars when given.

    A pattern shorter than the requested length is looped (a one-bar kick fills four bars);
    a longer one must already be exactly ``bars`` bars.
    """
    n = len(pattern)
    if steps_per_bar < 1:
        raise InputError(f"--steps-per-bar {steps_per_bar}: must be at least 1")
    if n % steps_per_bar:
        raise InputError(
            f"{name}: {n} steps is not a whole number of {steps_per_bar}-step bars "
            f"(add {steps_per_bar - n % steps_per_bar} steps or change --meter)"
        )
    if bars is None:
        return pattern.copy()
    if bars < 1:
        raise InputError(f"--bars {bars}: must be at least 1")
    have = n // steps_per_bar
    if bars % have and have % bars:
        raise InputError(f"{name}: {have} bars cannot be looped to --bars {bars}")
    if have > bars:
        raise InputError(f"{name}: pattern has {have} bars, more than --bars {bars}")
    return np.tile(pattern, bars // have)


def format_pattern(pattern: np.ndarray, *, steps_per_bar: int | None = None) -> str:
    """Text for levels [shape=(steps,)]: ``x``/``X``/``.``, with ``|`` between bars."""
    chars = ["." if v == REST else ("X" if v >= ACCENT else "x") for v in np.asarray(pattern)]
    if steps_per_bar:
        bars = ["".join(chars[i:i + steps_per_bar]) for i in range(0, len(chars), steps_per_bar)]
        return "|".join(bars)
    return "".join(chars)


def format_grid(rows: dict[str, np.ndarray], *, steps_per_bar: int,
                beat_steps: int | None = None) -> str:
    """A printable grid, one row per voice, name column padded; beat numbers on top
    (a beat is ``beat_steps`` steps, default a quarter of the bar)."""
    width = max(len(k) for k in rows)
    n = len(next(iter(rows.values())))
    beat = beat_steps or max(1, steps_per_bar // 4)
    header = []
    for t in range(n):
        header.append(str((t % steps_per_bar) // beat + 1) if t % beat == 0 else " ")
    head = format_pattern(np.zeros(n, np.uint8), steps_per_bar=steps_per_bar)
    # Put beat numbers where the bar text has step characters, keep the bar separators.
    it = iter(header)
    head = "".join(next(it) if c != "|" else "|" for c in head)
    lines = [f"{'':<{width}}  {head}"]
    for name, row in rows.items():
        lines.append(f"{name:<{width}}  {format_pattern(row, steps_per_bar=steps_per_bar)}")
    return "\n".join(lines)
