"""The timbre CNNs and the wrapper the planner calls (``TimbreModel.embed`` / ``.predict``).

Two networks share one interface, both read a log-mel patch x [shape=(b, 1, 128, 44)]
(1 s at 22,050 Hz, hop 512) and return logits [shape=(b, 11)]:

- ``HanCNN``: after Han, Kim & Lee (2017): four blocks of two 3x3 convolutions (32, 64, 128,
  256 filters, leaky ReLU 0.33), 3x3 max-pooling and dropout 0.25 after the first three blocks,
  global max-pooling, dense 1024 (the embedding), dropout 0.5, 11 outputs (sigmoid).
- ``FastCNN``: the same recipe made cheaper for the planner's inner loop: a stride-2 first
  convolution, three blocks (24-32, 64-64, 128-128), dense 256 (the embedding). About 9x
  fewer multiply-adds than HanCNN.

One deliberate change to the paper: batch normalisation after every convolution
(``batchnorm=True``). It lets the networks converge within the 60-minute, 2-core training budget;
at inference it is a fixed per-channel affine map.

A window longer than 1 s is cut into non-overlapping 1 s sub-windows (plus one aligned to the
end when more than half a sub-window is left over); the sub-windows' sigmoid outputs are averaged
(as the paper aggregates its 1 s windows) and so are their penultimate activations, which are then
L2-normalised. A 3 s window is therefore exactly three CNN passes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from producer.errors import InputError
from producer.features import HOP_LENGTH, N_FFT, N_MELS, SR, frames_for, logmel_torch

CLASSES = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
CLASS_NAMES = {
    "cel": "cello", "cla": "clarinet", "flu": "flute", "gac": "acoustic guitar",
    "gel": "electric guitar", "org": "organ", "pia": "piano", "sax": "saxophone",
    "tru": "trumpet", "vio": "violin", "voi": "voice",
}
SUB_SECONDS = 1.0
SUB_FRAMES = frames_for(int(SR * SUB_SECONDS))  # 44 frames
# Fixed input scaling: dB values (floor -100, peak-normalised audio rarely above +30) to about
# unit range, so the first layer sees the same scale whatever the training data was.
DB_OFFSET = 40.0
DB_SCALE = 40.0


def _act() -> nn.Module:
    return nn.LeakyReLU(0.33)


def _conv(cin: int, cout: int, *, stride: int = 1, batchnorm: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(_act())
    return layers


class _TimbreNet(nn.Module):
    """Shared head: features -> global max-pool -> dense (embedding) -> dropout -> logits."""

    embedding_dim: int

    def _build_head(self, cin: int, dense: int, n_classes: int, dropout: float) -> None:
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.dense = nn.Linear(cin, dense)
        self.dense_act = _act()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dense, n_classes)
        self.embedding_dim = dense

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """x [shape=(b, 1, 128, frames)] dB log-mel -> activations [shape=(b, D)] (not normalised)."""
        x = (x - DB_OFFSET) / DB_SCALE
        h = self.features(x)
        h = self.pool(h).flatten(1)
        return self.dense_act(self.dense(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [shape=(b, 1, 128, frames)] -> logits [shape=(b, n_classes)]."""
        return self.out(self.dropout(self.penultimate(x)))


