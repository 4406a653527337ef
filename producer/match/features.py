"""What the matcher measures: numpy in, numpy out.

* ``mr_stft_distance``: the multi-resolution STFT distance (spectral convergence plus mean absolute
  log-magnitude difference, averaged over FFT sizes 256, 1024 and 4096 with 75 % overlap), the
  form used by auraloss and by the DeepAFx-ST anchors the issue quotes, except that the log floor
  is -100 dB re the reference's loudest bin (``LOG_FLOOR``) instead of an absolute epsilon.
  Computed on the mono sum.
* ``integrated_loudness``: ITU-R BS.1770-4 (K-weighting, 400 ms gated blocks, -70 LUFS absolute
  and -10 LU relative gates), channels summed with weight 1; in LUFS.
* ``loudness_curve``: K-weighted level in ``LOUDNESS_WINDOW`` windows every ``FRAME_HOP`` (dB,
  floored at ``FLOOR_DB``): the loudness envelope that follow mode matches and the bench correlates.
* ``centroid_curve``: spectral centroid per frame (Hz), the brightness that follow mode matches.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from producer import framing

FFT_SIZES = (256, 1024, 4096)
# Floor of the log-magnitude term, relative to the reference's loudest bin at each resolution
# (-100 dB): below it, float32 rendering noise and window leakage would dominate the mean (two
# renders of one tone that differ only in rounding measured 0.13 with an absolute 1e-7 floor).
LOG_FLOOR = 1e-5
FRAME_HOP = 0.01  # s
LOUDNESS_WINDOW = 0.05  # s: short enough for a drum hit's attack, long enough to hold a 20 Hz cycle
FLOOR_DB = -70.0


def mono(y: np.ndarray) -> np.ndarray:
    """[shape=(channels, n)] or [shape=(n,)] -> float64 [shape=(n,)]."""
    y = np.asarray(y, dtype=np.float64)
    return y.mean(axis=0) if y.ndim == 2 else y


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad the last axis to ``n`` samples."""
    if y.shape[-1] >= n:
        return y[..., :n]
    pad = [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])]
    return np.pad(y, pad)


