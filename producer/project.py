"""The multitrack project: the single source of truth that the planner edits, the renderer plays
and every exporter reads.

Values are immutable (frozen dataclasses, tuples); edit with ``dataclasses.replace``. Times are in
seconds, gains in dB, pan in [-1 (left), 1 (right)], pitches are MIDI notes.

``project.json`` (format "producer-project", version 1)::

    {"format": "producer-project", "version": 1, "sample_rate": 44100, "tempo": 120.0,
     "time_signature": [4, 4],
     "tracks": [{"name": "Piano", "instrument": "piano", "gain_db": 0.0, "pan": 0.0,
                 "effects": [{"type": "reverb", "params": {"room_size": 0.5}}],
                 "clips": [{"sample": "piano/C4", "start": 0.0, "hold": 0.5, "pitch": 60,
                            "gain_db": 0.0}]}]}

Loading validates every field and names the bad one (``tracks[0].clips[3].hold``).

Automation (optional; a project without it is written exactly as before): an effect's parameters,
and a track's ``gain_db`` and ``pan``, may carry an envelope of breakpoints, ``[[time s, value],
...]`` with times >= 0 and strictly increasing, values in the parameter's range, linear between
points, held before the first and after the last; the envelope replaces the constant value::

    {"type": "lowpass", "params": {"q": 0.7}, "automation": {"cutoff_hz": [[0.0, 200.0], [2.0, 8000.0]]}}
    {"name": "Pad", ..., "automation": {"gain_db": [[0.0, -24.0], [1.5, 0.0]]}}

The song's time (optional; written only when set): ``downbeat`` is where bar 1 starts (s, at least
0 and under one bar), and ``tempo_map`` the tempo from given times on, ``[[time s, BPM], ...]``:
times strictly increasing, the first at ``downbeat``, each tempo held until the next point. Bar
lines fall at ``downbeat`` and every bar after it, counted through the map; ``tempo`` stays the
piece's one tempo (what a reader that ignores the map shows). Tempi are quarter notes per minute.
The lead-in before ``downbeat`` is not a bar of the meter: every exporter writes it as a short
pickup bar (``producer.export.conductor``)::

    {"tempo": 97.0, "time_signature": [4, 4], "downbeat": 0.43,
     "tempo_map": [[0.43, 97.0], [10.325, 101.5]], ...}
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from producer.errors import InputError, ProjectError
from producer.effects import EFFECTS

FORMAT = "producer-project"
VERSION = 1
# Size limits: a project renders every track at full length in memory (a 600 s stereo stem is
# about 200 MB at 44.1 kHz), so length and track count are bounded, and so is the file itself.
MAX_PROJECT_SECONDS = 600.0
MAX_TRACKS = 64
MAX_CLIPS_PER_TRACK = 10_000
MAX_PROJECT_BYTES = 50 * 2**20
# Breakpoints in one envelope: enough for a 10 ms grid over 40 s, few enough to stay readable.
MAX_AUTOMATION_POINTS = 4096
# The track fields an envelope may drive, with their ranges (the same as the constants').
TRACK_AUTOMATION = {"gain_db": (-96.0, 24.0), "pan": (-1.0, 1.0)}

# Points in a tempo map: 600 s of one-bar changes at 400 BPM in 1/4 is 4000 points; a map from the
# beats changes tempo at most once a bar, and far less often where the tempo holds.
MAX_TEMPO_POINTS = 4096
TEMPO_RANGE = (20.0, 400.0)

# (time s, value) breakpoints, times strictly increasing.
Envelope = tuple[tuple[float, float], ...]


def envelope_at(points: Envelope, t: float) -> float:
    """The envelope's value at ``t`` s: linear between breakpoints, held outside them."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


