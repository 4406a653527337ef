"""The audio the page embeds: previews at 22.05 kHz mono, WAV data URIs and the players.

Audio arrives as [shape=(channels, n)] or [shape=(n,)] (mono); nothing else is accepted.
"""
from __future__ import annotations

import base64
import io
import math
import wave
from typing import Any

import numpy as np

from producer.audio import resample, to_mono
from producer.export.report.page import PREVIEW_SR


def _as_channels(y: Any) -> np.ndarray:
    """Audio [shape=(channels, n)] or mono [shape=(n,)] -> float32 [shape=(channels, n)],
    non-finite samples zeroed."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[0] > 8:
        raise ValueError(f"report audio must be (channels, n) or (n,), given shape {y.shape}")
    return np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)


def _duration(y: Any, sr: int) -> float:
    return _as_channels(y).shape[1] / sr if sr else 0.0


def _preview(y: Any, sr: int) -> np.ndarray:
    """Mono at PREVIEW_SR [shape=(n,)] for the players and the plots."""
    y = to_mono(_as_channels(y))
    if y.size == 0 or not sr:
        return np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(resample(y, int(sr), PREVIEW_SR), dtype=np.float32)


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    pcm = (np.clip(y, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _players(rows, note: str) -> str:
    """One player a row [(label, mono preview at PREVIEW_SR, colour)], then ``note``."""
    cells = []
    for label, y, colour in rows:
        if y.size == 0:
            cells.append(f'<div class="player"><h3 style="color:{colour}">{label}</h3><p class="empty">no audio</p></div>')
            continue
        data = base64.b64encode(_wav_bytes(y, PREVIEW_SR)).decode("ascii")
        peak = float(np.max(np.abs(y)))
        clipped = " · clipped in this preview" if peak > 1.0 else ""
        cells.append(
            f'<div class="player"><h3 style="color:{colour}">{label}</h3>'
            f'<audio controls preload="metadata" src="data:audio/wav;base64,{data}"></audio>'
            f'<p class="small">{len(y) / PREVIEW_SR:.2f} s · peak {_dbfs(peak)}{clipped}</p></div>'
        )
    return '<div class="players">' + "".join(cells) + f'</div><p class="small">{note}</p>'


def _dbfs(peak: float) -> str:
    return f"{20 * math.log10(peak):.1f} dBFS" if peak > 0 else "silent"
