"""Ardour 7 session folder: one mono audio track per project track, each clip a region at its exact
sample position, track gain and pan on the fader and panner, effects as Ardour's bundled ACE
plugins (the user can still change them).

Written directly as XML, so Ardour need not be installed to export; the tests render the folder
with Ardour itself (``ardour7-export``) and compare with our mix. Facts this depends on:

* times are superclock units (282 240 000 per second): ``start="a0"``,
  ``length="a<len>@a<pos>"``, ``ancestral-length="a0@a0"``; plain sample counts load but the
  positions are ignored;
* a ``Location`` with ``flags="IsSessionRange"`` must exist or ``ardour7-export`` crashes;
* audio lives in ``interchange/<NAME>/audiofiles/``;
* the tempo map's points each carry their superclock, quarter-note and bar|beat|tick positions,
  which must agree (Ardour reads all three); ``tests/test_export_time.py`` loads a session in
  ``ardour7-lua`` and reads its bar lines back.

The song's time: one tempo and meter from 0, or, where the project has a downbeat after 0 or a
tempo map, a pickup bar for the lead-in and the map's changes (``producer.export.conductor``).

Pan: Ardour's mono panner has its own -3 dB law, close to but not the renderer's sin/cos law
(up to about 0.5 dB apart off centre). The session's panner position is chosen so that the
left/right *ratio* equals ours and the small level difference goes on the fader, so the session
sounds like our mix; the panner reads within a few percent of the project's pan.

Automation: an automated track gain or pan becomes fader (``gain``) and panner (``pan-azimuth``)
automation lists in Play state; an automated effect parameter becomes the plugin ports' automation
(``parameter-N``) wherever its ACE plugin exists, each port's value computed by the same
translation as the constant settings. Ardour interpolates points linearly in its own units (gain
factor, azimuth, port value) while we interpolate in ours (dB, pan), so the envelopes are written
on a ``AUTOMATION_GRID`` grid as well as at their breakpoints; the pan-law correction rides on the
fader automation when pan moves. Fader points are pre-compensated for Ardour's lag and smoothing
of gain automation (``_fader_automation``).
"""
from __future__ import annotations

import base64
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from producer.audio import db_to_gain
from producer.export.clips import ClipSet
from producer.project import Effect, Project, Track

SUPERCLOCK = 282_240_000  # Ardour 7 superclock ticks per second
ARDOUR_TICKS = 1920  # Ardour's ticks per beat (Temporal::ticks_per_beat), in quarters and bar|beat|tick
# Ardour's gain fader tops out at +6 dB and the trim knob at +20 dB; more gain than the fader
# holds goes on the trim.
FADER_MAX_DB = 6.0
TRIM_MAX_DB = 20.0
ARDOUR_SCRIPTS = Path("/usr/share/ardour7/scripts")
# Seconds between the extra points written inside an automated segment (see the module notes).
AUTOMATION_GRID = 0.005
# How Ardour 7.3 plays fader (gain) automation, measured from its renders: FADER_LAG samples late,
# through a one-pole low-pass of coefficient FADER_SMOOTHING / sample rate (its 25 Hz de-zipper).
FADER_LAG = 256
FADER_SMOOTHING = 156.825
# LV2 port indices of the ACE plugins' control ports (from their .ttl): automation lists name
# ports by index, "parameter-<index>".
_LV2_PORT_INDEX = {
    "urn:ardour:a-eq": {s: i for i, s in enumerate(
        ("freql gl freq1 g1 bw1 freq2 g2 bw2 freq3 g3 bw3 freq4 g4 bw4 freqh gh master filtogl filtog1 filtog2 "
         "filtog3 filtog4 filtogh enable").split())},
    "urn:ardour:a-comp": {"att": 0, "rel": 1, "kn": 2, "rat": 3, "thr": 4, "mak": 5, "sidech": 9, "enable": 10},
    "urn:ardour:a-reverb": {"blend": 4, "roomsz": 5, "enable": 6},
    "urn:ardour:a-delay": {"inv": 3, "sync": 4, "time": 5, "div": 6, "drywet": 7, "feedback": 8, "lpf": 9,
                           "gain": 10, "enable": 12, "dot": 13},
}