@dataclass(frozen=True)
class Effect:
    """One effect in a track's chain; ``params`` is a sorted tuple of (name, value) pairs."""

    kind: str
    params: tuple[tuple[str, float], ...] = ()
    # (parameter name, envelope) pairs, sorted by name; an automated parameter follows its
    # envelope and its constant in ``params`` is what a host shows when automation is off.
    automation: tuple[tuple[str, Envelope], ...] = ()

    @classmethod
    def make(cls, kind: str, automation: dict[str, Iterable] | None = None, **params: float) -> "Effect":
        data: dict[str, Any] = {"type": kind, "params": params}
        if automation:
            data["automation"] = {k: [list(p) for p in v] for k, v in automation.items()}
        return _effect_from_dict(data, "effect")

    def envelope(self, name: str) -> Envelope | None:
        for k, env in self.automation:
            if k == name:
                return env
        return None

    def value(self, name: str) -> float:
        for k, v in self.params:
            if k == name:
                return v
        return EFFECTS[self.kind].param(name).default

    @property
    def param_dict(self) -> dict[str, float]:
        return {p.name: self.value(p.name) for p in EFFECTS[self.kind].params}

    def with_param(self, name: str, value: float) -> "Effect":
        d = dict(self.params)
        d[name] = value
        return replace(Effect.make(self.kind, **d), automation=self.automation)


@dataclass(frozen=True)
class Clip:
    """One sample placed on the timeline: starts at ``start`` s, sounds for ``hold`` s, then is
    released (a short fade). ``pitch`` is the MIDI note played; the renderer transposes the sample
    from its root to this pitch, sampler-style (drum hits are not transposed)."""

    sample: str
    start: float
    hold: float
    pitch: int
    gain_db: float = 0.0

    @property
    def end(self) -> float:
        return self.start + self.hold


def _clip_order(c: Clip) -> tuple:
    return (c.start, c.pitch, c.sample, c.hold, c.gain_db)


@dataclass(frozen=True)
class Track:
    name: str
    instrument: str
    gain_db: float = 0.0
    pan: float = 0.0
    effects: tuple[Effect, ...] = ()
    clips: tuple[Clip, ...] = ()
    # ("gain_db" | "pan", envelope) pairs, sorted; see TRACK_AUTOMATION.
    automation: tuple[tuple[str, Envelope], ...] = ()

    def __post_init__(self):
        # Clips are kept in time order, so equal arrangements are equal values (and hash alike).
        clips = tuple(self.clips)
        if any(_clip_order(a) > _clip_order(b) for a, b in zip(clips, clips[1:])):
            clips = tuple(sorted(clips, key=_clip_order))
        object.__setattr__(self, "clips", clips)
        object.__setattr__(self, "effects", tuple(self.effects))
        object.__setattr__(self, "automation", tuple(self.automation))

    def envelope(self, name: str) -> Envelope | None:
        for k, env in self.automation:
            if k == name:
                return env
        return None

    @property
    def automated(self) -> bool:
        """Whether anything on the track moves over time (its gain, pan or an effect parameter)."""
        return bool(self.automation) or any(e.automation for e in self.effects)

    def with_clip(self, clip: Clip) -> "Track":
        return replace(self, clips=self.clips + (clip,))

    @property
    def end(self) -> float:
        return max((c.end for c in self.clips), default=0.0)


