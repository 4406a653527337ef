"""The one effect vocabulary: every effect a track can carry, its parameters and their ranges.

Plain data (no DawDreamer import), shared by the project model (validation), the renderer
(``producer.render.effects`` builds the processors), the planner, the matcher and the exporters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    name: str
    low: float
    high: float
    default: float
    unit: str = ""


@dataclass(frozen=True)
class EffectSpec:
    kind: str
    params: tuple[Param, ...]
    tail_seconds: float = 0.0  # how long the effect may ring after its input stops
    description: str = ""

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


_Q = Param("q", 0.1, 10.0, 0.707)

EFFECTS: dict[str, EffectSpec] = {
    s.kind: s
    for s in (
        EffectSpec("lowpass", (Param("cutoff_hz", 20.0, 20000.0, 8000.0, "Hz"), _Q),
                   description="12 dB/oct low-pass filter"),
        EffectSpec("highpass", (Param("cutoff_hz", 20.0, 20000.0, 100.0, "Hz"), _Q),
                   description="12 dB/oct high-pass filter"),
        EffectSpec("peak", (Param("freq_hz", 20.0, 20000.0, 1000.0, "Hz"),
                            Param("gain_db", -24.0, 24.0, 0.0, "dB"), Param("q", 0.1, 10.0, 1.0)),
                   description="peaking EQ band"),
        EffectSpec("low_shelf", (Param("freq_hz", 20.0, 20000.0, 200.0, "Hz"),
                                 Param("gain_db", -24.0, 24.0, 0.0, "dB"), _Q),
                   description="low-shelf EQ"),
        EffectSpec("high_shelf", (Param("freq_hz", 20.0, 20000.0, 6000.0, "Hz"),
                                  Param("gain_db", -24.0, 24.0, 0.0, "dB"), _Q),
                   description="high-shelf EQ"),
        EffectSpec("compressor", (Param("threshold_db", -60.0, 0.0, -18.0, "dB"),
                                  Param("ratio", 1.0, 20.0, 4.0),
                                  Param("attack_ms", 0.1, 200.0, 5.0, "ms"),
                                  Param("release_ms", 5.0, 2000.0, 100.0, "ms")),
                   tail_seconds=0.0, description="feed-forward compressor"),
        EffectSpec("reverb", (Param("room_size", 0.0, 1.0, 0.5), Param("damping", 0.0, 1.0, 0.5),
                              Param("wet", 0.0, 1.0, 0.25), Param("dry", 0.0, 1.0, 1.0),
                              Param("width", 0.0, 1.0, 1.0)),
                   tail_seconds=3.0, description="algorithmic room reverb"),
        EffectSpec("delay", (Param("time_ms", 1.0, 2000.0, 250.0, "ms"),
                             Param("feedback", 0.0, 0.9, 0.3), Param("wet", 0.0, 1.0, 0.3)),
                   tail_seconds=4.0, description="feedback echo"),
        EffectSpec("chorus", (Param("rate_hz", 0.05, 5.0, 0.8, "Hz"), Param("depth_ms", 0.0, 10.0, 3.0, "ms"),
                              Param("mix", 0.0, 1.0, 0.5)),
                   tail_seconds=0.05, description="stereo chorus"),
        EffectSpec("distortion", (Param("drive", 0.0, 1.0, 0.5), Param("mix", 0.0, 1.0, 1.0)),
                   description="cubic soft-clip distortion"),
    )
}


def effect_tail_seconds(kind: str, params: dict[str, float]) -> float:
    """Upper bound of the ring-out after the input stops (s); decides the render length."""
    spec = EFFECTS[kind]
    if kind == "delay":
        fb = params.get("feedback", spec.param("feedback").default)
        t = params.get("time_ms", spec.param("time_ms").default) / 1000.0
        # Echoes decay by `fb` each repeat; stop counting once they are 60 dB down.
        repeats = 1 + (math.ceil(math.log(1e-3) / math.log(fb)) if fb > 0 else 0)
        return t * repeats
    if kind == "reverb":
        return 0.5 + 3.5 * params.get("room_size", spec.param("room_size").default)
    return spec.tail_seconds
