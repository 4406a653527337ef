"""Training the timbre CNN on labelled 3 s clips (IRMAS training part or the soundfont corpus).

Recipe (after Han et al. 2017, adapted to a 2-core CPU budget): log-mel of each whole clip is
computed once; each step takes a random 1 s (44-frame) crop per clip, with a frequency mask half
of the time; sigmoid outputs with binary cross-entropy on the (one-hot) labels, plus a supervised
contrastive term on the normalised penultimate activations (``supcon``; the planner compares
sounds by those); AdamW with a cosine learning-rate decay; the epoch with the best validation accuracy (3 sub-windows averaged, as at
inference) is kept.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from producer.timbre.data import CLASSES, Clip

SUB = 44  # frames in a 1 s sub-window


@dataclass
class TrainSettings:
    arch: str = "fast"
    config: dict = field(default_factory=dict)
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    seed: int = 0
    max_minutes: float | None = None
    threads: int | None = None
    clip_seconds: float = 3.0
    # Weight of the supervised contrastive term on the L2-normalised penultimate activations
    # (0 = classification loss only). The planner uses those activations for similarity, so
    # this shapes them for retrieval directly rather than only as a by-product of the classifier.
    supcon: float = 0.5
    supcon_temperature: float = 0.1


def labels_matrix(clips: list[Clip]) -> np.ndarray:
    """-> float32 [shape=(n_clips, 11)] multi-hot targets in CLASSES order."""
    y = np.zeros((len(clips), len(CLASSES)), np.float32)
    for i, c in enumerate(clips):
        for lab in c.labels:
            y[i, CLASSES.index(lab)] = 1.0
    return y


def clip_features(clips: list[Clip], *, seconds: float = 3.0, batch: int = 64, log=None) -> np.ndarray:
    """Log-mel of each clip cut/zero-padded to ``seconds`` -> float16 [shape=(n, 128, frames)]."""
    from producer.audio import load_audio
    from producer.features import SR, frames_for, logmel

    n = int(round(seconds * SR))
    out = np.zeros((len(clips), 128, frames_for(n)), np.float16)
    for s in range(0, len(clips), batch):
        ys = np.zeros((min(batch, len(clips) - s), n), np.float32)
        for j, c in enumerate(clips[s:s + batch]):
            y, _ = load_audio(c.path, sr=SR, mono=True)
            ys[j, : min(n, y.size)] = y[:n]
        out[s:s + len(ys)] = logmel(ys).astype(np.float16)
        if log and (s // batch) % 20 == 0:
            log(f"features: {s + len(ys)} / {len(clips)} clips")
    return out


def split_indices(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (by first label) train/validation split -> (train idx, val idx)."""
    rng = np.random.default_rng(seed)
    first = labels.argmax(axis=1)
    tr, va = [], []
    for k in np.unique(first):
        idx = rng.permutation(np.flatnonzero(first == k))
        n_val = int(round(len(idx) * fraction))
        va += list(idx[:n_val])
        tr += list(idx[n_val:])
    return np.sort(np.array(tr, int)), np.sort(np.array(va, int))


def _clip_probs(net, X, *, batch: int = 128) -> np.ndarray:
    """Mean sigmoid over the sub-windows of each clip's log-mel -> [shape=(n, 11)]."""
    import torch

    from producer.timbre.model import sub_window_starts

    starts = sub_window_starts(X.shape[-1])
    net.eval()
    outs = []
    with torch.inference_mode():
        for s in range(0, len(X), batch):
            xb = torch.from_numpy(X[s:s + batch].astype(np.float32))
            patches = torch.stack([xb[..., t:t + SUB] for t in starts], dim=1)
            b, k = patches.shape[:2]
            p = torch.sigmoid(net(patches.reshape(b * k, 1, 128, SUB).contiguous(memory_format=torch.channels_last)))
            outs.append(p.reshape(b, k, -1).mean(1).numpy())
    return np.concatenate(outs) if outs else np.zeros((0, len(CLASSES)), np.float32)


