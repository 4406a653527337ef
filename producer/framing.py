"""The one STFT framing: frames, the Hann window and frame-wise magnitude spectra.

Every room that looks at a spectrum frame by frame goes through here (the timbre CNN's log-mel,
the planner's chroma and mel frames, the matcher's MR-STFT and centroid, the listening agent's
block descriptors, the report's spectrograms, the external metrics, the rhythm's chroma), so that
"a frame" means one thing in the house:

* the window is the periodic Hann (``scipy.signal.get_window("hann", n, fftbins=True)``, what
  librosa and torch use): its copies at hop n/4 sum to a constant;
* ``center=True`` zero-pads n_fft // 2 samples on both sides (librosa's default since 0.10; not
  torch's reflection, which invents signal at the edges of a clip), so frame k is centred on sample k * hop_length and an even n_fft gives 1 + n // hop_length frames;
  ``center=False`` frames the signal as it is (a caller that pads for itself: the planner's slice
  of a timeline, the agent's causal frames);
* arrays are frames-first: frames [shape=(..., frames, n_fft)], spectra
  [shape=(..., frames, 1 + n_fft // 2)] (librosa's (bins, frames) is the transpose);
* precision follows the input: float64 stays float64, anything else is computed in float32
  (scipy's FFT keeps float32 in float32, several times faster than numpy's float64 FFT).

librosa's own feature functions called on audio (``onset_strength``, ``mfcc``, ``chroma_stft``)
frame the same way; they are library code, not copies of this.
"""
from __future__ import annotations

import functools

import numpy as np


def _work(y) -> np.ndarray:
    y = np.asarray(y)
    return y if y.dtype == np.float64 else y.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=16)
def _hann(n_fft: int, dtype: str) -> np.ndarray:
    import scipy.signal

    w = scipy.signal.get_window("hann", int(n_fft), fftbins=True).astype(dtype)
    w.flags.writeable = False
    return w


def hann(n_fft: int, *, dtype=np.float32) -> np.ndarray:
    """Periodic Hann window [shape=(n_fft,)] (read-only, cached)."""
    return _hann(int(n_fft), np.dtype(dtype).name)


def n_frames(n: int, *, n_fft: int, hop_length: int, center: bool = True) -> int:
    """How many frames :func:`frames` cuts from ``n`` samples (at least 1)."""
    padded = int(n) + (2 * (n_fft // 2) if center else 0)
    return 1 + max(0, padded - int(n_fft)) // int(hop_length)


def frames(y, *, n_fft: int, hop_length: int, center: bool = True) -> np.ndarray:
    """Frames of ``y`` [shape=(..., n)] -> [shape=(..., frames, n_fft)], not windowed.

    A read-only view when nothing is padded. A signal shorter than one frame (after centring) is
    zero-padded at its end to one frame.
    """
    y = _work(y)
    pad = n_fft // 2 if center else 0
    short = max(0, n_fft - (y.shape[-1] + 2 * pad))
    if pad or short:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(pad, pad + short)])
    return np.lib.stride_tricks.sliding_window_view(y, n_fft, axis=-1)[..., ::hop_length, :]


def windowed(frames_: np.ndarray) -> np.ndarray:
    """Frames [shape=(..., frames, n_fft)] times the periodic Hann window (a new array)."""
    frames_ = _work(frames_)
    return frames_ * hann(frames_.shape[-1], dtype=frames_.dtype)


def spectrum(windowed_frames: np.ndarray, *, power: float = 1.0, workers: int = 1) -> np.ndarray:
    """|rfft| ** power of already windowed frames [shape=(..., frames, n_fft)] ->
    [shape=(..., frames, 1 + n_fft // 2)]. ``power`` 2 is computed as re^2 + im^2 (no square
    root). ``workers``: scipy's FFT threads (-1: every core), for large batches."""
    import scipy.fft

    spec = scipy.fft.rfft(_work(windowed_frames), axis=-1, workers=workers)
    if power == 2:
        return spec.real ** 2 + spec.imag ** 2
    mag = np.abs(spec)
    return mag if power == 1 else mag ** power


def stft_magnitude(y, *, n_fft: int, hop_length: int, center: bool = True, power: float = 1.0,
                   workers: int = 1) -> np.ndarray:
    """Frame-wise magnitude (``power`` 1) or power (2) spectra of ``y`` [shape=(..., n)] ->
    [shape=(..., frames, 1 + n_fft // 2)], periodic Hann window, framed as :func:`frames`."""
    return spectrum(windowed(frames(y, n_fft=n_fft, hop_length=hop_length, center=center)),
                    power=power, workers=workers)
