"""`producer embeddings`: build the soundfont corpus, train the timbre CNN, evaluate it."""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser("embeddings", help="timbre CNN: render a training corpus, train, evaluate",
                       description="Timbre CNN (after Han et al. 2017): corpus, train, eval.")
    s = p.add_subparsers(dest="action", metavar="ACTION")

    c = s.add_parser("corpus", help="render 3 s training clips from soundfonts (IRMAS layout)")
    c.add_argument("--soundfont", action="append", required=True, metavar="PATH",
                   help="sf2/sf3 file; repeat for several (keep the held-out test soundfont out)")
    c.add_argument("--out", required=True, help="folder to write (class folders + manifest.csv)")
    c.add_argument("--clips-per-class", type=int, default=300, help="per soundfont (default 300)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--workers", type=int, default=2, help="render processes (default 2)")
    c.add_argument("--force", action="store_true", help="replace --out if it exists")
    c.set_defaults(func=run_corpus)

    t = s.add_parser("train", help="train on IRMAS (--irmas) or a rendered corpus (--corpus)")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--irmas", metavar="DIR", help="IRMAS root (training folders; testing parts are evaluated)")
    src.add_argument("--corpus", metavar="DIR", help="folder written by `producer embeddings corpus`")
    t.add_argument("--arch", choices=("fast", "han"), default="fast")
    t.add_argument("--width", type=float, default=1.0, help="scale every layer width (tiny models for tests)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this")
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    t.add_argument("--val-fraction", type=float, default=0.1)
    t.add_argument("--supcon", type=float, default=0.5,
                   help="weight of the supervised contrastive term on the embeddings (0 = classification only)")
    t.add_argument("--out", required=True, help="weights file to write (.pt); metrics go beside it (.json)")
    t.add_argument("--force", action="store_true", help="replace --out if it exists")
    t.add_argument("--json", action="store_true", help="print the metrics as JSON")
    t.set_defaults(func=run_train)

    e = s.add_parser("eval", help="accuracy, confusion matrix and retrieval on fresh soundfont clips")
    e.add_argument("--soundfont", required=True, metavar="PATH")
    e.add_argument("--clips", type=int, default=440, help="number of clips, classes in turn (default 440)")
    e.add_argument("--model", default="default", help="model name or .pt path (default: the shipped default)")
    e.add_argument("--seed", type=int, default=2024)
    e.add_argument("--out", default="outputs/timbre-eval", help="folder for confusion.png and metrics.json")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--force", action="store_true", help="replace --out if producer wrote it before")
    e.set_defaults(func=run_eval)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_corpus(args) -> int:
    import time

    from producer import api

    t0 = time.perf_counter()
    n = api.timbre_corpus(args.soundfont, args.out, clips_per_class=args.clips_per_class, seed=args.seed,
                          workers=args.workers, force=args.force, log=_log)
    print(f"wrote {n} clips to {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


def run_train(args) -> int:
    import json

    from producer import api

    metrics = api.train_timbre(
        args.out, irmas=args.irmas, corpus=args.corpus, arch=args.arch, width=args.width, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, max_minutes=args.max_minutes,
        threads=args.threads, val_fraction=args.val_fraction, supcon=args.supcon, force=args.force,
        command="producer " + " ".join(sys.argv[1:]), log=_log)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"wrote {args.out}: best epoch {metrics['best_epoch']}, validation accuracy "
          f"{metrics['val_accuracy']:.3f}, {metrics['total_seconds'] / 60:.1f} min")
    if "irmas_test" in metrics:
        r = metrics["irmas_test"]
        print(f"IRMAS test ({r['n_excerpts']} excerpts, threshold {r['threshold']}): "
              f"micro F1 {r['micro_f1']:.3f}, macro F1 {r['macro_f1']:.3f}")
    return 0


def run_eval(args) -> int:
    import json

    from producer import api

    res, out = api.evaluate_timbre(args.soundfont, args.out, clips=args.clips, model_name=args.model,
                                   seed=args.seed, force=args.force)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['n_clips']} clips of {args.soundfont}")
    print(f"top-1 accuracy {res['accuracy']:.3f}   retrieval precision@10 {res['precision_at_10']:.3f}")
    print("class  precision  recall")
    for c, v in res["per_class"].items():
        print(f"{c:5}  {v['precision']:9.3f}  {v['recall']:6.3f}")
    print(f"confusion matrix: {out / 'confusion.png'}")
    return 0
