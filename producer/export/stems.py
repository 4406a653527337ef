"""Stems and mix as 24-bit WAV: every stem the same length, starting at 0, effect tails kept."""
from __future__ import annotations

import re
from pathlib import Path

from producer.audio import write_audio
from producer.render.engine import Render


def stem_filename(index: int, track_name: str) -> str:
    """``NN_<track>.wav`` with the track name made safe for every filesystem."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", track_name).strip("._") or "track"
    return f"{index + 1:02d}_{safe}.wav"


def write_stems(render: Render, folder: str | Path) -> list[Path]:
    """Write ``folder/stems/NN_<track>.wav`` for every track; returns the paths in track order."""
    stems_dir = Path(folder) / "stems"
    stems_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, stem) in enumerate(zip(render.track_names, render.stems)):
        path = stems_dir / stem_filename(i, name)
        write_audio(path, stem, render.sr)
        paths.append(path)
    return paths


def write_mix(render: Render, path: str | Path) -> Path:
    write_audio(path, render.mix, render.sr)
    return Path(path)