def superclock(frames: int, sr: int) -> int:
    """Sample frames -> superclock ticks (exact for every rate dividing 282 240 000)."""
    return frames * SUPERCLOCK // sr if SUPERCLOCK % sr == 0 else int(round(frames * SUPERCLOCK / sr))


# --- pan law -----------------------------------------------------------------------------------

_PAN_SCALE = 2.0 - 4.0 * 10.0 ** (-3.0 / 20.0)  # Ardour panner_1in2out: -3 dB centre


def _ardour_pan_gain(x: float) -> float:
    return x * (_PAN_SCALE * x + 1.0 - _PAN_SCALE)


def ardour_pan(pan: float) -> tuple[float, float]:
    """Project pan in [-1, 1] -> (Ardour azimuth in [0, 1], linear gain correction).

    Ardour plays a mono track at (L, R) = (h(1-a), h(a)); we want (cos t, sin t), t = (pan+1)pi/4.
    h is increasing, so the azimuth with R/L = tan t is found by bisection, and the correction
    makes the levels equal too.
    """
    theta = (pan + 1.0) * math.pi / 4.0
    left, right = math.cos(theta), math.sin(theta)
    if right <= 1e-12:
        return 0.0, left / _ardour_pan_gain(1.0)
    if left <= 1e-12:
        return 1.0, right / _ardour_pan_gain(1.0)
    lo, hi = 0.0, 1.0
    target = right / left
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _ardour_pan_gain(mid) / _ardour_pan_gain(1.0 - mid) < target:
            lo = mid
        else:
            hi = mid
    a = 0.5 * (lo + hi)
    return a, left / _ardour_pan_gain(1.0 - a)


# --- effects -> ACE plugins --------------------------------------------------------------------

@dataclass(frozen=True)
class Plugin:
    """One Ardour processor for one effect: LV2 by URI, or a Lua DSP script by file."""

    name: str
    kind: str  # "lv2" or "luaproc"
    uri: str  # LV2 URI, or the Lua script's file name
    ports: tuple[tuple[str, float], ...]  # LV2 symbol (or Lua parameter index) -> value


def _q_to_octaves(q: float) -> float:
    # Bandwidth of a peaking band in octaves from its Q (RBJ cookbook relation).
    return 2.0 / math.log(2.0) * math.asinh(1.0 / (2.0 * q))


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def _eq(**bands: float) -> tuple[tuple[str, float], ...]:
    # ACE EQ with every section off except those set: a flat EQ with one active band.
    ports = {"freql": 160.0, "gl": 0.0, "freq1": 300.0, "g1": 0.0, "bw1": 1.0, "freq2": 1000.0, "g2": 0.0,
             "bw2": 1.0, "freq3": 2500.0, "g3": 0.0, "bw3": 1.0, "freq4": 6000.0, "g4": 0.0, "bw4": 1.0,
             "freqh": 9000.0, "gh": 0.0, "master": 0.0, "filtogl": 0, "filtog1": 0, "filtog2": 0,
             "filtog3": 0, "filtog4": 0, "filtogh": 0, "enable": 1}
    ports.update(bands)
    return tuple(ports.items())


