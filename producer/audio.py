"""The only place that reads and writes audio files.

Audio inside producer is ``np.ndarray`` float32 of shape (channels, n) unless a function says
mono, in which case it is shape (n,).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from producer.errors import InputError


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an audio file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: file is not readable")


def load_audio(
    path: str | os.PathLike,
    *,
    sr: int | None = None,
    mono: bool = False,
    max_duration: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read an audio file.

    Returns ``(y, sr)``: y is float32 [shape=(channels, n)], or [shape=(n,)] when ``mono``.
    Resampled to ``sr`` when given. Raises InputError naming the file for anything unusable:
    missing, unreadable, not audio, empty, NaN/inf samples, or longer than ``max_duration`` s.
    """
    path = Path(path)
    _check_file(path)
    y, file_sr = _read_any(path)
    if y.shape[1] == 0:
        raise InputError(f"{path}: audio file holds no samples")
    if not np.all(np.isfinite(y)):
        raise InputError(f"{path}: audio holds NaN or infinite samples")
    duration = y.shape[1] / file_sr
    if max_duration is not None and duration > max_duration:
        raise InputError(
            f"{path}: audio is {duration:.1f} s long, over the limit of {max_duration:g} s "
            "(raise it with --max-duration)"
        )
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    if mono:
        return to_mono(y), file_sr
    return y, file_sr


def _read_any(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), int(file_sr)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        pass
    # pedalboard reads what libsndfile does not (mp3, m4a/aac via the OS codecs where present).
    try:
        from pedalboard.io import AudioFile

        with AudioFile(str(path)) as f:
            data = f.read(f.frames)
            return np.ascontiguousarray(data, dtype=np.float32), int(f.samplerate)
    except Exception:
        raise InputError(f"{path}: not an audio file that can be read") from None


def write_audio(path: str | os.PathLike, y: np.ndarray, sr: int, *, subtype: str = "PCM_24") -> None:
    """Write y [shape=(channels, n) or (n,)] as WAV (24-bit by default), or FLAC by extension."""
    import soundfile as sf

    y = np.asarray(y, dtype=np.float32)
    data = y if y.ndim == 1 else y.T
    sf.write(str(path), data, int(sr), subtype=subtype)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average channels: (channels, n) -> (n,); (n,) passes through."""
    y = np.asarray(y, dtype=np.float32)
    return y if y.ndim == 1 else y.mean(axis=0)


def to_stereo(y: np.ndarray) -> np.ndarray:
    """(n,) or (1, n) -> (2, n); (2, n) passes through."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[None, :]
    if y.shape[0] == 1:
        return np.repeat(y, 2, axis=0)
    if y.shape[0] == 2:
        return y
    raise InputError(f"cannot make stereo from {y.shape[0]} channels")


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling along the last axis (soxr high quality)."""
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    import soxr

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr).astype(np.float32)
    return np.ascontiguousarray(soxr.resample(y.T, orig_sr, target_sr).T, dtype=np.float32)


def peak_dbfs(y: np.ndarray) -> float:
    peak = float(np.max(np.abs(y))) if np.size(y) else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else -np.inf


def rms_dbfs(y: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if np.size(y) else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else -np.inf


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))