def supcon_loss(h, y, temperature: float = 0.1):
    """Supervised contrastive loss (Khosla et al. 2020, 'SupCon out') of one batch.

    h [shape=(b, D)] embeddings (normalised here), y [shape=(b, C)] one-hot or multi-hot targets;
    items sharing their first label are positives. Items with no positive in the batch are skipped.
    """
    import torch

    z = torch.nn.functional.normalize(h, dim=1)
    sim = z @ z.T / temperature
    b = len(z)
    eye = torch.eye(b, dtype=torch.bool)
    cls = y.argmax(1)
    pos = (cls[:, None] == cls[None, :]) & ~eye
    sim = sim.masked_fill(eye, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    n_pos = pos.sum(1)
    keep = n_pos > 0
    if not bool(keep.any()):
        return h.sum() * 0.0
    per_item = -(log_prob * pos).sum(1)[keep] / n_pos[keep]
    return per_item.mean()


def train_net(X: np.ndarray, Y: np.ndarray, settings: TrainSettings, *, log=print):
    """Train on features X [shape=(n, 128, frames >= 44)] and targets Y [shape=(n, 11)].

    Returns (net in eval mode, history dict with per-epoch loss / val accuracy, seconds, best epoch).
    Long because the training loop, its validation and best-epoch keeping share the optimiser's state.
    """
    import torch

    from producer.timbre.model import build_net

    if settings.threads:
        torch.set_num_threads(int(settings.threads))
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    tr, va = split_indices(Y, settings.val_fraction, settings.seed) if settings.val_fraction > 0 else (np.arange(len(Y)), np.zeros(0, int))
    net = build_net(settings.arch, settings.config).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(tr) / settings.batch_size))
    total = steps_per_epoch * settings.epochs
    warm = max(1, total // 20)
    # Linear warm-up over the first 5 % of steps, then cosine decay to zero.
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    frames = X.shape[-1]
    hist = {"epoch": [], "loss": [], "val_acc": [], "seconds": []}
    best = (-math.inf, None, -1)
    t0 = time.perf_counter()
    for epoch in range(settings.epochs):
        net.train()
        order = rng.permutation(tr)
        losses = []
        for s in range(0, len(order), settings.batch_size):
            idx = order[s:s + settings.batch_size]
            starts = rng.integers(0, frames - SUB + 1, size=len(idx))
            xb = np.stack([X[i, :, t:t + SUB] for i, t in zip(idx, starts)]).astype(np.float32)
            # Frequency masking (SpecAugment-style): the net must not lean on one formant band,
            # which is what differs most between soundfonts.
            for j in np.flatnonzero(rng.random(len(idx)) < 0.5):
                w = int(rng.integers(4, 20))
                f0 = int(rng.integers(0, 128 - w))
                xb[j, f0:f0 + w] = -100.0
            xt = torch.from_numpy(xb[:, None]).contiguous(memory_format=torch.channels_last)
            yt = torch.from_numpy(Y[idx])
            if settings.supcon > 0:
                h = net.penultimate(xt)
                loss = loss_fn(net.out(net.dropout(h)), yt) + settings.supcon * supcon_loss(
                    h, yt, settings.supcon_temperature)
            else:
                loss = loss_fn(net(xt), yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        acc = float("nan")
        if len(va):
            p = _clip_probs(net, X[va])
            acc = float(np.mean(p.argmax(1) == Y[va].argmax(1)))
        el = time.perf_counter() - t0
        hist["epoch"].append(epoch + 1)
        hist["loss"].append(float(np.mean(losses)))
        hist["val_acc"].append(acc)
        hist["seconds"].append(round(el, 1))
        log(f"epoch {epoch + 1}/{settings.epochs}: loss {np.mean(losses):.4f}  val acc {acc:.4f}  ({el / 60:.1f} min)")
        score = acc if len(va) else -float(np.mean(losses))
        if score >= best[0]:
            best = (score, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch + 1)
        if settings.max_minutes is not None and el > settings.max_minutes * 60 and epoch + 1 < settings.epochs:
            log(f"stopping after epoch {epoch + 1}: time budget of {settings.max_minutes} min reached")
            break
    net.load_state_dict(best[1])
    net.eval()
    hist["best_epoch"] = best[2]
    hist["train_seconds"] = round(time.perf_counter() - t0, 1)
    hist["n_train"] = int(len(tr))
    hist["n_val"] = int(len(va))
    return net, hist


def train_on_clips(clips: list[Clip], settings: TrainSettings, *, log=print):
    """Features + training for labelled clips -> (net, history with feature time added)."""
    t0 = time.perf_counter()
    X = clip_features(clips, seconds=settings.clip_seconds, log=log)
    Y = labels_matrix(clips)
    feat_s = time.perf_counter() - t0
    log(f"features of {len(clips)} clips in {feat_s:.0f} s")
    net, hist = train_net(X, Y, settings, log=log)
    hist["feature_seconds"] = round(feat_s, 1)
    return net, hist
