"""`producer embed FILE`: per-window instrument probabilities and a timbre-embedding summary."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("embed", help="instrument probabilities and timbre embedding of an audio file",
                       description="Score an audio file with the timbre CNN: 3 s windows, 1 s apart "
                                   "(the planner's windows); prints the top instruments per window and "
                                   "the mean embedding.")
    p.add_argument("file", metavar="FILE", help="audio file (wav, flac, ...)")
    p.add_argument("--model", default="default", help="model name or .pt path (default: the shipped default)")
    p.add_argument("--window", type=float, default=3.0, help="window length in s (>= 1, default 3)")
    p.add_argument("--hop", type=float, default=1.0, help="window hop in s (default 1)")
    p.add_argument("--max-duration", type=float, default=600.0, help="refuse longer files (s, default 600)")
    p.add_argument("--json", action="store_true", help="print everything (probabilities, embedding) as JSON")
    p.set_defaults(func=run)


def embed_file(path, *, model_name: str = "default", window: float = 3.0, hop: float = 1.0,
               max_duration: float = 600.0) -> dict:
    """Windows of ``window`` s every ``hop`` s over the file -> dict of per-window probabilities,
    per-window embeddings and their mean (re-normalised). Files shorter than 1 s are zero-padded."""
    import numpy as np

    from producer.audio import load_audio
    from producer.errors import InputError
    from producer.timbre import load_model

    if window < 1.0:
        raise InputError(f"--window must be at least 1 s, given {window}")
    if hop <= 0:
        raise InputError(f"--hop must be positive, given {hop}")
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
    windows = np.stack([y[s:s + win] for s in starts])
    emb, probs = model.embed_and_predict(windows)
    mean = emb.mean(axis=0)
    mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return {"file": str(path), "duration": round(duration, 3), "model": model.name, "arch": model.arch,
            "sr": model.sr, "classes": list(model.classes), "window": win / sr, "hop": hop,
            "windows": [{"start": round(s / sr, 3), "probs": [round(float(v), 4) for v in p]}
                        for s, p in zip(starts, probs)],
            "mean_probs": [round(float(v), 4) for v in probs.mean(axis=0)],
            "embedding_dim": int(emb.shape[1]), "embedding": [round(float(v), 6) for v in mean],
            "window_similarity_min": round(float((emb @ mean).min()), 4)}


def run(args) -> int:
    import json

    from producer.timbre.model import CLASS_NAMES

    res = embed_file(args.file, model_name=args.model, window=args.window, hop=args.hop,
                     max_duration=args.max_duration)
    if args.json:
        print(json.dumps(res))
        return 0
    classes = res["classes"]
    print(f"{res['file']}: {res['duration']:.2f} s, {len(res['windows'])} windows of {res['window']:g} s "
          f"(model {res['model']}, {res['arch']})")
    for w in res["windows"]:
        top = sorted(range(len(classes)), key=lambda k: -w["probs"][k])[:3]
        print(f"{w['start']:8.2f} s  " + "  ".join(f"{classes[k]} {w['probs'][k]:.2f}" for k in top))
    best = max(range(len(classes)), key=lambda k: res["mean_probs"][k])
    print(f"overall: {CLASS_NAMES[classes[best]]} ({classes[best]} {res['mean_probs'][best]:.2f})")
    emb = res["embedding"]
    print(f"embedding: {res['embedding_dim']}-d, unit norm, first values "
          + " ".join(f"{v:+.3f}" for v in emb[:6])
          + f"; lowest window similarity to the mean {res['window_similarity_min']:.3f}")
    return 0
