"""The dry clip audio that DAW sessions reference.

A clip is not a plain sample: the renderer transposes the sample from its root to the clip's
pitch, holds it, releases it over 30 ms and applies the clip gain. No DAW can reproduce that from
the raw one-shot, so every distinct clip is printed once, exactly as ``Renderer.clip_audio``
makes it, to its own mono 32-bit float WAV. Sessions place these files at the clip's start, so a
session played without effects sums to our dry mix to the last bit that the float format holds,
and the user can still move, cut or re-gain each clip. Clips that sound the same (same sample,
pitch, hold and gain) share one file.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.instruments import note_name
from producer.project import Clip, Project

# Float samples: the files hold the renderer's audio unchanged (no dither, no clipping above 0 dBFS).
SUBTYPE = "FLOAT"


@dataclass(frozen=True)
class PlacedClip:
    """One clip on a track: which file plays, from which sample (frame) and for how many."""

    clip: Clip
    file: str  # file name inside the clip folder
    start_frame: int  # round(clip.start * sr), the renderer's own rounding
    frames: int

    def start_seconds(self, sr: int) -> float:
        return self.start_frame / sr

    def duration_seconds(self, sr: int) -> float:
        return self.frames / sr


@dataclass(frozen=True)
class ClipSet:
    """Every clip of a project as audio: ``audio`` maps file name -> mono float32 [shape=(n,)],
    ``tracks`` holds each project track's placed clips, in track order."""

    sr: int
    audio: dict[str, np.ndarray]
    tracks: tuple[tuple[PlacedClip, ...], ...]

    @property
    def end_frame(self) -> int:
        """The frame after the last sample of the last clip (0 for an empty project)."""
        return max((p.start_frame + p.frames for t in self.tracks for p in t), default=0)

    def write(self, folder: str | os.PathLike) -> Path:
        """Write every file into ``folder`` (created); returns it."""
        from producer.audio import write_audio

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, y in self.audio.items():
            write_audio(folder / name, y, self.sr, subtype=SUBTYPE)
        return folder

    def link_into(self, source: str | os.PathLike, folder: str | os.PathLike) -> Path:
        """Put the files already written in ``source`` into ``folder`` too: hard links where the
        filesystem allows (sessions in one output folder then cost no extra space), else copies."""
        source, folder = Path(source), Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.audio:
            try:
                os.link(source / name, folder / name)
            except OSError:
                shutil.copyfile(source / name, folder / name)
        return folder


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return s[:60] or "clip"


def _file_name(clip: Clip) -> str:
    name = f"{_slug(clip.sample)}_{note_name(clip.pitch).replace('#', 's')}_{int(round(clip.hold * 1000))}ms"
    if clip.gain_db:
        name += f"_{clip.gain_db:+.1f}dB".replace("+", "p").replace("-", "m")
    return name


def collect_clips(project: Project, renderer, *, sr: int | None = None) -> ClipSet:
    """Print every clip of ``project`` with ``renderer`` (a ``Renderer``) at ``sr`` (default: the
    project's rate). Raises SampleError naming the clip when a sample cannot be found."""
    from producer.errors import SampleError

    sr = int(sr or project.sample_rate)
    by_key: dict[tuple, str] = {}
    audio: dict[str, np.ndarray] = {}
    tracks = []
    for ti, track in enumerate(project.tracks):
        placed = []
        for ci, clip in enumerate(track.clips):
            key = (clip.sample, clip.pitch, clip.hold, clip.gain_db)
            name = by_key.get(key)
            if name is None:
                try:
                    y = renderer.clip_audio(clip, sr)
                except SampleError as exc:
                    raise SampleError(f"tracks[{ti}].clips[{ci}].sample: {exc}") from None
                base = _file_name(clip)
                name = f"{base}.wav"
                n = 2
                while name in audio:  # two samples whose ids slug to the same text
                    name = f"{base}_{n}.wav"
                    n += 1
                by_key[key] = name
                audio[name] = np.asarray(y, dtype=np.float32)
            placed.append(PlacedClip(clip=clip, file=name, start_frame=int(round(clip.start * sr)),
                                     frames=len(audio[name])))
        tracks.append(tuple(placed))
    return ClipSet(sr=sr, audio=audio, tracks=tuple(tracks))
