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


def run(args) -> int:
    import json


    from producer import api

    res = api.embed(args.file, model_name=args.model, window=args.window, hop=args.hop,
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
    print(f"overall: {res['class_names'][best]} ({classes[best]} {res['mean_probs'][best]:.2f})")
    emb = res["embedding"]
    print(f"embedding: {res['embedding_dim']}-d, unit norm, first values "
          + " ".join(f"{v:+.3f}" for v in emb[:6])
          + f"; lowest window similarity to the mean {res['window_similarity_min']:.3f}")
    return 0
