"""The chains the matcher searches: a fixed-order template of effect stages from the project's own
vocabulary, every searched parameter mapped from [0, 1] (log scale for frequencies, times and
ratios), and a neutral setting per stage (the stage is then left out of the written chain).

Order (the usual channel-strip order): high-pass, low shelf, peak, high shelf, low-pass,
compressor, distortion, reverb. Parameters not searched keep the vocabulary's defaults (filter
Q, reverb dry/width). Track gain is not searched: it is solved after every render so the result's
integrated loudness equals the reference's (gain is applied after the chain, so this is exact).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from producer.errors import InputError
from producer.project import Effect


@dataclass(frozen=True)
class Knob:
    """One searched parameter: [0, 1] -> [low, high], logarithmically when ``log``."""

    param: str
    low: float
    high: float
    log: bool = False

    def value(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return float(min(max(v, self.low), self.high))  # exp(log(x)) may land a hair outside

    def unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Stage:
    kind: str
    knobs: tuple[Knob, ...]
    neutral: dict  # param -> value at which the stage does (next to) nothing
    fixed: tuple[tuple[str, float], ...] = ()

    def effect(self, units) -> Effect:
        params = dict(self.fixed)
        params.update({k.param: k.value(u) for k, u in zip(self.knobs, units)})
        return Effect.make(self.kind, **params)

    def is_neutral(self, effect: Effect, tolerance: float = 0.02) -> bool:
        """Whether ``effect`` sits within ``tolerance`` (in knob units) of the neutral setting."""
        for k in self.knobs:
            if k.param in self.neutral and abs(k.unit(effect.value(k.param)) - k.unit(self.neutral[k.param])) > tolerance:
                return False
        return True


STAGES: tuple[Stage, ...] = (
    Stage("highpass", (Knob("cutoff_hz", 20.0, 2000.0, True),), {"cutoff_hz": 20.0}),
    Stage("low_shelf", (Knob("freq_hz", 40.0, 500.0, True), Knob("gain_db", -18.0, 18.0)), {"gain_db": 0.0}),
    Stage("peak", (Knob("freq_hz", 100.0, 10000.0, True), Knob("gain_db", -18.0, 18.0), Knob("q", 0.3, 5.0, True)),
          {"gain_db": 0.0}),
    Stage("high_shelf", (Knob("freq_hz", 1000.0, 12000.0, True), Knob("gain_db", -18.0, 18.0)), {"gain_db": 0.0}),
    Stage("lowpass", (Knob("cutoff_hz", 500.0, 20000.0, True),), {"cutoff_hz": 20000.0}),
    Stage("compressor", (Knob("threshold_db", -50.0, 0.0), Knob("ratio", 1.0, 20.0, True),
                         Knob("attack_ms", 0.5, 100.0, True), Knob("release_ms", 20.0, 1000.0, True)),
          {"ratio": 1.0}),
    Stage("distortion", (Knob("drive", 0.0, 1.0), Knob("mix", 0.0, 1.0)), {"mix": 0.0}),
    Stage("reverb", (Knob("room_size", 0.0, 1.0), Knob("damping", 0.0, 1.0), Knob("wet", 0.0, 0.8)), {"wet": 0.0}),
)
STAGE_KINDS = tuple(s.kind for s in STAGES)


def choose_stages(text: str | None) -> tuple[Stage, ...]:
    """``"lowpass,reverb"`` -> those stages in template order; None or "all" -> every stage.
    Raises InputError naming an unknown effect."""
    if text is None or text.strip().lower() == "all":
        return STAGES
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"--effects: no effect named (choose from {', '.join(STAGE_KINDS)})")
    for n in names:
        if n not in STAGE_KINDS:
            raise InputError(f"--effects: unknown effect {n!r} (the matcher's effects: {', '.join(STAGE_KINDS)})")
    return tuple(s for s in STAGES if s.kind in names)


class ChainSpace:
    """Vectors in [0, 1]^dims <-> effect chains of ``stages``."""

    def __init__(self, stages: tuple[Stage, ...] = STAGES):
        self.stages = tuple(stages)
        self.dims = sum(len(s.knobs) for s in self.stages)

    def split(self, x) -> list[np.ndarray]:
        out, i = [], 0
        for s in self.stages:
            out.append(np.asarray(x[i: i + len(s.knobs)], dtype=np.float64))
            i += len(s.knobs)
        return out

    def effects(self, x) -> tuple[Effect, ...]:
        """Every stage's effect (neutral ones included): what the search renders."""
        return tuple(s.effect(u) for s, u in zip(self.stages, self.split(x)))

    def neutral_vector(self) -> np.ndarray:
        """The vector of every stage at neutral (searched parameters without a neutral value at
        the middle of their range)."""
        out = []
        for s in self.stages:
            out += [k.unit(s.neutral[k.param]) if k.param in s.neutral else 0.5 for k in s.knobs]
        return np.array(out)

    def vector(self, effects: tuple[Effect, ...]) -> np.ndarray:
        """The unit vector of a chain of these stages' kinds (missing stages at neutral)."""
        by_kind = {e.kind: e for e in effects}
        x = self.neutral_vector()
        i = 0
        for s in self.stages:
            if s.kind in by_kind:
                for j, k in enumerate(s.knobs):
                    x[i + j] = k.unit(by_kind[s.kind].value(k.param))
            i += len(s.knobs)
        return x

    def active_mask(self, effects: tuple[Effect, ...]) -> np.ndarray:
        """True for the knobs of the stages present in ``effects``."""
        kinds = {e.kind for e in effects}
        return np.array([s.kind in kinds for s in self.stages for _ in s.knobs])

    def written_chain(self, x) -> tuple[Effect, ...]:
        """The chain as written into the project: neutral stages left out."""
        return tuple(e for s, e in zip(self.stages, self.effects(x)) if not s.is_neutral(e))
