"""Spectral features for the timbre CNN: log-mel, batched (the planner frames its own chroma and mel in
producer.planner.features).

numpy in, numpy out; options are keyword-only. Every function takes mono audio at
``sr`` Hz as ``y`` [shape=(n,)] or [shape=(..., n)] (any leading batch shape) and returns
float32 with the same leading shape followed by (bands, frames).

Frames are centred (the signal is zero-padded by n_fft // 2 on both sides, as librosa does
by default), so ``frames = 1 + n // hop_length``: 1 s at 22,050 Hz gives 44 frames, 3 s 130.

The STFT is producer.framing's (scipy, batched), the rest runs in torch; both are imported lazily.
"""
from __future__ import annotations

import functools

import numpy as np

from producer import framing
from producer.errors import InputError

SR = 22050
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
# -100 dB floor: with peak-normalised input no musical content sits below it, and a fixed
# absolute floor (not relative to each example's maximum) keeps level differences visible.
AMIN = 1e-10


def frames_for(n: int, *, hop_length: int = HOP_LENGTH) -> int:
    """Number of centred frames for ``n`` samples."""
    return framing.n_frames(n, n_fft=N_FFT, hop_length=hop_length)


def _check_y(y, sr: int, n_fft: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 0:
        raise InputError(f"y must be audio samples, given a scalar (y.shape={y.shape})")
    if y.shape[-1] == 0:
        raise InputError(f"y holds no samples (given y.shape={y.shape})")
    if not np.all(np.isfinite(y)):
        raise InputError("y holds NaN or infinite samples")
    if sr <= 0:
        raise InputError(f"sr must be positive, given sr={sr}")
    if n_fft <= 0:
        raise InputError(f"n_fft must be positive, given n_fft={n_fft}")
    return y


def peak_normalize(y: np.ndarray) -> np.ndarray:
    """Scale each row so its absolute peak is 1; silent rows stay zero. Shape is kept."""
    y = np.asarray(y, dtype=np.float32)
    peak = np.max(np.abs(y), axis=-1, keepdims=True)
    return np.where(peak > 0, y / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _power_spec_torch(y2d, n_fft: int, hop_length: int):
    """y2d: torch float32 [shape=(b, n)] -> power spectrogram [shape=(b, 1 + n_fft // 2, frames)].

    The FFT runs in scipy (pocketfft, float32, all cores): on the 2-core CPUs here it is about
    twice as fast as torch.stft, and the STFT is half the cost of scoring a window.
    """
    import torch

    y = np.asarray(y2d.detach().numpy() if hasattr(y2d, "numpy") else y2d, dtype=np.float32)
    power = framing.stft_magnitude(y, n_fft=n_fft, hop_length=hop_length, power=2, workers=-1)
    return torch.from_numpy(np.ascontiguousarray(power.astype(np.float32, copy=False))).transpose(-1, -2)


def logmel_torch(y2d, *, sr: int = SR, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH,
                 n_mels: int = N_MELS, fmin: float = 0.0, fmax: float | None = None, normalize: bool = True):
    """Torch twin of :func:`logmel` for the model's inference path (no numpy round trip).

    y2d: torch float32 [shape=(b, n)]; returns torch float32 [shape=(b, n_mels, frames)] in dB.
    """
    import torch

    if normalize:
        peak = y2d.abs().amax(dim=-1, keepdim=True)
        y2d = torch.where(peak > 0, y2d / peak.clamp_min(1e-30), torch.zeros_like(y2d))
    power = _power_spec_torch(y2d, n_fft, hop_length)
    basis = torch.from_numpy(_mel_basis(int(sr), int(n_fft), int(n_mels), float(fmin), fmax))
    mel = torch.matmul(basis, power)
    return 10.0 * torch.log10(mel.clamp_min(AMIN))


def logmel(
    y: np.ndarray,
    *,
    sr: int = SR,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    n_mels: int = N_MELS,
    fmin: float = 0.0,
    fmax: float | None = None,
    normalize: bool = True,
) -> np.ndarray:
    """Log-mel power spectrogram in dB (10 log10, floor -100 dB), batched.

    y : np.ndarray [shape=(..., n)] mono audio at ``sr`` Hz.
    normalize : peak-normalise each signal (last axis) to 1 first, so the figures do not depend
        on the recording level.
    Returns float32 [shape=(..., n_mels, 1 + n // hop_length)]. Equals
    ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels), ref=1.0, top_db=None)`` on peak-normalised y.
    """
    import torch

    y = _check_y(y, sr, n_fft)
    lead = y.shape[:-1]
    flat = torch.from_numpy(np.ascontiguousarray(y.reshape(-1, y.shape[-1])))
    with torch.inference_mode():
        out = logmel_torch(flat, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                           fmin=fmin, fmax=fmax, normalize=normalize)
    out = out.numpy().astype(np.float32, copy=False)
    return out.reshape(*lead, out.shape[-2], out.shape[-1])