@dataclass(frozen=True)
class Project:
    sample_rate: int = 44100
    tempo: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    tracks: tuple[Track, ...] = field(default_factory=tuple)
    # Where bar 1 starts (s), in [0, one bar); the lead-in before it is a pickup in every export.
    downbeat: float = 0.0
    # ((time s, BPM), ...): the tempo from each time on; empty: ``tempo`` throughout. The first
    # point is at ``downbeat``.
    tempo_map: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "tempo_map", tuple((float(t), float(b)) for t, b in self.tempo_map))

    @property
    def bar_quarters(self) -> float:
        """Quarter notes in one bar of the time signature (3 in 6/8)."""
        num, den = self.time_signature
        return num * 4.0 / den

    @property
    def bar_seconds(self) -> float:
        """Length of bar 1 (s): one bar at the tempo in force at ``downbeat``."""
        bpm = self.tempo_map[0][1] if self.tempo_map else self.tempo
        return self.bar_quarters * 60.0 / bpm

    @property
    def end(self) -> float:
        """Time the last clip's hold ends (s), effect tails not included."""
        return max((t.end for t in self.tracks), default=0.0)

    def replace_track(self, index: int, track: Track) -> "Project":
        tracks = list(self.tracks)
        tracks[index] = track
        return replace(self, tracks=tuple(tracks))

    def add_track(self, track: Track) -> "Project":
        return replace(self, tracks=self.tracks + (track,))

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "sample_rate": self.sample_rate,
            "tempo": self.tempo,
            "time_signature": list(self.time_signature),
            # Written only when set: a project without them keeps its bytes.
            **({"downbeat": self.downbeat} if self.downbeat else {}),
            **({"tempo_map": [[t, b] for t, b in self.tempo_map]} if self.tempo_map else {}),
            "tracks": [
                {
                    "name": t.name,
                    "instrument": t.instrument,
                    "gain_db": t.gain_db,
                    "pan": t.pan,
                    "effects": [_effect_to_dict(e) for e in t.effects],
                    "clips": [
                        {"sample": c.sample, "start": c.start, "hold": c.hold, "pitch": c.pitch,
                         "gain_db": c.gain_db}
                        for c in t.clips
                    ],
                    **({"automation": _automation_to_dict(t.automation)} if t.automation else {}),
                }
                for t in self.tracks
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def from_dict(cls, data: Any) -> "Project":
        return _project_from_dict(data)


def _automation_to_dict(automation) -> dict[str, list[list[float]]]:
    return {name: [[t, v] for t, v in env] for name, env in automation}


def _effect_to_dict(e: Effect) -> dict[str, Any]:
    d: dict[str, Any] = {"type": e.kind, "params": dict(e.params)}
    if e.automation:  # written only when present: projects without automation keep their bytes
        d["automation"] = _automation_to_dict(e.automation)
    return d


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate ``project.json``. Raises InputError / ProjectError naming the problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a project file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    if path.stat().st_size > MAX_PROJECT_BYTES:
        raise InputError(f"{path}: {path.stat().st_size} bytes, over the limit of {MAX_PROJECT_BYTES} for a project file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read project file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ProjectError(f"{path}: invalid JSON ({exc})") from None
    except RecursionError:
        raise ProjectError(f"{path}: invalid JSON (nested too deeply)") from None
    try:
        return _project_from_dict(data)
    except ProjectError as exc:
        raise ProjectError(f"{path}: {exc}") from None


# --- validation: one check per field ---------------------------------------------------------

def _fields(data: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: expected an object, got {type(data).__name__}")
    required, optional = tuple(required), tuple(optional)
    for key in data:
        if key not in required and key not in optional:
            raise ProjectError(f"{_join(where, key)}: unknown field")
    for key in required:
        if key not in data:
            raise ProjectError(f"{_join(where, key)}: missing field")
    return data


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _number(data: dict, key: str, where: str, low: float, high: float, default: float | None = None) -> float:
    if key not in data:
        if default is None:
            raise ProjectError(f"{_join(where, key)}: missing field")
        return default
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ProjectError(f"{_join(where, key)}: expected a finite number, got {v!r}")
    if not low <= v <= high:
        raise ProjectError(f"{_join(where, key)}: {v!r} is outside [{low:g}, {high:g}]")
    return float(v)


def _integer(data: dict, key: str, where: str, low: int, high: int, default: int | None = None) -> int:
    if key not in data and default is not None:
        return default
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ProjectError(f"{_join(where, key)}: expected an integer, got {v!r}")
    if not low <= v <= high:
        raise ProjectError(f"{_join(where, key)}: {v!r} is outside [{low}, {high}]")
    return v


def _string(data: dict, key: str, where: str, max_len: int = 200) -> str:
    v = data.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ProjectError(f"{_join(where, key)}: expected a non-empty string, got {v!r}")
    if len(v) > max_len:
        raise ProjectError(f"{_join(where, key)}: longer than {max_len} characters")
    if any(ord(ch) < 32 for ch in v):
        raise ProjectError(f"{_join(where, key)}: holds control characters")
    return v


def _list(data: dict, key: str, where: str) -> list:
    v = data.get(key, [])
    if not isinstance(v, list):
        raise ProjectError(f"{_join(where, key)}: expected a list, got {type(v).__name__}")
    return v


def _project_from_dict(data: Any) -> Project:
    _fields(data, "", ("format", "version", "tracks"),
            ("sample_rate", "tempo", "time_signature", "downbeat", "tempo_map"))
    if data["format"] != FORMAT:
        raise ProjectError(f"format: expected {FORMAT!r}, got {data['format']!r}")
    if data["version"] != VERSION:
        raise ProjectError(f"version: {data['version']!r} is not supported (this producer reads {VERSION})")
    sr = _integer(data, "sample_rate", "", 8000, 192000, default=44100)
    tempo = _number(data, "tempo", "", *TEMPO_RANGE, default=120.0)
    ts = data.get("time_signature", [4, 4])
    if (not isinstance(ts, list) or len(ts) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in ts)
            or not 1 <= ts[0] <= 32 or ts[1] not in (1, 2, 4, 8, 16, 32)):
        raise ProjectError(f"time_signature: expected [beats 1-32, note value 1/2/4/8/16/32], got {ts!r}")
    raw_tracks = _list(data, "tracks", "")
    if len(raw_tracks) > MAX_TRACKS:
        raise ProjectError(f"tracks: {len(raw_tracks)} tracks, over the limit of {MAX_TRACKS}")
    tracks = tuple(_track_from_dict(t, f"tracks[{i}]") for i, t in enumerate(raw_tracks))
    names = [t.name for t in tracks]
    for i, n in enumerate(names):
        if names.index(n) != i:
            raise ProjectError(f"tracks[{i}].name: {n!r} is used by another track")
    for i, t in enumerate(tracks):
        if t.end > MAX_PROJECT_SECONDS:
            raise ProjectError(f"tracks[{i}]: ends at {t.end:g} s, over the limit of {MAX_PROJECT_SECONDS:g} s")
    project = Project(sample_rate=sr, tempo=tempo, time_signature=(ts[0], ts[1]), tracks=tracks)
    return _time_from_dict(data, project)


def _time_from_dict(data: dict, project: Project) -> Project:
    """``project`` with ``data``'s downbeat and tempo map, checked: the map's points in order, the
    first at the downbeat, and the downbeat inside one bar at the tempo in force there."""
    downbeat = _number(data, "downbeat", "", 0.0, MAX_PROJECT_SECONDS, default=0.0)
    raw = data.get("tempo_map", [])
    if not isinstance(raw, list):
        raise ProjectError(f"tempo_map: expected a list of [time s, BPM] points, got {type(raw).__name__}")
    if len(raw) > MAX_TEMPO_POINTS:
        raise ProjectError(f"tempo_map: {len(raw)} points, over the limit of {MAX_TEMPO_POINTS}")
    points: list[tuple[float, float]] = []
    for i, point in enumerate(raw):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise ProjectError(f"tempo_map[{i}]: expected [time s, BPM], got {point!r}")
        pair = {"time": point[0], "bpm": point[1]}
        t = _number(pair, "time", f"tempo_map[{i}]", 0.0, MAX_PROJECT_SECONDS)
        bpm = _number(pair, "bpm", f"tempo_map[{i}]", *TEMPO_RANGE)
        if points and t <= points[-1][0]:
            raise ProjectError(f"tempo_map[{i}].time: {t:g} s is not after the previous point's "
                               f"{points[-1][0]:g} s (times must increase)")
        points.append((t, bpm))
    if points and points[0][0] != downbeat:
        raise ProjectError(f"tempo_map[0].time: {points[0][0]:g} s, expected the downbeat ({downbeat:g} s): "
                           "the map starts at bar 1")
    project = replace(project, downbeat=downbeat, tempo_map=tuple(points))
    if downbeat >= project.bar_seconds:
        raise ProjectError(f"downbeat: {downbeat:g} s is not inside the first bar (one bar is "
                           f"{project.bar_seconds:.6g} s at {project.tempo_map[0][1] if points else project.tempo:g} BPM)")
    return project


def _track_from_dict(data: Any, where: str) -> Track:
    from producer.instruments import INSTRUMENTS

    _fields(data, where, ("name", "instrument"), ("gain_db", "pan", "effects", "clips", "automation"))
    name = _string(data, "name", where, max_len=64)
    inst = _string(data, "instrument", where)
    if inst not in INSTRUMENTS:
        raise ProjectError(f"{where}.instrument: unknown instrument {inst!r} (known: {', '.join(INSTRUMENTS)})")
    if len(_list(data, "clips", where)) > MAX_CLIPS_PER_TRACK:
        raise ProjectError(f"{where}.clips: {len(data['clips'])} clips, over the limit of {MAX_CLIPS_PER_TRACK} a track")
    return Track(
        name=name,
        instrument=inst,
        gain_db=_number(data, "gain_db", where, -96.0, 24.0, default=0.0),
        pan=_number(data, "pan", where, -1.0, 1.0, default=0.0),
        effects=tuple(_effect_from_dict(e, f"{where}.effects[{i}]") for i, e in enumerate(_list(data, "effects", where))),
        clips=tuple(_clip_from_dict(c, f"{where}.clips[{i}]") for i, c in enumerate(_list(data, "clips", where))),
        automation=_automation_from_dict(data, where, TRACK_AUTOMATION),
    )


def _effect_from_dict(data: Any, where: str) -> Effect:
    _fields(data, where, ("type",), ("params", "automation"))
    kind = data["type"]
    if not isinstance(kind, str) or kind not in EFFECTS:
        raise ProjectError(f"{where}.type: unknown effect {kind!r} (known: {', '.join(EFFECTS)})")
    spec = EFFECTS[kind]
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ProjectError(f"{where}.params: expected an object")
    known = {p.name: p for p in spec.params}
    values = []
    for key in params:
        if key not in known:
            raise ProjectError(f"{where}.params.{key}: unknown parameter of {kind} (known: {', '.join(known)})")
        p = known[key]
        values.append((key, _number(params, key, f"{where}.params", p.low, p.high)))
    ranges = {p.name: (p.low, p.high) for p in spec.params}
    return Effect(kind=kind, params=tuple(sorted(values)), automation=_automation_from_dict(data, where, ranges))


def _automation_from_dict(data: dict, where: str, ranges: dict[str, tuple[float, float]]) -> tuple:
    """``data["automation"]`` -> sorted (name, envelope) pairs; every point checked."""
    raw = data.get("automation", {})
    where = _join(where, "automation")
    if not isinstance(raw, dict):
        raise ProjectError(f"{where}: expected an object of envelopes, got {type(raw).__name__}")
    out = []
    for name, points in raw.items():
        if name not in ranges:
            raise ProjectError(f"{where}.{name}: cannot be automated (automatable: {', '.join(ranges)})")
        at = f"{where}.{name}"
        if not isinstance(points, list) or not points:
            raise ProjectError(f"{at}: expected a non-empty list of [time s, value] points")
        if len(points) > MAX_AUTOMATION_POINTS:
            raise ProjectError(f"{at}: {len(points)} points, over the limit of {MAX_AUTOMATION_POINTS}")
        low, high = ranges[name]
        env = []
        for i, point in enumerate(points):
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise ProjectError(f"{at}[{i}]: expected [time s, value], got {point!r}")
            pair = {"time": point[0], "value": point[1]}
            t = _number(pair, "time", f"{at}[{i}]", 0.0, MAX_PROJECT_SECONDS)
            v = _number(pair, "value", f"{at}[{i}]", low, high)
            if env and t <= env[-1][0]:
                raise ProjectError(f"{at}[{i}].time: {t:g} s is not after the previous point's {env[-1][0]:g} s "
                                   "(times must increase)")
            env.append((t, v))
        out.append((name, tuple(env)))
    return tuple(sorted(out))


def _clip_from_dict(data: Any, where: str) -> Clip:
    _fields(data, where, ("sample", "start", "hold", "pitch"), ("gain_db",))
    sample = _string(data, "sample", where, max_len=1000)
    return Clip(
        sample=sample,
        start=_number(data, "start", where, 0.0, MAX_PROJECT_SECONDS),
        hold=_number(data, "hold", where, 1e-3, MAX_PROJECT_SECONDS),
        pitch=_integer(data, "pitch", where, 0, 127),
        gain_db=_number(data, "gain_db", where, -96.0, 24.0, default=0.0),
    )
