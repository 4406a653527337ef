"""Figures for the timbre model: IRMAS multi-label F1, soundfont top-1 accuracy, retrieval, speed."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from producer.timbre.data import CLASSES, Clip

# Han et al. (2017) report their best figures with this threshold on max-normalised averages.
IRMAS_THRESHOLD = 0.5


# --------------------------------------------------------------------------- metrics


def multilabel_f1(true: np.ndarray, pred: np.ndarray) -> dict:
    """Micro and macro F1 for multi-label decisions.

    true, pred : bool [shape=(n_items, n_classes)]. Micro pools every (item, class) decision;
    macro averages the per-class F1 (a class with no true and no predicted positives scores 1,
    as it made no error; one with positives on only one side scores 0).
    """
    true = np.asarray(true, bool)
    pred = np.asarray(pred, bool)
    tp = (true & pred).sum(0).astype(float)
    fp = (~true & pred).sum(0).astype(float)
    fn = (true & ~pred).sum(0).astype(float)

    def f1(tp, fp, fn):
        den = 2 * tp + fp + fn
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 1.0)

    micro_p = tp.sum() / max(tp.sum() + fp.sum(), 1)
    micro_r = tp.sum() / max(tp.sum() + fn.sum(), 1)
    per_class = f1(tp, fp, fn)
    return {"micro_precision": float(micro_p), "micro_recall": float(micro_r),
            "micro_f1": float(f1(tp.sum(), fp.sum(), fn.sum())), "macro_f1": float(per_class.mean()),
            "per_class_f1": [float(v) for v in per_class]}


def irmas_decisions(window_probs: list[np.ndarray], threshold: float = IRMAS_THRESHOLD) -> np.ndarray:
    """The paper's aggregation: per excerpt, average the window outputs, divide by their maximum,
    keep every class at or above ``threshold``.

    window_probs : list of [shape=(n_windows, 11)] -> bool [shape=(n_excerpts, 11)].
    """
    out = np.zeros((len(window_probs), len(CLASSES)), bool)
    for i, p in enumerate(window_probs):
        mean = np.asarray(p, float).mean(axis=0)
        top = mean.max()
        if top > 0:
            out[i] = mean / top >= threshold
    return out


def precision_at_k(emb: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Same-class retrieval: for each item, the share of its k nearest others (cosine) that share
    its class, averaged over items. emb [shape=(n, D)] unit-norm rows, labels [shape=(n,)] ints."""
    emb = np.asarray(emb, np.float64)
    sim = emb @ emb.T
    np.fill_diagonal(sim, -np.inf)
    k = min(k, len(emb) - 1)
    nn = np.argsort(-sim, axis=1)[:, :k]
    return float(np.mean(labels[nn] == labels[:, None]))


def confusion(true_idx: np.ndarray, pred_idx: np.ndarray, n: int = len(CLASSES)) -> np.ndarray:
    """int [shape=(n, n)]: rows true class, columns predicted class."""
    m = np.zeros((n, n), int)
    np.add.at(m, (np.asarray(true_idx), np.asarray(pred_idx)), 1)
    return m