def plugin_for(effect: Effect) -> Plugin | None:
    """The ACE plugin that does what ``effect`` does, parameters translated; None where Ardour
    bundles nothing alike (chorus, distortion)."""
    p = effect.param_dict
    k = effect.kind
    if k in ("lowpass", "highpass"):
        # ACE High/Low Pass Filter: 0 HP steepness, 1 HP freq, 2 HP resonance, 3-5 the same for
        # LP, 6 enable. Steepness 1 is 12 dB/oct, as ours; 0 switches the other filter off.
        hp = k == "highpass"
        f, q = p["cutoff_hz"], _clamp(p["q"], 0.1, 6.0)
        return Plugin("ACE High/Low Pass Filter", "luaproc", "HiAndLowPass.lua", (
            ("0", 1 if hp else 0), ("1", _clamp(f, 5, 20000) if hp else 100.0), ("2", q if hp else 0.707),
            ("3", 0 if hp else 1), ("4", 18000.0 if hp else _clamp(f, 20, 20000)), ("5", 0.707 if hp else q),
            ("6", 1)))
    if k == "peak":
        return Plugin("ACE EQ", "lv2", "urn:ardour:a-eq", _eq(
            freq1=p["freq_hz"], g1=_clamp(p["gain_db"], -20, 20), bw1=_clamp(_q_to_octaves(p["q"]), 0.1, 4.0),
            filtog1=1))
    if k == "low_shelf":
        return Plugin("ACE EQ", "lv2", "urn:ardour:a-eq", _eq(freql=p["freq_hz"], gl=_clamp(p["gain_db"], -20, 20),
                                                              filtogl=1))
    if k == "high_shelf":
        return Plugin("ACE EQ", "lv2", "urn:ardour:a-eq", _eq(freqh=p["freq_hz"], gh=_clamp(p["gain_db"], -20, 20),
                                                              filtogh=1))
    if k == "compressor":
        return Plugin("ACE Compressor", "lv2", "urn:ardour:a-comp", (
            ("att", _clamp(p["attack_ms"], 0.1, 100.0)), ("rel", _clamp(p["release_ms"], 1.0, 2000.0)),
            ("kn", 0.0), ("rat", p["ratio"]), ("thr", p["threshold_db"]), ("mak", 0.0), ("sidech", 0),
            ("enable", 1)))
    if k == "reverb":
        wet, dry = p["wet"], p["dry"]
        return Plugin("ACE Reverb", "lv2", "urn:ardour:a-reverb", (
            ("blend", wet / (wet + dry) if wet + dry > 0 else 0.0),
            ("roomsz", 0.5 + 0.5 * p["room_size"]), ("enable", 1)))
    if k == "delay":
        # Ours adds wet * echoes to the dry signal; ACE Delay cross-fades dry and wet.
        wet = p["wet"]
        return Plugin("ACE Delay", "lv2", "urn:ardour:a-delay", (
            ("inv", 0), ("sync", 0), ("time", p["time_ms"]), ("div", 4), ("drywet", 100.0 * wet / (1.0 + wet)),
            ("feedback", 100.0 * p["feedback"]), ("lpf", 20000.0), ("gain", 20.0 * math.log10(1.0 + wet)),
            ("enable", 1), ("dot", 0)))
    return None


# --- XML ---------------------------------------------------------------------------------------

class _Ids:
    def __init__(self, start: int = 1000):
        self.next = start

    def __call__(self) -> str:
        self.next += 1
        return str(self.next)


def _el(parent, tag: str, **attrs) -> ET.Element:
    return ET.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})


def _fmt(v: float) -> str:
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def _controllable(parent, ids: _Ids, name: str, value, flags: str = "", **extra) -> None:
    _el(parent, "Controllable", name=name, id=ids(), flags=flags, value=value, **extra)


def _gain_processors(route, ids: _Ids, trim: float, gain: float, plugins: list[ET.Element],
                     gain_points=None, sr: int = 48000) -> None:
    trim_p = _el(route, "Processor", id=ids(), name="Trim", active=1, user_latency=0, use_user_latency=0,
                 type="trim")
    _controllable(trim_p, ids, "trimcontrol", _fmt(trim), "GainLike")
    route.extend(plugins)  # effects before the fader, as the renderer runs them before gain and pan
    amp = _el(route, "Processor", id=ids(), name="Amp", active=1, user_latency=0, use_user_latency=0, type="amp")
    _controllable(amp, ids, "gaincontrol", _fmt(gain), "GainLike")
    if gain_points:
        _automation(_el(amp, "Automation"), ids, "gain", gain_points, sr)


def _automation(parent, ids: _Ids, automation_id: str, points, sr: int) -> None:
    """One automation list in Play state; ``points`` are (seconds, value in the control's units)."""
    lst = _el(parent, "AutomationList", automation_id=automation_id, id=ids(), interpolation_style="Linear",
              time_domain="AudioTime", state="Play")
    events = _el(lst, "events")
    events.text = "".join(f"a{superclock(int(round(t * sr)), sr)} {_fmt(v)}\n" for t, v in points)


def automation_times(envelopes) -> list[float]:
    """Times (s) to write automation at: every breakpoint, and an ``AUTOMATION_GRID`` grid from the
    first to the last, so Ardour's interpolation in its own units follows ours."""
    envelopes = [e for e in envelopes if e]
    if not envelopes:
        return []
    times = {t for env in envelopes for t, _ in env}
    lo, hi = min(times), max(times)
    steps = int((hi - lo) / AUTOMATION_GRID)
    times.update(lo + k * AUTOMATION_GRID for k in range(1, steps + 1) if lo + k * AUTOMATION_GRID < hi)
    return sorted(times)