def stft_magnitude(y: np.ndarray, n_fft: int) -> np.ndarray:
    """|STFT| of mono ``y`` [shape=(frames, n_fft // 2 + 1)] float32, centred frames, hop n_fft / 4
    (producer.framing). Single precision: a search computes thousands of these."""
    return framing.stft_magnitude(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=n_fft // 4)


class SpectralTarget:
    """The reference's magnitudes at every resolution, computed once for many comparisons."""

    def __init__(self, reference: np.ndarray):
        ref = mono(reference)
        self.n = len(ref)
        self.mags = {n_fft: stft_magnitude(ref, n_fft) for n_fft in FFT_SIZES}
        self.floors = {n_fft: np.float32(max(float(m.max()), 1e-12) * LOG_FLOOR) for n_fft, m in self.mags.items()}
        self.logs = {n_fft: np.log(m + self.floors[n_fft]) for n_fft, m in self.mags.items()}
        self.norms = {n_fft: float(np.linalg.norm(m)) for n_fft, m in self.mags.items()}

    def distance(self, y: np.ndarray) -> float:
        """MR-STFT distance of ``y`` (cut or padded to the reference's length) to the reference."""
        x = fit_length(mono(y), self.n)
        total = 0.0
        for n_fft in FFT_SIZES:
            mag = stft_magnitude(x, n_fft)
            sc = np.linalg.norm(self.mags[n_fft] - mag) / max(self.norms[n_fft], 1e-12)
            lm = np.mean(np.abs(self.logs[n_fft] - np.log(mag + self.floors[n_fft])))
            total += sc + lm
        return float(total / len(FFT_SIZES))


def mr_stft_distance(y: np.ndarray, reference: np.ndarray) -> float:
    """One-off MR-STFT distance; see ``SpectralTarget`` for repeated use."""
    return SpectralTarget(reference).distance(y)


def _k_weighting(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two BS.1770 K-weighting biquads (high shelf +4 dB at 1682 Hz, high-pass at 38 Hz) for
    any rate, from their analogue prototypes (the standard's coefficients at 48 kHz)."""
    out = []
    # (gain dB, centre Hz, Q, kind)
    for gain_db, fc, q, kind in ((3.999843853973347, 1681.974450955533, 0.7071752369554196, "shelf"),
                                 (0.0, 38.13547087602444, 0.5003270373238773, "highpass")):
        a = 10.0 ** (gain_db / 40.0)
        w = 2.0 * math.pi * fc / sr
        alpha = math.sin(w) / (2.0 * q)
        c = math.cos(w)
        if kind == "shelf":
            b0 = a * ((a + 1) + (a - 1) * c + 2 * math.sqrt(a) * alpha)
            b1 = -2 * a * ((a - 1) + (a + 1) * c)
            b2 = a * ((a + 1) + (a - 1) * c - 2 * math.sqrt(a) * alpha)
            a0 = (a + 1) - (a - 1) * c + 2 * math.sqrt(a) * alpha
            a1 = 2 * ((a - 1) - (a + 1) * c)
            a2 = (a + 1) - (a - 1) * c - 2 * math.sqrt(a) * alpha
        else:
            b0, b1, b2 = (1 + c) / 2, -(1 + c), (1 + c) / 2
            a0, a1, a2 = 1 + alpha, -2 * c, 1 - alpha
        out.append((np.array([b0, b1, b2]) / a0, np.array([1.0, a1 / a0, a2 / a0])))
    return out


def k_weighted_power(y: np.ndarray, sr: int) -> np.ndarray:
    """K-weighted signal power summed over channels, per sample [shape=(n,)]."""
    y = np.asarray(y, dtype=np.float64)
    y = y[None, :] if y.ndim == 1 else y
    for b, a in _k_weighting(sr):
        y = lfilter(b, a, y, axis=1)
    return np.sum(y * y, axis=0)


def _window_means(power: np.ndarray, window: int, hop: int) -> np.ndarray:
    if len(power) < window:
        return np.array([power.mean()]) if len(power) else np.zeros(1)
    c = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - window + 1, hop)
    return (c[starts + window] - c[starts]) / window


def integrated_loudness(y: np.ndarray, sr: int) -> float:
    """BS.1770-4 integrated loudness (LUFS); -inf... is avoided: silence gives FLOOR_DB."""
    blocks = _window_means(k_weighted_power(y, sr), int(0.4 * sr), int(0.1 * sr))
    lufs = -0.691 + 10.0 * np.log10(np.maximum(blocks, 1e-30))
    keep = blocks[lufs > -70.0]
    if keep.size == 0:
        return FLOOR_DB
    relative = -0.691 + 10.0 * math.log10(keep.mean()) - 10.0
    keep = blocks[(lufs > -70.0) & (lufs > relative)]
    return float(-0.691 + 10.0 * math.log10(keep.mean()))


def loudness_curve(y: np.ndarray, sr: int, window_seconds: float = LOUDNESS_WINDOW) -> np.ndarray:
    """K-weighted level (dB, floored at FLOOR_DB) in ``window_seconds`` windows centred on every
    FRAME_HOP [shape=(frames,)], frame k at k * FRAME_HOP s."""
    power = k_weighted_power(y, sr)
    window, hop = int(window_seconds * sr), int(round(FRAME_HOP * sr))
    power = np.pad(power, (window // 2, window // 2))
    means = _window_means(power, window, hop)
    frames = int(math.ceil(len(power) - 2 * (window // 2)) / hop)
    return np.maximum(-0.691 + 10.0 * np.log10(np.maximum(fit_length(means, max(frames, 1)), 1e-30)), FLOOR_DB)


def centroid_curve(y: np.ndarray, sr: int, n_fft: int = 2048) -> np.ndarray:
    """Spectral centroid (Hz) every FRAME_HOP [shape=(frames,)]; silent frames give 0."""
    x = mono(y).astype(np.float32)
    mag = framing.stft_magnitude(x, n_fft=n_fft, hop_length=int(round(FRAME_HOP * sr)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    total = mag.sum(axis=1)
    return np.where(total > 1e-9, (mag @ freqs) / np.maximum(total, 1e-12), 0.0)


def envelope_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two loudness curves over their common frames (0 if either is flat)."""
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if n < 2 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])
