"""REAPER project (``.rpp``): a track per project track with its volume, pan and FX chain; each
clip an item at its exact position, playing its dry clip file (paths relative to the .rpp).

REAPER's text format is nested ``<TAG args`` ... ``>`` blocks of ``KEY value...`` lines; it is
written by hand here and read back by ``parse_rpp`` (the tests use it; so may anyone who wants to
check a file without REAPER).

Limits, stated: effects are named REAPER's stock plugins (ReaEQ, ReaComp, ReaVerbate, ReaDelay,
JS chorus/distortion) with their default settings, because a VST's parameters live in an opaque
binary state blob; our values are written into each track's notes. REAPER's pan law is its own
(set in the project), so panned tracks may differ from our mix by a fraction of a dB.

The song's time: ``TEMPO`` holds the project's tempo and time signature; where the project has
a downbeat after 0 or a tempo map, tempo markers (``TEMPOENVEX``) add a pickup bar for the lead-in
and the map's changes (``producer.export.conductor``), so REAPER's bar lines fall on the downbeats.

Automation: track gain as a ``VOLENV2`` envelope (linear amplitude points, REAPER's amplitude
mode), pan as ``PANENV2`` (REAPER stores pan envelope points with the sign flipped, +1 = left),
both linear between points (shape 0). An automated effect parameter becomes a ``PARMENV`` after
its plugin, indexed by the parameter's place in our vocabulary with values normalised to its range
(the stand-in plugins' own parameter lists differ; the envelope keeps the movement to re-assign).
"""
from __future__ import annotations

import os
import shlex
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from producer.audio import db_to_gain
from producer.effects import EFFECTS
from producer.export.clips import ClipSet
from producer.project import Effect, Project

# (block tag, name as REAPER lists it, file/id line) for each effect kind. The plugin is named by
# file only (id 0): REAPER finds its stock plugins by file name on every platform.
_REAPER_FX = {
    "lowpass": ("VST", "VST: ReaEQ (Cockos)", 'reaeq.dll 0 "" 0 ""'),
    "highpass": ("VST", "VST: ReaEQ (Cockos)", 'reaeq.dll 0 "" 0 ""'),
    "peak": ("VST", "VST: ReaEQ (Cockos)", 'reaeq.dll 0 "" 0 ""'),
    "low_shelf": ("VST", "VST: ReaEQ (Cockos)", 'reaeq.dll 0 "" 0 ""'),
    "high_shelf": ("VST", "VST: ReaEQ (Cockos)", 'reaeq.dll 0 "" 0 ""'),
    "compressor": ("VST", "VST: ReaComp (Cockos)", 'reacomp.dll 0 "" 0 ""'),
    "reverb": ("VST", "VST: ReaVerbate (Cockos)", 'reaverbate.dll 0 "" 0 ""'),
    "delay": ("VST", "VST: ReaDelay (Cockos)", 'readelay.dll 0 "" 0 ""'),
    "chorus": ("JS", "chorus", '""'),
    "distortion": ("JS", "distortion", '""'),
}


def fx_name(effect: Effect) -> str:
    """The name REAPER shows for the plugin standing in for ``effect``."""
    tag, name, _ = _REAPER_FX[effect.kind]
    return name if tag == "VST" else f"JS: {name}"


def _q(text: str) -> str:
    """Quote a string for an .rpp line (REAPER accepts ", ' or ` as quotes)."""
    for quote in ('"', "'", "`"):
        if quote not in text:
            return f"{quote}{text}{quote}"
    return '"' + text.replace('"', "'") + '"'


def _guid(*key) -> str:
    # Derived from the item's place in the project, not random: the same project gives the same file.
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "producer/" + "/".join(map(str, key)))).upper() + "}"


def _num(v: float) -> str:
    return repr(float(v))


def _envelope_block(tag: str, args: str, guid: str, points, indent: str) -> list[str]:
    lines = [f"{indent}<{tag}{(' ' + args) if args else ''}", f"{indent}  EGUID {guid}", f"{indent}  ACT 1 -1",
             f"{indent}  VIS 1 1 1", f"{indent}  LANEHEIGHT 0 0", f"{indent}  ARM 0", f"{indent}  DEFSHAPE 0 -1 -1"]
    lines += [f"{indent}  PT {_num(t)} {_num(v)} 0" for t, v in points]
    return lines + [f"{indent}>"]


def _tempo_envelope(project: Project) -> list[str]:
    """The project's tempo markers (``TEMPOENVEX``): one per change of
    ``producer.export.conductor`` (the pickup bar, the meter from the downbeat, the tempo map), at
    its time in seconds, square (the tempo steps there); a marker that starts a meter carries it as
    65536 x denominator + numerator. None for one tempo and meter from 0: the ``TEMPO`` line says it."""
    from producer.export.conductor import Conductor

    timing = Conductor.of(project)
    if timing.simple:
        return []
    lines = ["  <TEMPOENVEX", f"    EGUID {_guid('tempo')}", "    ACT 1 -1", "    VIS 1 0 1", "    LANEHEIGHT 0 0",
             "    ARM 0", "    DEFSHAPE 1 -1 -1"]
    for c in timing.changes:
        meter = f" {c.meter[1] * 65536 + c.meter[0]}" if c.meter is not None else ""
        lines.append(f"    PT {_num(c.seconds)} {_num(c.bpm)} 1{meter}")
    return lines + ["  >"]