def _plugin_automation(proc: ET.Element, plugin: Plugin, effect: Effect, ids: _Ids, sr: int) -> None:
    """The automated parameters of ``effect`` as automation of the plugin ports they move."""
    from producer.project import envelope_at

    times = automation_times([env for _, env in effect.automation])
    if not times:
        return
    series: dict[str, list[tuple[float, float]]] = {}
    for t in times:
        at_t = effect
        for name, env in effect.automation:
            at_t = at_t.with_param(name, envelope_at(env, t))
        for port, value in plugin_for(at_t).ports:
            series.setdefault(port, []).append((t, float(value)))
    index = _LV2_PORT_INDEX.get(plugin.uri, {})
    parent = None
    for port, points in series.items():
        if max(v for _, v in points) - min(v for _, v in points) <= 1e-9:
            continue  # a port this envelope does not move
        n = index.get(port) if plugin.kind == "lv2" else int(port)
        if n is None:
            continue
        parent = parent if parent is not None else _el(proc, "Automation")
        _automation(parent, ids, f"parameter-{n}", points, sr)


def _plugin_processor(plugin: Plugin, ids: _Ids, active: bool) -> ET.Element | None:
    proc = ET.Element("Processor", {"id": ids(), "name": plugin.name, "active": "1" if active else "0",
                                    "user-latency": "0", "use-user-latency": "0", "type": plugin.kind,
                                    "count": "1", "custom": "0"})
    if plugin.kind == "lv2":
        proc.set("unique-id", plugin.uri)
        state = _el(proc, "lv2", last_preset_uri="", last_preset_label="", parameter_changed_since_last_preset=0)
        for sym, value in plugin.ports:
            _el(state, "Port", symbol=sym, value=_fmt(value))
    else:
        # A Lua DSP plugin's state carries its script; take Ardour's own copy where installed.
        script = ARDOUR_SCRIPTS / plugin.uri
        if not script.is_file():
            return None
        import hashlib

        source = script.read_bytes()
        proc.set("unique-id", hashlib.sha1(source).hexdigest())
        state = _el(proc, "luaproc", last_preset_uri="", last_preset_label="", parameter_changed_since_last_preset=0)
        s = _el(state, "script", lua="Lua 5.3", origin=str(script))
        s.text = base64.b64encode(source).decode("ascii")
        for index, value in plugin.ports:
            _el(state, "Port", id=index, value=_fmt(value))
    return proc


def _route_common(route, ids: _Ids, name: str, n_in: int, inputs_from: list[str], outputs_to: list[str],
                  azimuth: float, pan_points=None, sr: int = 48000) -> None:
    _controllable(route, ids, "solo", 0, "Toggle,RealTime", self_solo=0, soloed_by_upstream=0,
                  soloed_by_downstream=0)
    io_in = _el(route, "IO", name=name, id=ids(), direction="Input", default_type="audio")
    for i in range(n_in):
        port = _el(io_in, "Port", type="audio", name=f"{name}/audio_in {i + 1}")
        if i < len(inputs_from):
            _el(port, "Connection", other=inputs_from[i])
    io_out = _el(route, "IO", name=name, id=ids(), direction="Output", default_type="audio")
    for i in range(2):
        port = _el(io_out, "Port", type="audio", name=f"{name}/audio_out {i + 1}")
        if i < len(outputs_to):
            _el(port, "Connection", other=outputs_to[i])
    _el(route, "MuteMaster", mute_point="PostFader,Listen,Main", muted=0)
    _controllable(route, ids, "mute", 0, "Toggle,RealTime")
    _controllable(route, ids, "phase", 0, "Toggle", phase_invert="0" * n_in)
    pannable = _el(route, "Pannable")
    _controllable(pannable, ids, "pan-azimuth", _fmt(azimuth))
    _controllable(pannable, ids, "pan-width", 0 if n_in == 1 else 1)
    _controllable(pannable, ids, "pan-elevation", 0)
    _controllable(pannable, ids, "pan-frontback", 0)
    _controllable(pannable, ids, "pan-lfe", 0)
    if pan_points:
        _automation(_el(pannable, "Automation"), ids, "pan-azimuth", pan_points, sr)


