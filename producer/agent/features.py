"""Causal block descriptors: what the agent hears, one vector per block.

A block of ``block`` samples arrives; its descriptors are computed from the last ``FRAME``
samples (this block and the ones before it, never later ones), so they are available as soon as
the block is. Four descriptors, in ``DESCRIPTORS`` order:

* ``loudness_db``: RMS of the block in dBFS, floored at ``FLOOR_DB``;
* ``centroid``: spectral centroid of the frame, log2 of Hz (10 = 1024 Hz);
* ``bandwidth``: spectral spread around the centroid, log2 of Hz;
* ``flatness``: spectral flatness in dB (0 = white noise, about -60 for a pure tone).

Silence has no spectral shape: below ``FLOOR_DB`` the spectral descriptors are those of a quiet
white noise (the ``EPS`` floor added to the power spectrum), so they are defined and continuous.
``FeatureScaler`` z-scores descriptors with statistics measured on a corpus (its ``fit``);
``RunningZScore`` z-scores a stream whose statistics are unknown (OSC input from another
program), updated one block at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from producer import framing

DESCRIPTORS = ("loudness_db", "centroid", "bandwidth", "flatness")
FRAME = 1024
FLOOR_DB = -80.0
EPS = 1e-12
SR = 44100
MIN_BLOCK, MAX_BLOCK = 64, 8192


def check_block(block: int) -> int:
    from producer.errors import InputError

    if not isinstance(block, int) or isinstance(block, bool) or not MIN_BLOCK <= block <= MAX_BLOCK:
        raise InputError(f"--block {block}: must be an integer {MIN_BLOCK}..{MAX_BLOCK} samples")
    return block


def _frame_len(block: int) -> int:
    return max(FRAME, block)


_FREQS: dict[tuple[int, int], np.ndarray] = {}


def _log2_freqs(n: int, sr: int) -> np.ndarray:
    f = _FREQS.get((n, sr))
    if f is None:
        f = _FREQS[(n, sr)] = np.fft.rfftfreq(n, 1.0 / sr)
    return f


def spectral_descriptors(frames: np.ndarray, sr: int) -> np.ndarray:
    """Centroid, bandwidth (log2 Hz) and flatness (dB) of frames [shape=(m, n)] -> [shape=(m, 3)]."""
    n = frames.shape[1]
    spec = framing.spectrum(framing.windowed(np.asarray(frames, dtype=np.float64)), power=2)
    # The floor scales with the frame length so that silence reads the same at any frame size.
    spec = spec + EPS * n
    freqs = _log2_freqs(n, sr)
    total = spec.sum(axis=1)
    centroid = (spec * freqs).sum(axis=1) / total
    spread = np.sqrt(np.maximum((spec * (freqs[None, :] - centroid[:, None]) ** 2).sum(axis=1) / total, 1.0))
    flatness = 10.0 * (np.mean(np.log10(spec), axis=1) - np.log10(np.mean(spec, axis=1)))
    return np.stack([np.log2(np.maximum(centroid, 1.0)), np.log2(spread), flatness], axis=1)


def loudness_db(blocks: np.ndarray) -> np.ndarray:
    """RMS in dBFS of blocks [shape=(m, n)] -> [shape=(m,)], floored at FLOOR_DB."""
    ms = np.mean(np.square(blocks, dtype=np.float64), axis=1)
    return np.maximum(10.0 * np.log10(ms + 1e-20), FLOOR_DB)


def block_features(y: np.ndarray, *, block: int, sr: int = SR) -> np.ndarray:
    """Descriptors of every whole block of a mono signal y [shape=(n,)] -> [shape=(n // block, 4)].

    Block k's descriptors read samples up to the end of block k only (zeros before the start),
    exactly as ``BlockAnalyzer`` computes them one block at a time.
    """
    y = np.asarray(y, dtype=np.float64)
    m = len(y) // block
    if m == 0:
        return np.zeros((0, len(DESCRIPTORS)))
    n = _frame_len(block)
    # Causal frames: block k's frame ends with block k (zeros before the start).
    padded = np.concatenate([np.zeros(n - block), y[: m * block]])
    frames = framing.frames(padded, n_fft=n, hop_length=block, center=False)
    out = np.empty((m, len(DESCRIPTORS)))
    out[:, 0] = loudness_db(frames[:, n - block:])
    out[:, 1:] = spectral_descriptors(frames, sr)
    return out


class BlockAnalyzer:
    """The streaming form of :func:`block_features`: ``push(block)`` -> descriptors [shape=(4,)]."""

    def __init__(self, block: int, sr: int = SR):
        self.block = block
        self.sr = sr
        self.buffer = np.zeros(_frame_len(block))

    def reset(self) -> None:
        self.buffer[:] = 0.0

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.block,):
            raise ValueError(f"block of shape {x.shape}, expected ({self.block},)")
        self.buffer = np.concatenate([self.buffer[self.block:], x])
        out = np.empty(len(DESCRIPTORS))
        out[0] = loudness_db(x[None, :])[0]
        out[1:] = spectral_descriptors(self.buffer[None, :], self.sr)[0]
        return out


@dataclass(frozen=True)
class FeatureScaler:
    """Z-scoring with fixed statistics: ``(x - mean) / std`` per descriptor [shape=(4,)]."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, features: np.ndarray) -> "FeatureScaler":
        """Statistics of corpus descriptors [shape=(m, 4)]."""
        f = np.asarray(features, dtype=np.float64)
        return cls(tuple(round(float(v), 6) for v in f.mean(axis=0)),
                   tuple(round(float(max(v, 1e-6)), 6) for v in f.std(axis=0)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.std)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureScaler":
        return cls(tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["std"]))


class RunningZScore:
    """Z-scores a stream with its own statistics so far (Welford's running mean and variance).

    For features sent by another program over OSC, whose scale the policy's corpus statistics
    may not fit. Until ``warmup`` vectors have arrived the output is 0 (no information yet).
    """

    def __init__(self, size: int, *, warmup: int = 8):
        self.n = 0
        self.mean = np.zeros(size)
        self.m2 = np.zeros(size)
        self.warmup = warmup

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)
        if self.n < self.warmup:
            return np.zeros_like(x)
        std = np.sqrt(self.m2 / (self.n - 1))
        return (x - self.mean) / np.maximum(std, 1e-6)