def rpp_text(project: Project, clips: ClipSet, clip_dir: str = "clips") -> str:
    """The .rpp document; items read ``clip_dir/<file>`` relative to the .rpp's folder.

    Long because a REAPER project is one nested text block, read most easily in the order the file
    has it (project, tracks, FX chains, items)."""
    sr = clips.sr
    num, den = project.time_signature
    lines = [
        '<REAPER_PROJECT 0.1 "6.0/producer" 0',
        "  RIPPLE 0",
        f"  TEMPO {_num(project.tempo)} {num} {den}",
        f"  SAMPLERATE {sr} 1 0",  # 1: the project rate is forced, so positions in samples hold
        f"  LENGTH {_num(clips.end_frame / sr)}" if clips.end_frame else "  LENGTH 0",
    ]
    lines += _tempo_envelope(project)
    for ti, (track, placed) in enumerate(zip(project.tracks, clips.tracks)):
        vol = db_to_gain(track.gain_db)
        lines += [
            f"  <TRACK {_guid(ti)}",
            f"    NAME {_q(track.name)}",
            f"    VOLPAN {_num(vol)} {_num(track.pan)} -1 -1 1",
            "    MUTESOLO 0 0 0",
            "    NCHAN 2",
        ]
        gain_env, pan_env = track.envelope("gain_db"), track.envelope("pan")
        if gain_env is not None:
            lines += _envelope_block("VOLENV2", "", _guid(ti, "volenv"),
                                     [(t, db_to_gain(v)) for t, v in gain_env], "    ")
        if pan_env is not None:
            lines += _envelope_block("PANENV2", "", _guid(ti, "panenv"), [(t, -v) for t, v in pan_env], "    ")
        if track.effects:
            lines += ["    <NOTES 0 2"]
            for e in track.effects:
                params = ", ".join(f"{k}={v:g}" for k, v in e.param_dict.items())
                lines.append(f"      |{fx_name(e)}: producer {e.kind} ({params})")
            lines += ["    >"]
            lines += ["    <FXCHAIN", "      SHOW 0", "      LASTSEL 0", "      DOCKED 0"]
            for fi, e in enumerate(track.effects):
                tag, name, ident = _REAPER_FX[e.kind]
                lines += ["      BYPASS 0 0 0"]
                if tag == "VST":
                    lines += [f"      <VST {_q(name)} {ident}", "      >"]
                else:
                    lines += [f"      <JS {name} {ident}", "      >"]
                lines += ["      FLOATPOS 0 0 0 0", f"      FXID {_guid(ti, 'fx', fi)}"]
                specs = [q.name for q in EFFECTS[e.kind].params]
                for name, env in e.automation:
                    q = EFFECTS[e.kind].param(name)
                    norm = [(t, (v - q.low) / (q.high - q.low)) for t, v in env]
                    lines += _envelope_block("PARMENV", f"{specs.index(name)} 0 1 0.5", _guid(ti, "fx", fi, name),
                                             norm, "      ")
                lines += ["      WAK 0 0"]
            lines += ["    >"]
        for ci, pc in enumerate(placed):
            lines += [
                "    <ITEM",
                f"      POSITION {_num(pc.start_seconds(sr))}",
                f"      LENGTH {_num(pc.duration_seconds(sr))}",
                "      LOOP 0",
                # No item fades: each clip file already ends in its release.
                "      FADEIN 1 0 0 1 0 0 0",
                "      FADEOUT 1 0 0 1 0 0 0",
                "      VOLPAN 1 0 1 -1",
                "      SOFFS 0",
                f"      NAME {_q(pc.file[:-4])}",
                f"      IGUID {_guid(ti, 'item', ci)}",
                "      <SOURCE WAVE",
                f"        FILE {_q(f'{clip_dir}/{pc.file}')}",
                "      >",
                "    >",
            ]
        lines.append("  >")
    lines.append(">")
    return "\n".join(lines) + "\n"


def write_rpp(project: Project, clips: ClipSet, path: str | os.PathLike, *, clip_dir: str = "clips") -> Path:
    """Write ``path``; the clip files must be (or be put) in ``clip_dir`` beside it."""
    path = Path(path)
    path.write_text(rpp_text(project, clips, clip_dir))
    return path


# --- reading back ------------------------------------------------------------------------------

@dataclass
class RppNode:
    """One ``<TAG args`` block: its arguments, its ``KEY values`` lines and its child blocks."""

    tag: str
    args: list[str]
    lines: list[list[str]] = field(default_factory=list)
    children: list["RppNode"] = field(default_factory=list)

    def value(self, key: str) -> list[str] | None:
        for line in self.lines:
            if line and line[0] == key:
                return line[1:]
        return None

    def find_all(self, tag: str) -> list["RppNode"]:
        return [c for c in self.children if c.tag == tag]


def _split(line: str) -> list[str]:
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.quotes = "\"'`"
    lex.commenters = ""
    return list(lex)


def parse_rpp(text: str) -> RppNode:
    """Parse .rpp text into a tree of ``RppNode``; raises ValueError on unbalanced blocks."""
    stack: list[RppNode] = []
    root: RppNode | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("<"):
            words = _split(line[1:])
            node = RppNode(words[0], words[1:])
            if stack:
                stack[-1].children.append(node)
            elif root is None:
                root = node
            else:
                raise ValueError("more than one top-level block")
            stack.append(node)
        elif line == ">":
            if not stack:
                raise ValueError("unbalanced '>'")
            stack.pop()
        elif stack:
            # Notes lines start with '|' and hold free text.
            stack[-1].lines.append([line] if line.startswith("|") else _split(line))
        else:
            raise ValueError(f"text outside any block: {line!r}")
    if stack or root is None:
        raise ValueError("unterminated block")
    return root