def _split_gain(gain_db: float, correction: float) -> tuple[float, float]:
    """Track gain (dB) and pan correction (linear) -> (trim, fader) linear gains."""
    total_db = gain_db + 20.0 * math.log10(correction)
    trim_db = _clamp(total_db - FADER_MAX_DB, 0.0, TRIM_MAX_DB) if total_db > FADER_MAX_DB else 0.0
    return db_to_gain(trim_db), db_to_gain(total_db - trim_db)


def _fader_automation(track: Track, sr: int) -> tuple[list, list]:
    """(fader points as linear gain incl. the pan-law correction, azimuth points); empty lists when
    neither gain nor pan is automated.

    Ardour 7.3 plays fader automation ``FADER_LAG`` samples late and through a one-pole low-pass
    (``FADER_SMOOTHING``; measured: that model reproduces its render of our automation to -88 dB,
    where the plain points left -29 dB on a 38 dB/s fade). The fader points are the inverse: the
    gain ``FADER_LAG`` samples ahead plus the low-pass's lead, x[m] = g[m+D-1] + (g[m+D] -
    g[m+D-1]) / a, so what Ardour plays is our gain. A fade faster than the low-pass can follow
    would need a negative or huge fader value; those points are clamped and the render differs.
    """
    from producer.project import envelope_at

    gain_env, pan_env = track.envelope("gain_db"), track.envelope("pan")
    times = automation_times([gain_env, pan_env])
    if not times:
        return [], []

    def gain(m: int) -> float:  # our gain at sample m, pan correction included
        t = max(m, 0) / sr
        azimuth, correction = ardour_pan(envelope_at(pan_env, t) if pan_env else track.pan)
        return db_to_gain(envelope_at(gain_env, t) if gain_env else track.gain_db) * correction

    a = FADER_SMOOTHING / sr
    lead = FADER_LAG
    # the fader's own times: our grid moved ahead by the lag, and around each of our breakpoints
    # (where the slope steps, so x steps between these two samples) moved ahead by the lag
    frames = {max(0, int(round(t * sr)) - lead) for t in times}
    for env in (gain_env, pan_env):
        for t, _ in env or ():
            m = int(round(t * sr)) - lead
            frames.update(k for k in (m, m + 1) if k >= 0)
    top = db_to_gain(FADER_MAX_DB + TRIM_MAX_DB) * 2.0
    gains = []
    for m in sorted(frames):
        g0, g1 = gain(m + lead - 1), gain(m + lead)
        gains.append((m / sr, _clamp(g0 + (g1 - g0) / a, 0.0, top)))
    azimuths = [(t, ardour_pan(envelope_at(pan_env, t))[0]) for t in times] if pan_env else []
    return gains, azimuths


