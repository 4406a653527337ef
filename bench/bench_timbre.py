"""Throughput of the timbre models, measured side by side: 3 s windows (the reward window) and
1 s windows (the CNN's input, and what the planner embeds: one per 1 s segment).

    .venv/bin/python bench/bench_timbre.py [--threads 2] [--batch 64] [--seconds 5] [MODEL ...]

Prints windows/s for each model (log-mel features included) and for the features alone.
Models are names known to producer.timbre.load_model or .pt paths; default: fast, han, tiny.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=["fast", "han", "tiny"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    args = ap.parse_args()

    import torch

    from producer.features import logmel
    from producer.timbre import load_model
    from producer.timbre.evaluate import throughput

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batches of {args.batch} x 3 s windows")
    y = (0.1 * np.random.default_rng(0).standard_normal((args.batch, 3 * 22050))).astype(np.float32)
    logmel(y)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        logmel(y)
        n += args.batch
    print(f"{'features only':>14}: {n / (time.perf_counter() - t0):8.0f} windows/s")
    for name in args.models:
        model = load_model(name)
        rate = throughput(model, batch=args.batch, seconds=3.0, min_time=args.seconds)
        rate1 = throughput(model, batch=args.batch, seconds=1.0, min_time=args.seconds)
        params = sum(p.numel() for p in model.net.parameters())
        print(f"{name:>14}: {rate:8.0f} windows/s of 3 s, {rate1:8.0f} of 1 s  "
              f"({model.arch}, D={model.embedding_dim}, {params / 1e6:.2f} M parameters)")


if __name__ == "__main__":
    main()
