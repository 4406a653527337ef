"""DAWproject (``.dawproject``): the open exchange format read by Bitwig, Studio One, Cubase and
others. A zip holding ``project.xml``, ``metadata.xml`` and the clip audio under ``audio/``.

Layout written:

* one audio track per project track: the dry clip files as audio clips at their exact times, in
  seconds; volume and pan on the channel; the effect chain as devices. EQ-like effects become the
  format's built-in ``Equalizer`` (one band each), the compressor its built-in ``Compressor``;
  reverb, delay, chorus and distortion have no built-in in the format, so they are written as
  named ``BuiltinDevice`` placeholders carrying our parameters (hosts show them as devices to
  replace with their own);
* after each audio track, a note track ("<name> notes", muted: it has no instrument) with the
  same arrangement as note clips, so the part can be re-voiced with any instrument;
* a master track every channel is routed to.

Time unit is seconds throughout (``timeUnit="seconds"``), so positions do not depend on tempo.
The song's time is the transport's tempo and time signature; where the project has a downbeat
after 0 or a tempo map, the arrangement also carries tempo and time-signature automation (a pickup
bar for the lead-in, see ``producer.export.conductor``), so bar lines fall on the downbeats.
"""
from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from producer.audio import db_to_gain
from producer import __version__
from producer.constants import DRUM_CHANNEL
from producer.export.clips import ClipSet
from producer.project import Effect, Project

FORMAT_VERSION = "1.0"


class _Ids:
    def __init__(self):
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"id{self.n}"


def _el(parent, tag: str, **attrs) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _str(v) for k, v in attrs.items() if v is not None})


def _str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _real(parent, tag: str, ids: _Ids, value: float, unit: str, *, name: str | None = None,
          lo: float | None = None, hi: float | None = None) -> ET.Element:
    return _el(parent, tag, id=ids(), name=name, unit=unit, value=float(value),
               min=None if lo is None else float(lo), max=None if hi is None else float(hi))


class _Automation:
    """Envelopes of one track, gathered while its parameters are written: (parameter id, unit,
    points in the parameter's own unit). The arrangement writes them as ``Points`` lanes."""

    def __init__(self):
        self.lanes: list[tuple[str, str, list[tuple[float, float]]]] = []

    def add(self, element: ET.Element, envelope, convert=lambda v: v) -> None:
        if envelope is not None:
            self.lanes.append((element.get("id"), element.get("unit"), [(t, convert(v)) for t, v in envelope]))


def _ms_to_s(v: float) -> float:
    return v / 1000.0


def _eq_band(eq, ids: _Ids, band_type: str, freq: float, *, gain: float | None = None, q: float | None = None,
             effect: Effect | None = None, auto: _Automation | None = None) -> None:
    band = _el(eq, "Band", type=band_type, order=2 if band_type in ("lowPass", "highPass") else None)
    freq_el = _real(band, "Freq", ids, freq, "hertz", lo=20.0, hi=20000.0)
    gain_el = _real(band, "Gain", ids, gain, "decibel", lo=-24.0, hi=24.0) if gain is not None else None
    q_el = _real(band, "Q", ids, q, "linear", lo=0.1, hi=10.0) if q is not None else None
    _el(band, "Enabled", id=ids(), value=True)
    if effect is not None and auto is not None:
        auto.add(freq_el, effect.envelope("cutoff_hz") or effect.envelope("freq_hz"))
        if gain_el is not None:
            auto.add(gain_el, effect.envelope("gain_db"))
        if q_el is not None:
            auto.add(q_el, effect.envelope("q"))


_BAND = {"lowpass": "lowPass", "highpass": "highPass", "peak": "bell", "low_shelf": "lowShelf",
         "high_shelf": "highShelf"}
_UNITS = {"Hz": "hertz", "dB": "decibel", "ms": "seconds"}