class HanCNN(_TimbreNet):
    """Han et al. (2017) architecture; see the module docstring."""

    def __init__(self, *, widths=(32, 64, 128, 256), dense: int = 1024, n_classes: int = 11,
                 batchnorm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        for i, w in enumerate(widths):
            layers += _conv(cin, w, batchnorm=batchnorm) + _conv(w, w, batchnorm=batchnorm)
            cin = w
            if i < len(widths) - 1:
                # ceil_mode keeps the last partial 3x3 tile of a 44-frame patch.
                layers += [nn.MaxPool2d(3, ceil_mode=True), nn.Dropout(0.25)]
        self.features = nn.Sequential(*layers)
        self._build_head(cin, dense, n_classes, 0.5)


class FastCNN(_TimbreNet):
    """Cheaper variant for the planner; see the module docstring."""

    def __init__(self, *, widths=(24, 32, 64, 128), dense: int = 256, n_classes: int = 11,
                 batchnorm: bool = True):
        super().__init__()
        w0, w1, w2, w3 = widths
        bn = batchnorm
        self.features = nn.Sequential(
            *_conv(1, w0, stride=2, batchnorm=bn), *_conv(w0, w1, batchnorm=bn),
            nn.MaxPool2d(2, ceil_mode=True), nn.Dropout(0.25),
            *_conv(w1, w2, batchnorm=bn), *_conv(w2, w2, batchnorm=bn),
            nn.MaxPool2d(3, ceil_mode=True), nn.Dropout(0.25),
            *_conv(w2, w3, batchnorm=bn), *_conv(w3, w3, batchnorm=bn),
        )
        self._build_head(w3, dense, n_classes, 0.5)


ARCHS = {"han": HanCNN, "fast": FastCNN}


def scaled_config(arch: str, width: float) -> dict:
    """Constructor keywords for ``arch`` with every layer's width scaled by ``width`` (tiny models
    for tests); {} at full width. The full widths are the constructors' own defaults."""
    if width == 1.0:
        return {}
    import inspect

    params = inspect.signature(ARCHS[arch].__init__).parameters
    widths, dense = params["widths"].default, params["dense"].default
    return {"widths": [max(2, int(round(w * width))) for w in widths], "dense": max(4, int(round(dense * width)))}


def build_net(arch: str, config: dict | None = None) -> _TimbreNet:
    """A fresh network by architecture name ('han' or 'fast') and constructor keywords."""
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {sorted(ARCHS)}, given arch={arch!r}")
    return ARCHS[arch](**(config or {}))


def sub_window_starts(frames: int, sub: int = SUB_FRAMES) -> list[int]:
    """Start frames of the 1 s sub-windows of a window that has ``frames`` frames (>= sub)."""
    starts = list(range(0, frames - sub + 1, sub))
    left = frames - (starts[-1] + sub)
    if left > sub // 2:
        starts.append(frames - sub)
    return starts


@dataclass
class TimbreModel:
    """A trained network plus what is needed to apply it to audio. See ``producer.timbre``."""

    net: _TimbreNet
    name: str
    arch: str
    classes: tuple[str, ...] = CLASSES
    sr: int = SR
    max_batch: int = 64

    def __post_init__(self) -> None:
        self.net.eval()
        # channels_last halves CPU inference time for these small convolutions (oneDNN path).
        self.net.to(memory_format=torch.channels_last)
        self.embedding_dim = self.net.embedding_dim

    def _check(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1:
            raise InputError(f"y must be a batch [shape=(batch, n)], given y.shape={y.shape}; use y[None]")
        if y.ndim != 2:
            raise InputError(f"y must be mono audio [shape=(batch, n)], given y.shape={y.shape}")
        if y.shape[1] < self.sr * SUB_SECONDS:
            raise InputError(f"windows must be at least 1 s ({self.sr} samples), given y.shape={y.shape}")
        if not np.all(np.isfinite(y)):
            raise InputError("y holds NaN or infinite samples")
        return y

    @torch.inference_mode()
    def _run(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (mean sigmoid [shape=(b, 11)], mean penultimate [shape=(b, D)]) over sub-windows."""
        y = self._check(y)
        probs, embs = [], []
        for i in range(0, y.shape[0], self.max_batch):
            chunk = torch.from_numpy(np.ascontiguousarray(y[i:i + self.max_batch]))
            spec = logmel_torch(chunk, sr=self.sr, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS)
            starts = sub_window_starts(spec.shape[-1])
            # (b, 128, F) -> (b * s, 1, 128, 44), sub-window index fastest.
            patches = torch.stack([spec[..., s:s + SUB_FRAMES] for s in starts], dim=1)
            b, s = patches.shape[:2]
            patches = patches.reshape(b * s, 1, N_MELS, SUB_FRAMES).contiguous(memory_format=torch.channels_last)
            h = self.net.penultimate(patches)
            p = torch.sigmoid(self.net.out(h))
            probs.append(p.reshape(b, s, -1).mean(dim=1))
            embs.append(h.reshape(b, s, -1).mean(dim=1))
        return torch.cat(probs).numpy(), torch.cat(embs).numpy()

    def embed(self, y) -> np.ndarray:
        """y float32 mono at 22,050 Hz [shape=(batch, n)], n >= 1 s -> [shape=(batch, D)], unit L2 norm."""
        _, h = self._run(y)
        norm = np.linalg.norm(h, axis=1, keepdims=True)
        return (h / np.maximum(norm, 1e-12)).astype(np.float32)

    def predict(self, y) -> np.ndarray:
        """y as for ``embed`` -> instrument probabilities [shape=(batch, 11)], order ``self.classes``."""
        p, _ = self._run(y)
        return p.astype(np.float32)

    def embed_and_predict(self, y) -> tuple[np.ndarray, np.ndarray]:
        """Both at the cost of one pass: (embeddings [shape=(b, D)], probabilities [shape=(b, 11)])."""
        p, h = self._run(y)
        norm = np.linalg.norm(h, axis=1, keepdims=True)
        return (h / np.maximum(norm, 1e-12)).astype(np.float32), p.astype(np.float32)
