"""How each effect of the vocabulary (``producer.effects``) becomes a DawDreamer processor.

Filters, shelves, compressor and reverb are DawDreamer built-ins; peaking EQ, delay with feedback,
chorus and distortion have no built-in, so they are small Faust programs run by DawDreamer's Faust
processor. Either way, one engine renders the chain.
"""
from __future__ import annotations

from producer.audio import db_to_gain
from producer.effects import EFFECTS


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
            name, _FILTER_MODES[kind], p["freq_hz"], p["q"], db_to_gain(p["gain_db"])
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


def set_params(processor, kind: str, params: dict[str, float]) -> None:
    """Set the parameters of a processor ``make_processor`` built for ``kind``, in place: a search
    (``producer.match``) renders one graph many times with new values instead of building it anew.
    Same translation as ``make_processor``; ``tests/test_match.py`` checks the two renders agree."""
    spec = EFFECTS[kind]
    p = {q.name: float(params.get(q.name, q.default)) for q in spec.params}
    if kind in ("lowpass", "highpass"):
        processor.frequency, processor.q = p["cutoff_hz"], p["q"]
    elif kind in ("low_shelf", "high_shelf"):
        processor.frequency, processor.q, processor.gain = p["freq_hz"], p["q"], db_to_gain(p["gain_db"])
    elif kind == "compressor":
        processor.threshold, processor.ratio = p["threshold_db"], p["ratio"]
        processor.attack, processor.release = p["attack_ms"], p["release_ms"]
    elif kind == "reverb":
        processor.room_size, processor.damping, processor.wet_level = p["room_size"], p["damping"], p["wet"]
        processor.dry_level, processor.width = p["dry"], p["width"]
    else:
        for key, value in p.items():
            processor.set_parameter(f"/dawdreamer/{key}", value)
