"""Instrument probabilities and timbre embedding of a whole file, window by window."""
from __future__ import annotations

import math

# Bounds of `producer embed`: windows the CNN reads (s), the smallest hop (s), and the most windows
# one file may ask for (each window's probabilities are printed; memory stays bounded by batching).
MIN_WINDOW, MAX_WINDOW = 1.0, 30.0
MIN_HOP = 0.05
MAX_WINDOWS = 20_000
_BATCH = 64


def embed_file(path, *, model_name: str = "default", window: float = 3.0, hop: float = 1.0,
               max_duration: float = 600.0) -> dict:
    """Windows of ``window`` s every ``hop`` s over the file -> dict of per-window probabilities,
    per-window embeddings and their mean (re-normalised). Files shorter than 1 s are zero-padded."""
    import numpy as np

    from producer.audio import audio_duration, load_audio
    from producer.errors import InputError
    from producer.timbre import load_model
    from producer.timbre.model import CLASS_NAMES

    if not (math.isfinite(window) and MIN_WINDOW <= window <= MAX_WINDOW):
        raise InputError(f"--window must be {MIN_WINDOW:g}..{MAX_WINDOW:g} s, given {window}")
    if not (math.isfinite(hop) and hop >= MIN_HOP):
        raise InputError(f"--hop must be at least {MIN_HOP:g} s, given {hop}")
    duration = audio_duration(path, max_duration=max_duration)
    if (duration - window) / hop + 1 > MAX_WINDOWS:
        raise InputError(f"--hop {hop:g} s over {duration:.1f} s asks for more than {MAX_WINDOWS} windows; "
                         "use a larger --hop")
    model = load_model(model_name)
    y, sr = load_audio(path, sr=model.sr, mono=True, max_duration=max_duration)
    duration = y.size / sr
    win = int(round(window * sr))
    if y.size < win:
        # One window of what there is (at least 1 s): the CNN reads 1 s sub-windows.
        win = max(y.size, sr)
        y = np.pad(y, (0, win - y.size))
    step = int(round(hop * sr))
    starts = list(range(0, y.size - win + 1, step))
    embs, probs = [], []
    for i in range(0, len(starts), _BATCH):  # batches keep memory flat whatever the hop
        windows = np.stack([y[s:s + win] for s in starts[i:i + _BATCH]])
        e, p = model.embed_and_predict(windows)
        embs.append(e)
        probs.append(p)
    emb, probs = np.concatenate(embs), np.concatenate(probs)
    mean = emb.mean(axis=0)
    mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return {"file": str(path), "duration": round(duration, 3), "model": model.name, "arch": model.arch,
            "sr": model.sr, "classes": list(model.classes),
            "class_names": [CLASS_NAMES.get(c, c) for c in model.classes], "window": win / sr, "hop": hop,
            "windows": [{"start": round(s / sr, 3), "probs": [round(float(v), 4) for v in p]}
                        for s, p in zip(starts, probs)],
            "mean_probs": [round(float(v), 4) for v in probs.mean(axis=0)],
            "embedding_dim": int(emb.shape[1]), "embedding": [round(float(v), 6) for v in mean],
            "window_similarity_min": round(float((emb @ mean).min()), 4)}
