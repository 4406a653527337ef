"""The only place that reads and writes audio files.

Audio inside producer is ``np.ndarray`` float32 of shape (channels, n) unless a function says
mono, in which case it is shape (n,).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from producer.errors import InputError


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an audio file")
    if not path.is_file():
        # A FIFO or device would block the reader forever.
        raise InputError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: file is not readable")


def _check_max_duration(max_duration: float | None) -> None:
    if max_duration is not None and not (math.isfinite(max_duration) and max_duration > 0):
        raise InputError(f"--max-duration must be a positive number of seconds, given {max_duration}")


def audio_duration(path: str | os.PathLike, *, max_duration: float | None = None) -> float:
    """Length of an audio file in seconds, read from its header without decoding the audio.

    Raises InputError when the file is unusable or longer than ``max_duration`` s, so a huge file
    is refused before its samples ever reach memory.
    """
    path = Path(path)
    _check_file(path)
    _check_max_duration(max_duration)
    frames, file_sr = _header(path)
    duration = frames / file_sr if file_sr > 0 else 0.0
    if max_duration is not None and duration > max_duration:
        raise InputError(
            f"{path}: audio is {duration:.1f} s long, over the limit of {max_duration:g} s "
            "(raise it with --max-duration)"
        )
    return duration


def _header(path: Path) -> tuple[int, int]:
    """(frames, sample rate) from the file's header."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        return int(info.frames), int(info.samplerate)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        pass
    try:
        from pedalboard.io import AudioFile

        with AudioFile(str(path)) as f:
            return int(f.frames), int(f.samplerate)
    except Exception:
        raise InputError(f"{path}: not an audio file that can be read") from None


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
    audio_duration(path, max_duration=max_duration)
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
    channels = 1 if data.ndim == 1 else data.shape[1]
    with sf.SoundFile(str(path), "w", int(sr), channels, subtype=subtype) as f:
        if subtype in ("FLOAT", "DOUBLE"):
            # libsndfile stamps float WAVs with the time of writing (PEAK chunk); without it the
            # same render gives the same bytes.
            sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        f.write(data)


_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile's command number (sndfile.h)


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