def session_xml(project: Project, clips: ClipSet, name: str, *, plugins_active: bool = True) -> tuple[bytes, list[str]]:
    """The ``NAME.ardour`` document; returns (bytes, notes about effects not carried over).

    Long because an Ardour session is one XML tree written top to bottom (config, sources,
    regions, playlists, routes, tempo map); split, each part would need most of the others' ids."""
    sr = clips.sr
    ids = _Ids()
    notes: list[str] = []
    session = ET.Element("Session", {"version": "7002", "name": name, "sample-rate": str(sr),
                                     "session-range-is-free": "0"})
    _el(session, "ProgramVersion", created_with="producer", modified_with="producer")
    config = _el(session, "Config")
    for opt, value in (("native-file-data-format", "FormatFloat"), ("native-file-header-format", "WAVE"),
                       ("use-region-fades", 1), ("use-transport-fades", 1), ("use-monitor-fades", 1)):
        _el(config, "Option", name=opt, value=value)
    _el(session, "Metadata")
    sources = _el(session, "Sources")
    source_ids: dict[str, str] = {}
    for file in clips.audio:
        source_ids[file] = ids()
        _el(sources, "Source", name=file, type="audio", flags="", id=source_ids[file], captured_for="",
            channel=0, origin="", gain=1)
    _el(session, "Regions")
    locations = _el(session, "Locations")
    end = superclock(max(clips.end_frame, 1), sr)
    _el(locations, "Location", id=ids(), name="session", start="a0", end=f"a{end}", flags="IsSessionRange",
        locked=0, timestamp=0, cue=0)

    routes = _el(session, "Routes")
    playlists_el = ET.Element("Playlists")
    master = _el(routes, "Route", version=7002, id=ids(), name="Master", default_type="audio", strict_io=1,
                 active=1, denormal_protection=0, meter_point="MeterPostFader", disk_io_point="DiskIOPreFader",
                 meter_type="MeterPeak")
    _el(master, "PresentationInfo", order=0, flags="MasterOut,OrderSet", color=0)
    track_outs = [[f"{t.name}/audio_out 1" for t in project.tracks], [f"{t.name}/audio_out 2" for t in project.tracks]]
    _route_common(master, ids, "Master", 2, [], ["system:playback_1", "system:playback_2"], 0.5)
    # Each master input port gathers every track's matching output.
    for port, others in zip(master.find("IO").findall("Port"), track_outs):
        for other in others:
            _el(port, "Connection", other=other)
    _gain_processors(master, ids, 1.0, 1.0, [])
    mo = _el(master, "Processor", id=ids(), name="Master", active=1, user_latency=0, use_user_latency=0,
             own_input=1, own_output=0, output="Master", type="main-outs", role="Main")
    _el(mo, "PannerShell", bypassed=0, user_panner="", linked_to_route=1)

    for order, (track, placed) in enumerate(zip(project.tracks, clips.tracks), start=1):
        playlist_id = ids()
        route = _el(routes, "Route", version=7002, id=ids(), name=track.name, default_type="audio", strict_io=1,
                    active=1, denormal_protection=0, meter_point="MeterPostFader", disk_io_point="DiskIOPreFader",
                    meter_type="MeterPeak", audio_playlist=playlist_id, saved_meter_point="MeterPostFader",
                    alignment_choice="Automatic", mode="Normal")
        _el(route, "PresentationInfo", order=order, flags="AudioTrack,OrderSet", color=0)
        azimuth, correction = ardour_pan(track.pan)
        gain_points, pan_points = _fader_automation(track, sr)
        _route_common(route, ids, track.name, 1, [], ["Master/audio_in 1", "Master/audio_in 2"], azimuth,
                      pan_points, sr)
        _el(route, "Processor", id=ids(), name=f"recorder:{track.name}", active=1, user_latency=0,
            use_user_latency=0, type="diskwriter", record_safe=0)
        _el(route, "Processor", id=ids(), name=f"player:{track.name}", active=1, user_latency=0,
            use_user_latency=0, type="diskreader")
        plugins = []
        for effect in track.effects:
            plugin = plugin_for(effect)
            proc = _plugin_processor(plugin, ids, plugins_active) if plugin else None
            if proc is None:
                notes.append(f"{track.name}: {effect.kind} {effect.param_dict} has no Ardour built-in; add one by hand")
                continue
            _plugin_automation(proc, plugin, effect, ids, sr)
            plugins.append(proc)
        if gain_points:
            # Automated: the trim holds what the fader cannot reach at the envelope's loudest point.
            top_db = 20.0 * math.log10(max(max(g for _, g in gain_points), 1e-12))
            trim_db = _clamp(top_db - FADER_MAX_DB, 0.0, TRIM_MAX_DB) if top_db > FADER_MAX_DB else 0.0
            trim, gain = db_to_gain(trim_db), gain_points[0][1] / db_to_gain(trim_db)
            gain_points = [(t, g / trim) for t, g in gain_points]
        else:
            trim, gain = _split_gain(track.gain_db, correction)
        _gain_processors(route, ids, trim, gain, plugins, gain_points, sr)
        mo = _el(route, "Processor", id=ids(), name=track.name, active=1, user_latency=0, use_user_latency=0,
                 own_input=1, own_output=0, output=track.name, type="main-outs", role="Main")
        _el(mo, "PannerShell", bypassed=0, user_panner="", linked_to_route=1)
        _controllable(route, ids, "monitor", 0, "RealTime", monitoring="")
        _controllable(route, ids, "rec-safe", 0, "Toggle,RealTime")
        _controllable(route, ids, "rec-enable", 0, "Toggle,RealTime")

        playlist = _el(playlists_el, "Playlist", id=playlist_id, name=track.name, type="audio",
                       orig_track_id=route.get("id"), shared_with_ids="", pgroup_id="", frozen=0, combine_ops=0)
        for layer, pc in enumerate(placed):
            pos, length = superclock(pc.start_frame, sr), superclock(pc.frames, sr)
            src = source_ids[pc.file]
            # Transparent (opaque=0) so overlapping clips sum, as they do in our mix; region fades
            # off because each clip already carries its 30 ms release and starts on purpose.
            _el(playlist, "Region", name=f"{pc.file[:-4]}.{layer + 1}", muted=0, opaque=0, locked=0,
                video_locked=0, automatic=0, whole_file=0, import_=0, external=0, sync_marked=0,
                left_of_split=0, right_of_split=0, hidden=0, position_locked=0, valid_transients=0,
                start="a0", length=f"a{length}@a{pos}", sync_position="a0", ancestral_start="a0",
                ancestral_length="a0@a0", stretch=1, shift=1, layering_index=layer, tags="",
                contents=0, id=ids(), type="audio", layer=layer, source_0=src, master_source_0=src,
                channels=1, envelope_active=0, default_fade_in=0, default_fade_out=0,
                fade_in_active=0, fade_out_active=0, scale_amplitude=1)
    session.append(playlists_el)
    _el(session, "UnusedPlaylists")
    _el(session, "RouteGroups")
    _tempo_map(session, project)
    session.set("id-counter", str(ids.next + 1))
    ET.indent(session, "  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(session, encoding="utf-8") + b"\n", notes


def _tempo_map(session: ET.Element, project: Project) -> None:
    """The session's TempoMap: a Tempo per change of ``producer.export.conductor`` (constant, in
    quarter notes) and a Meter per time signature (the pickup bar's, then the project's), each at
    its superclock, quarter-note and bar|beat|tick position (1920 ticks a beat), which must agree:
    Ardour keeps all three."""
    from producer.export.conductor import Conductor

    timing = Conductor.of(project)
    tempo_map = _el(session, "TempoMap", superclocks_per_second=SUPERCLOCK)
    tempos = _el(tempo_map, "Tempos")
    meters = ET.Element("Meters")
    for change in timing.changes:
        whole = math.floor(change.quarters + 1e-9)
        ticks = int(round((change.quarters - whole) * ARDOUR_TICKS))
        if ticks == ARDOUR_TICKS:
            whole, ticks = whole + 1, 0
        bar, beat, part = timing.bbt(change.quarters)
        where = {"sclock": int(round(change.seconds * SUPERCLOCK)), "quarters": f"{whole}:{ticks}",
                 "bbt": f"{bar}|{beat}|{int(round(part * ARDOUR_TICKS))}"}
        bpm = _fmt(change.bpm)
        _el(tempos, "Tempo", npm=bpm, enpm=bpm, note_type=4, type="Tempo::Constant", active=1, locked_to_meter=0,
            continuing=0, **where, omega=0)
        if change.meter is not None:
            _el(meters, "Meter", note_value=change.meter[1], divisions_per_bar=change.meter[0], **where)
    tempo_map.append(meters)
    _el(tempo_map, "MusicTimes")


def write_ardour_session(
    project: Project,
    clips: ClipSet,
    folder: str | os.PathLike,
    *,
    name: str = "producer",
    clip_dir: str | os.PathLike | None = None,
    plugins_active: bool = True,
) -> Path:
    """Write an Ardour 7 session into ``folder`` (created): ``NAME.ardour`` and the clip audio in
    ``interchange/NAME/audiofiles/`` (linked from ``clip_dir`` where its files are already
    written, else written). ``plugins_active=False`` writes every plugin bypassed. Returns the
    ``.ardour`` file's path. Open with ``ardour7 folder/NAME.ardour``."""
    folder = Path(folder)
    for sub in ("analysis", "dead", "export", "externals", "peaks", "plugins", f"interchange/{name}/midifiles"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    audio_dir = folder / "interchange" / name / "audiofiles"
    if clip_dir is not None:
        clips.link_into(clip_dir, audio_dir)
    else:
        clips.write(audio_dir)
    xml, notes = session_xml(project, clips, name, plugins_active=plugins_active)
    path = folder / f"{name}.ardour"
    path.write_bytes(xml)
    if notes:
        (folder / "effects-not-carried.txt").write_text("\n".join(notes) + "\n")
    return path
