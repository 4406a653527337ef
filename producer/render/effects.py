"""The one effect vocabulary: every effect a track can carry, its parameters and their ranges,
and how each becomes a DawDreamer processor.

The tables here are plain data (no DawDreamer import) so the project model can validate against
them cheaply. Filters, shelves, compressor and reverb are DawDreamer built-ins; peaking EQ, delay
with feedback, chorus and distortion have no built-in, so they are small Faust programs run by
DawDreamer's Faust processor. Either way, one engine renders the chain.
"""
from __future__ import annotations

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
        import math

        repeats = 1 + (math.ceil(math.log(1e-3) / math.log(fb)) if fb > 0 else 0)
        return t * repeats
    if kind == "reverb":
        return 0.5 + 3.5 * params.get("room_size", spec.param("room_size").default)
    return spec.tail_seconds


# Faust programs for the effects DawDreamer has no built-in for. Parameters are sliders, so one
# compiled program serves every parameter value. Stereo in, stereo out.
_FAUST = {
    "peak": """import("stdfaust.lib");
f = hslider("freq_hz", 1000, 20, 20000, 0.01); g = hslider("gain_db", 0, -24, 24, 0.01);
q = hslider("q", 1, 0.1, 10, 0.001);
process = fi.peak_eq_cq(g, f, q), fi.peak_eq_cq(g, f, q);""",
    "delay": """import("stdfaust.lib");
t = hslider("time_ms", 250, 1, 2000, 0.01) * ma.SR / 1000.0; fb = hslider("feedback", 0.3, 0, 0.9, 0.001);
w = hslider("wet", 0.3, 0, 1, 0.001);
echo = +~(de.delay(262144, t) * fb) : de.delay(262144, t);
process = par(i, 2, _ <: _, echo : (_, _ * w) :> _);""",
    "chorus": """import("stdfaust.lib");
r = hslider("rate_hz", 0.8, 0.05, 5, 0.001); d = hslider("depth_ms", 3, 0, 10, 0.001) * ma.SR / 1000.0;
m = hslider("mix", 0.5, 0, 1, 0.001);
base = 0.012 * ma.SR;
voice(ph) = de.fdelay(4096, base + d * (1 + os.oscp(r, ph)) * 0.5);
process = (_ <: _ * (1 - m), voice(0) * m :> _), (_ <: _ * (1 - m), voice(ma.PI / 2) * m :> _);""",
    "distortion": """import("stdfaust.lib");
dr = hslider("drive", 0.5, 0, 1, 0.001); m = hslider("mix", 1, 0, 1, 0.001);
process = par(i, 2, _ <: _ * (1 - m), ef.cubicnl(dr, 0) * m :> _);""",
}

_FILTER_MODES = {"lowpass": "low", "highpass": "high", "low_shelf": "low_shelf", "high_shelf": "high_shelf"}


def make_processor(engine, name: str, kind: str, params: dict[str, float]):
    """Build the DawDreamer processor for one effect, parameters set."""
    spec = EFFECTS[kind]
    p = {q.name: float(params.get(q.name, q.default)) for q in spec.params}
    if kind in ("lowpass", "highpass"):
        return engine.make_filter_processor(name, _FILTER_MODES[kind], p["cutoff_hz"], p["q"], 1.0)
    if kind in ("low_shelf", "high_shelf"):
        # The built-in shelf takes a linear gain factor.
        return engine.make_filter_processor(
            name, _FILTER_MODES[kind], p["freq_hz"], p["q"], 10.0 ** (p["gain_db"] / 20.0)
        )
    if kind == "compressor":
        return engine.make_compressor_processor(
            name, p["threshold_db"], p["ratio"], p["attack_ms"], p["release_ms"]
        )
    if kind == "reverb":
        # DawDreamer 0.9 ignores the reverb constructor's arguments: set attributes afterwards.
        r = engine.make_reverb_processor(name)
        r.room_size, r.damping, r.wet_level = p["room_size"], p["damping"], p["wet"]
        r.dry_level, r.width = p["dry"], p["width"]
        return r
    fa = engine.make_faust_processor(name)
    fa.set_dsp_string(_FAUST[kind])
    if not fa.compile():
        raise RuntimeError(f"Faust program for {kind} did not compile")
    for key, value in p.items():
        fa.set_parameter(f"/dawdreamer/{key}", value)
    return fa