def _device(devices, ids: _Ids, effect: Effect, auto: _Automation | None = None) -> None:
    """One effect -> one device element in ``devices``; its parameters' envelopes go to ``auto``."""
    auto = auto if auto is not None else _Automation()
    p = effect.param_dict
    k = effect.kind
    if k in _BAND:
        eq = _el(devices, "Equalizer", id=ids(), deviceName=f"EQ ({k.replace('_', ' ')})", deviceRole="audioFX",
                 loaded=True)
        _el(eq, "Enabled", id=ids(), value=True)
        if k in ("lowpass", "highpass"):
            _eq_band(eq, ids, _BAND[k], p["cutoff_hz"], q=p["q"], effect=effect, auto=auto)
        else:
            _eq_band(eq, ids, _BAND[k], p["freq_hz"], gain=p["gain_db"], q=p["q"], effect=effect, auto=auto)
        return
    if k == "compressor":
        c = _el(devices, "Compressor", id=ids(), deviceName="Compressor", deviceRole="audioFX", loaded=True)
        _el(c, "Enabled", id=ids(), value=True)
        # The schema fixes the element order: Attack, AutoMakeup, InputGain, OutputGain, Ratio, ...
        auto.add(_real(c, "Attack", ids, p["attack_ms"] / 1000.0, "seconds"), effect.envelope("attack_ms"), _ms_to_s)
        _el(c, "AutoMakeup", id=ids(), value=False)
        _real(c, "InputGain", ids, 0.0, "decibel")
        _real(c, "OutputGain", ids, 0.0, "decibel")
        auto.add(_real(c, "Ratio", ids, p["ratio"], "linear", lo=1.0, hi=20.0), effect.envelope("ratio"))
        auto.add(_real(c, "Release", ids, p["release_ms"] / 1000.0, "seconds"), effect.envelope("release_ms"),
                 _ms_to_s)
        auto.add(_real(c, "Threshold", ids, p["threshold_db"], "decibel", lo=-60.0, hi=0.0),
                 effect.envelope("threshold_db"))
        return
    from producer.effects import EFFECTS

    dev = _el(devices, "BuiltinDevice", id=ids(), deviceName=k, deviceRole="audioFX", deviceVendor="producer",
              loaded=False, comment=EFFECTS[k].description)
    params = _el(dev, "Parameters")
    for spec in EFFECTS[k].params:
        convert = _ms_to_s if spec.unit == "ms" else (lambda v: v)
        el = _real(params, "RealParameter", ids, convert(p[spec.name]), _UNITS.get(spec.unit, "linear"), name=spec.name)
        auto.add(el, effect.envelope(spec.name), convert)
    _el(dev, "Enabled", id=ids(), value=True)


def _channel(track_el, ids: _Ids, *, role: str, destination: str | None, volume: float, pan: float,
             effects=(), muted: bool = False, track=None, auto: _Automation | None = None) -> ET.Element:
    ch = _el(track_el, "Channel", id=ids(), audioChannels=2, destination=destination, role=role, solo=False)
    auto = auto if auto is not None else _Automation()
    if effects:
        devices = _el(ch, "Devices")
        for effect in effects:
            _device(devices, ids, effect, auto)
    _el(ch, "Mute", id=ids(), name="Mute", value=muted)
    pan_el = _real(ch, "Pan", ids, (pan + 1.0) / 2.0, "normalized", name="Pan", lo=0.0, hi=1.0)
    gain_env = track.envelope("gain_db") if track is not None else None
    top = max([volume] + [db_to_gain(v) for _, v in gain_env or ()])
    vol_el = _real(ch, "Volume", ids, volume, "linear", name="Volume", lo=0.0, hi=max(2.0, top))
    if track is not None:
        auto.add(pan_el, track.envelope("pan"), lambda v: (v + 1.0) / 2.0)
        # Linear gain points: a host interpolates them linearly, ours in dB; dense envelopes
        # (as match writes) keep the two within a fraction of a dB between points.
        auto.add(vol_el, gain_env, db_to_gain)
    return ch


def _points(lanes_el, ids: _Ids, auto: _Automation) -> None:
    """Each gathered envelope as a ``Points`` lane targeting its parameter, times in seconds."""
    for target, unit, points in auto.lanes:
        pts = _el(lanes_el, "Points", id=ids(), unit=unit)
        _el(pts, "Target", parameter=target)
        for t, v in points:
            _el(pts, "RealPoint", time=float(t), value=float(v), interpolation="linear")