def plot_confusion(m: np.ndarray, path: str | Path, *, title: str = "") -> None:
    """Write a confusion-matrix PNG (row-normalised colours, counts written in the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=110)
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(CLASSES)), CLASSES)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if rows[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)


# --------------------------------------------------------------------------- IRMAS test part


def irmas_window_probs(model, y: np.ndarray, *, hop_seconds: float = 0.5) -> np.ndarray:
    """Sigmoid outputs of 1 s windows (``hop_seconds`` apart) over mono y [shape=(n,)] at model.sr
    -> [shape=(n_windows, 11)]. Excerpts under 1 s are zero-padded to 1 s."""
    win = int(model.sr)
    hop = int(round(hop_seconds * model.sr))
    if y.size < win:
        y = np.pad(y, (0, win - y.size))
    starts = range(0, y.size - win + 1, hop)
    # Peak-normalise the excerpt once, as the features of a clip are; windows keep relative levels.
    peak = float(np.max(np.abs(y)))
    y = y / peak if peak > 0 else y
    windows = np.stack([y[s:s + win] for s in starts]).astype(np.float32)
    return model.predict(windows)


def evaluate_irmas(model, clips: list[Clip], *, threshold: float = IRMAS_THRESHOLD, log=None) -> dict:
    """The paper's multi-label evaluation on IRMAS testing excerpts -> micro/macro F1 etc."""
    from producer.audio import load_audio

    probs = []
    for i, c in enumerate(clips):
        y, _ = load_audio(c.path, sr=model.sr, mono=True)
        probs.append(irmas_window_probs(model, y))
        if log and (i + 1) % 200 == 0:
            log(f"irmas test: {i + 1} / {len(clips)}")
    true = np.zeros((len(clips), len(CLASSES)), bool)
    for i, c in enumerate(clips):
        for lab in c.labels:
            true[i, CLASSES.index(lab)] = True
    pred = irmas_decisions(probs, threshold)
    res = multilabel_f1(true, pred)
    res.update({"n_excerpts": len(clips), "threshold": threshold, "classes": list(CLASSES)})
    return res


# --------------------------------------------------------------------------- soundfont held-out


def render_eval_clips(soundfont: str | Path, n: int, *, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """n fresh clips from any soundfont, classes in turn -> (audio [shape=(n, 66150)], class idx [shape=(n,)]).

    The default seed differs from the corpus seeds, so even a training soundfont gives new phrases.
    """
    from producer.soundfont import SoundFontSynth
    from producer.timbre.data import CORPUS_SR, render_clip

    synth = SoundFontSynth(soundfont, sr=CORPUS_SR)
    try:
        ys, labels = [], []
        for i in range(n):
            k = i % len(CLASSES)
            y, _ = render_clip(synth, np.random.default_rng([seed, 7, i]), CLASSES[k])
            ys.append(y)
            labels.append(k)
    finally:
        synth.close()
    return np.stack(ys), np.array(labels, int)


def evaluate_clips(model, ys: np.ndarray, labels: np.ndarray, *, png: str | Path | None = None,
                   title: str = "") -> dict:
    """Top-1 accuracy, per-class precision/recall, confusion matrix, precision@10 on labelled clips."""
    emb, probs = model.embed_and_predict(ys)
    pred = probs.argmax(1)
    m = confusion(labels, pred)
    per = {}
    for k, c in enumerate(CLASSES):
        tp = m[k, k]
        per[c] = {"precision": float(tp / max(m[:, k].sum(), 1)), "recall": float(tp / max(m[k].sum(), 1)),
                  "n": int(m[k].sum())}
    res = {"n_clips": int(len(ys)), "accuracy": float(np.mean(pred == labels)),
           "precision_at_10": precision_at_k(emb, labels, 10), "per_class": per,
           "confusion": m.tolist(), "classes": list(CLASSES), "model": model.name, "arch": model.arch}
    if png is not None:
        plot_confusion(m, png, title=title or f"{model.name}: top-1 accuracy {res['accuracy']:.3f}, "
                                                f"P@10 {res['precision_at_10']:.3f} ({len(ys)} clips)")
        res["confusion_png"] = str(png)
    return res


def throughput(model, *, batch: int = 64, seconds: float = 3.0, min_time: float = 5.0, seed: int = 0) -> float:
    """Windows of ``seconds`` s embedded per second (features included), batches of ``batch``."""
    rng = np.random.default_rng(seed)
    y = (0.1 * rng.standard_normal((batch, int(seconds * model.sr)))).astype(np.float32)
    model.embed(y)  # warm-up: oneDNN picks its kernels on the first call
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_time:
        model.embed(y)
        n += batch
    return n / (time.perf_counter() - t0)
