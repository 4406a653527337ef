"""The knobs a listening session turns: every effect parameter and track gain of a project, each
mapped to [0, 1] so the preference model sees one unit cube.

A knob is named ``TRACK:EFFECT.PARAM`` (``Bass:lowpass.cutoff_hz``; a second effect of the same
kind on a track is ``lowpass2``) or ``TRACK:gain_db``. ``--params`` takes comma-separated names or
shell-style patterns (``Bass:*``, ``*:reverb.wet``).

Scales. A parameter whose range spans a factor of 10 or more above zero (frequencies, times, Q,
ratio) moves on a log scale, as the ear hears it: a step of 0.1 is the same musical interval at
40 Hz and at 4 kHz. The others are linear. Track gain moves within +-12 dB of the project's own
value (clipped to the project model's track-gain range): a full -96..24 dB range would spend most
of the listener's answers on inaudible or clipping versions.
"""
from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, replace

import numpy as np

from producer.effects import EFFECTS
from producer.errors import InputError
from producer.project import Project

# Track gain: how far the session may move it from the project's value (dB), and the limits the
# project model accepts (producer/project.py validates track gain_db in this range).
GAIN_SPAN_DB = 12.0
TRACK_GAIN_LIMITS_DB = (-96.0, 24.0)
# A range spanning at least this factor (above zero) is searched on a log scale.
LOG_RATIO = 10.0


@dataclass(frozen=True)
class Knob:
    """One tuned value. ``track``: index in project.tracks; ``effect``: index in that track's
    chain, or None for the track gain; ``param``: the effect parameter (or "gain_db")."""

    name: str
    track: int
    effect: int | None
    param: str
    low: float
    high: float
    log: bool
    unit: str = ""

    def to_unit(self, value: float) -> float:
        """Real value -> [0, 1]."""
        if self.log:
            u = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            u = (value - self.low) / (self.high - self.low)
        return min(1.0, max(0.0, u))

    def from_unit(self, u: float) -> float:
        """[0, 1] -> real value, rounded to 4 significant digits (what a project file shows)."""
        u = min(1.0, max(0.0, float(u)))
        v = self.low * (self.high / self.low) ** u if self.log else self.low + u * (self.high - self.low)
        v = float(f"{v:.4g}")
        return min(self.high, max(self.low, v))

    def to_dict(self) -> dict:
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log, "unit": self.unit}


def _effect_labels(track) -> list[str]:
    """``reverb``, ``reverb2``, ... per effect in the chain."""
    seen: dict[str, int] = {}
    labels = []
    for e in track.effects:
        seen[e.kind] = seen.get(e.kind, 0) + 1
        labels.append(e.kind if seen[e.kind] == 1 else f"{e.kind}{seen[e.kind]}")
    return labels


def all_knobs(project: Project) -> list[Knob]:
    """Every effect parameter and track gain of ``project``, in track and chain order."""
    knobs = []
    for ti, track in enumerate(project.tracks):
        g_low = max(TRACK_GAIN_LIMITS_DB[0], track.gain_db - GAIN_SPAN_DB)
        g_high = min(TRACK_GAIN_LIMITS_DB[1], track.gain_db + GAIN_SPAN_DB)
        knobs.append(Knob(f"{track.name}:gain_db", ti, None, "gain_db", g_low, g_high, False, "dB"))
        for ei, (effect, label) in enumerate(zip(track.effects, _effect_labels(track))):
            for p in EFFECTS[effect.kind].params:
                log = p.low > 0 and p.high / p.low >= LOG_RATIO
                knobs.append(Knob(f"{track.name}:{label}.{p.name}", ti, ei, p.name, p.low, p.high, log, p.unit))
    return knobs


def select_knobs(project: Project, patterns: str | None) -> list[Knob]:
    """The knobs named by ``patterns`` (comma-separated names or globs; None: all of them).

    Raises InputError naming a pattern that matches nothing, or when nothing is left to tune."""
    knobs = all_knobs(project)
    if patterns is not None:
        wanted = [p.strip() for p in patterns.split(",") if p.strip()]
        if not wanted:
            raise InputError("--params: no parameter named")
        chosen = set()
        for pattern in wanted:
            hits = [k.name for k in knobs if fnmatch.fnmatchcase(k.name, pattern)]
            if not hits:
                names = ", ".join(k.name for k in knobs[:12]) + (", ..." if len(knobs) > 12 else "")
                raise InputError(f"--params: {pattern!r} matches no parameter of the project (they are: {names})")
            chosen.update(hits)
        knobs = [k for k in knobs if k.name in chosen]
    if not knobs:
        raise InputError("the project has no track to tune (no tracks)")
    return knobs


def current_unit(project: Project, knobs: list[Knob]) -> np.ndarray:
    """The project's own setting as a point of the unit cube [shape=(len(knobs),)]."""
    return np.array([k.to_unit(_value(project, k)) for k in knobs], dtype=np.float64)


def _value(project: Project, knob: Knob) -> float:
    track = project.tracks[knob.track]
    if knob.effect is None:
        return track.gain_db
    return track.effects[knob.effect].value(knob.param)


def real_values(knobs: list[Knob], x: np.ndarray) -> dict[str, float]:
    """Unit-cube point -> {knob name: real value}."""
    return {k.name: k.from_unit(u) for k, u in zip(knobs, x)}


def apply_unit(project: Project, knobs: list[Knob], x: np.ndarray) -> Project:
    """``project`` with every knob set from the unit-cube point ``x`` [shape=(len(knobs),)]."""
    tracks = list(project.tracks)
    for knob, u in zip(knobs, x):
        track = tracks[knob.track]
        value = knob.from_unit(u)
        if knob.effect is None:
            track = replace(track, gain_db=value)
        else:
            effects = list(track.effects)
            effects[knob.effect] = effects[knob.effect].with_param(knob.param, value)
            track = replace(track, effects=tuple(effects))
        tracks[knob.track] = track
    return replace(project, tracks=tuple(tracks))


def passage(project: Project, seconds: float) -> Project:
    """The project's first ``seconds``: clips starting later are dropped and holds are cut at the
    end, so a long song renders only what the listener hears (effect tails ring out after it)."""
    tracks = []
    for track in project.tracks:
        clips = tuple(replace(c, hold=min(c.hold, seconds - c.start)) for c in track.clips
                      if c.start < seconds - 1e-3)
        tracks.append(replace(track, clips=clips))
    return replace(project, tracks=tuple(tracks))