def project_xml(project: Project, clips: ClipSet, audio_dir: str = "audio") -> bytes:
    """The ``project.xml`` document; audio clips point at ``audio_dir/<file>`` inside the zip."""
    ids = _Ids()
    root = ET.Element("Project", {"version": FORMAT_VERSION})
    _el(root, "Application", name="producer", version=__version__)
    transport = _el(root, "Transport")
    tempo_el = _real(transport, "Tempo", ids, project.tempo, "bpm", name="Tempo", lo=20.0, hi=400.0)
    num, den = project.time_signature
    meter_el = _el(transport, "TimeSignature", id=ids(), numerator=num, denominator=den)

    structure = _el(root, "Structure")
    track_ids: list[tuple[str, str]] = []  # (audio track id, note track id)
    autos: list[_Automation] = []
    # Built first (the tracks route to its channel), placed last.
    master = ET.Element("Track", {"id": ids(), "name": "Master", "contentType": "audio notes", "loaded": "true"})
    master_channel = _channel(master, ids, role="master", destination=None, volume=1.0, pan=0.0)
    for track in project.tracks:
        audio_track = _el(structure, "Track", id=ids(), name=track.name, contentType="audio", loaded=True)
        autos.append(_Automation())
        _channel(audio_track, ids, role="regular", destination=master_channel.get("id"),
                 volume=db_to_gain(track.gain_db), pan=track.pan, effects=track.effects, track=track, auto=autos[-1])
        note_track = _el(structure, "Track", id=ids(), name=f"{track.name} notes", contentType="notes", loaded=True,
                         comment=f"the notes of {track.name} ({track.instrument}); muted: assign an instrument")
        _channel(note_track, ids, role="regular", destination=master_channel.get("id"), volume=1.0, pan=track.pan,
                 muted=True)
        track_ids.append((audio_track.get("id"), note_track.get("id")))
    structure.append(master)

    arrangement = _el(root, "Arrangement", id=ids())
    lanes = _el(arrangement, "Lanes", id=ids(), timeUnit="seconds")
    sr = clips.sr
    for track, placed, (audio_id, note_id), auto in zip(project.tracks, clips.tracks, track_ids, autos):
        track_lanes = _el(lanes, "Lanes", id=ids(), track=audio_id)
        clip_list = _el(track_lanes, "Clips", id=ids())
        _points(track_lanes, ids, auto)
        for pc in placed:
            start, dur = pc.start_seconds(sr), pc.duration_seconds(sr)
            clip = _el(clip_list, "Clip", name=pc.file[:-4], time=start, duration=dur, playStart=0.0)
            audio = _el(clip, "Audio", id=ids(), channels=1, sampleRate=sr, duration=dur)
            _el(audio, "File", path=f"{audio_dir}/{pc.file}", external=False)
        note_lanes = _el(lanes, "Lanes", id=ids(), track=note_id)
        note_clips = _el(note_lanes, "Clips", id=ids())
        if track.clips:
            from producer.export.midi import velocity_for_gain

            end = max(c.end for c in track.clips)
            nc = _el(note_clips, "Clip", name=f"{track.name} notes", time=0.0, duration=end, playStart=0.0)
            notes = _el(nc, "Notes", id=ids())
            channel = DRUM_CHANNEL if track.instrument == "drums" else 0
            for c in track.clips:
                _el(notes, "Note", time=c.start, duration=c.hold, channel=channel, key=c.pitch,
                    vel=velocity_for_gain(c.gain_db) / 127.0, rel=0.5)
    _time_automation(arrangement, ids, project, tempo_el.get("id"), meter_el.get("id"))
    ET.indent(root, "  ")
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _time_automation(arrangement, ids: _Ids, project: Project, tempo_id: str, meter_id: str) -> None:
    """The arrangement's tempo and time-signature automation: a point per change of
    ``producer.export.conductor`` (the pickup bar, the meter from the downbeat, the tempo map),
    held until the next, at its place in beats (quarter notes), where a tempo map is defined
    without reference to itself. The transport keeps the project's tempo and meter, what a host
    that ignores the automation shows. Not written for one tempo and meter from 0, as before."""
    from producer.export.conductor import Conductor

    timing = Conductor.of(project)
    if timing.simple:
        return
    tempo = _el(arrangement, "TempoAutomation", id=ids(), timeUnit="beats", unit="bpm")
    _el(tempo, "Target", parameter=tempo_id)
    for c in timing.changes:
        _el(tempo, "RealPoint", time=float(c.quarters), value=float(c.bpm), interpolation="hold")
    meters = _el(arrangement, "TimeSignatureAutomation", id=ids(), timeUnit="beats")
    _el(meters, "Target", parameter=meter_id)
    for c in timing.changes:
        if c.meter is not None:
            _el(meters, "TimeSignaturePoint", time=float(c.quarters), numerator=c.meter[0], denominator=c.meter[1])


def metadata_xml(*, title: str = "", comment: str = "") -> bytes:
    root = ET.Element("MetaData")
    if title:
        ET.SubElement(root, "Title").text = title
    ET.SubElement(root, "Producer").text = "producer"
    if comment:
        ET.SubElement(root, "Comment").text = comment
    ET.indent(root, "  ")
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def write_dawproject(
    project: Project,
    clips: ClipSet,
    path: str | os.PathLike,
    *,
    clip_dir: str | os.PathLike | None = None,
    title: str = "",
) -> Path:
    """Write ``path`` (a ``.dawproject`` zip) with the clip audio embedded, read from
    ``clip_dir`` where already written, else encoded here. Returns the path."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        if clip_dir is None:
            clip_dir = clips.write(tmp)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            _store(zf, "project.xml", project_xml(project, clips))
            _store(zf, "metadata.xml", metadata_xml(title=title, comment="exported by producer"))
            for name in clips.audio:
                _store(zf, f"audio/{name}", (Path(clip_dir) / name).read_bytes())
    return path


def _store(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    # A fixed time stamp (the zip format's earliest): the same project gives the same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)
