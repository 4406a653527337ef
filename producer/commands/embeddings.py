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

    from producer.errors import InputError
    from producer.output import staged_output
    from producer.timbre.data import build_corpus

    if args.clips_per_class < 1:
        raise InputError(f"--clips-per-class must be at least 1, given {args.clips_per_class}")
    t0 = time.perf_counter()
    with staged_output(args.out, force=args.force) as stage:
        n = build_corpus(args.soundfont, stage, clips_per_class=args.clips_per_class, seed=args.seed,
                         workers=args.workers, log=_log)
    print(f"wrote {n} clips to {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


def _scaled(arch: str, width: float) -> dict:
    if width == 1.0:
        return {}
    base = {"han": ((32, 64, 128, 256), 1024), "fast": ((24, 32, 64, 128), 256)}[arch]
    return {"widths": [max(2, int(round(w * width))) for w in base[0]], "dense": max(4, int(round(base[1] * width)))}


def run_train(args) -> int:
    import json
    import os
    import platform
    import time
    from pathlib import Path

    import torch

    from producer.errors import InputError, OutputError
    from producer.timbre import data
    from producer.timbre.evaluate import evaluate_irmas
    from producer.timbre.model import CLASSES
    from producer.timbre.pretrained import load_model, save_weights
    from producer.timbre.train import TrainSettings, train_on_clips

    out = Path(args.out)
    if out.suffix != ".pt":
        raise OutputError(f"--out must name a .pt file, given {out}")
    if out.exists() and not args.force:
        raise OutputError(f"--out {out} exists (use --force to replace it)")
    if args.supcon < 0:
        raise InputError(f"--supcon must be at least 0, given {args.supcon}")
    if args.epochs < 1:
        raise InputError(f"--epochs must be at least 1, given {args.epochs}")
    t0 = time.perf_counter()
    if args.irmas:
        train_clips, test_clips = data.find_irmas(args.irmas)
        source = f"IRMAS at {args.irmas}"
    else:
        train_clips, test_clips = data.load_training(args.corpus), []
        source = f"soundfont corpus at {args.corpus}"
    _log(f"{len(train_clips)} training clips, {len(test_clips)} testing excerpts ({source})")
    settings = TrainSettings(arch=args.arch, config=_scaled(args.arch, args.width), epochs=args.epochs,
                             batch_size=args.batch_size, lr=args.lr, seed=args.seed, max_minutes=args.max_minutes,
                             threads=args.threads, val_fraction=args.val_fraction, supcon=args.supcon)
    net, hist = train_on_clips(train_clips, settings, log=_log)
    meta = {"source": source, "n_clips": len(train_clips), "command": "producer " + " ".join(sys.argv[1:]),
            "torch": str(torch.__version__), "threads": torch.get_num_threads(), "machine": platform.machine(),
            "history": hist}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    save_weights(tmp, net, arch=args.arch, config=settings.config, classes=CLASSES, meta=meta, half=True)
    os.replace(tmp, out)
    metrics = {"weights": str(out), "arch": args.arch, "source": source, "n_train_clips": len(train_clips),
               "best_epoch": hist["best_epoch"], "val_accuracy": hist["val_acc"][hist["best_epoch"] - 1],
               "train_seconds": hist["train_seconds"], "feature_seconds": hist["feature_seconds"]}
    if test_clips:
        model = load_model(str(out))
        metrics["irmas_test"] = evaluate_irmas(model, test_clips, log=_log)
    metrics["total_seconds"] = round(time.perf_counter() - t0, 1)
    out.with_suffix(".json").write_text(json.dumps(metrics, indent=2) + "\n")
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(f"wrote {out}: best epoch {metrics['best_epoch']}, validation accuracy {metrics['val_accuracy']:.3f}, "
              f"{metrics['total_seconds'] / 60:.1f} min")
        if test_clips:
            r = metrics["irmas_test"]
            print(f"IRMAS test ({r['n_excerpts']} excerpts, threshold {r['threshold']}): "
                  f"micro F1 {r['micro_f1']:.3f}, macro F1 {r['macro_f1']:.3f}")
    return 0


def run_eval(args) -> int:
    import json
    from pathlib import Path

    from producer.errors import InputError
    from producer.timbre.evaluate import evaluate_clips, render_eval_clips
    from producer.timbre.pretrained import load_model

    from producer.output import check_output_dir, staged_output

    if args.clips < 11:
        raise InputError(f"--clips must be at least 11 (one per class), given {args.clips}")
    check_output_dir(args.out, force=args.force)  # a file in the way fails now, not after the rendering
    model = load_model(args.model)
    ys, labels = render_eval_clips(args.soundfont, args.clips, seed=args.seed)
    with staged_output(args.out, force=args.force) as stage:
        res = evaluate_clips(model, ys, labels, png=stage / "confusion.png",
                             title=f"{model.name} on {Path(args.soundfont).name}")
        res["soundfont"] = str(args.soundfont)
        res["seed"] = args.seed
        (stage / "metrics.json").write_text(json.dumps(res, indent=2) + "\n")
    out = stage.final
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{model.name} ({model.arch}) on {args.soundfont}, {res['n_clips']} clips")
    print(f"top-1 accuracy {res['accuracy']:.3f}   retrieval precision@10 {res['precision_at_10']:.3f}")
    print("class  precision  recall")
    for c, v in res["per_class"].items():
        print(f"{c:5}  {v['precision']:9.3f}  {v['recall']:6.3f}")
    print(f"confusion matrix: {out / 'confusion.png'}")
    return 0
