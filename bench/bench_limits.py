"""Limits that keep a user's machine and files safe, measured.

1. ``recreate --budget S`` on noise (the worst case for the analysis: an onset everywhere) of
   several lengths: wall time of the whole command (process start to exit) over the budget.
2. A WAV whose header announces 1 GB: peak memory (tracemalloc) and wall time until the refusal,
   against decoding a 100 MB file in the same run (what the old path did before its check).

    .venv/bin/python bench/bench_limits.py [--budgets 10,30] [--lengths 60,300]
"""
from __future__ import annotations

import argparse
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
PRODUCER = [sys.executable, "-m", "producer"]


def huge_header(path: Path, seconds: float) -> None:
    data_bytes = int(seconds * 44100) * 4
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + data_bytes)


def budget_rows(tmp: Path, budgets: list[float], lengths: list[float]) -> None:
    print("recreate --budget on noise: whole-command wall time / budget")
    print(f"{'input s':>8} {'budget s':>9} {'wall s':>8} {'ratio':>6}  evaluations")
    rng = np.random.default_rng(0)
    for seconds in lengths:
        wav = tmp / f"noise{seconds:g}.wav"
        sf.write(wav, 0.3 * rng.standard_normal(int(seconds * 22050)).astype(np.float32), 22050)
        for budget in budgets:
            out = tmp / f"out-{seconds:g}-{budget:g}"
            t0 = time.perf_counter()
            proc = subprocess.run(PRODUCER + ["recreate", str(wav), "--out", str(out), "--budget", str(budget),
                                              "--quiet"], capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t0
            evals = proc.stdout.split(" evaluations")[0].rsplit(" ", 1)[-1] if proc.returncode == 0 else proc.stderr.strip()
            print(f"{seconds:8.0f} {budget:9.0f} {wall:8.1f} {wall / budget:6.2f}  {evals}")


def header_rows(tmp: Path) -> None:
    from producer.audio import load_audio
    from producer.errors import InputError

    big = tmp / "big.wav"
    huge_header(big, 6000)  # 1.06 GB announced, sparse on disk
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        load_audio(big, max_duration=600)
    except InputError as exc:
        message = str(exc)
    refuse_s = time.perf_counter() - t0
    refuse_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    mid = tmp / "mid.wav"  # what decoding costs: a real 100 MB file, decoded whole
    sf.write(mid, np.zeros((int(590 * 44100), 2), np.float32) + 0.01, 44100, subtype="PCM_16")
    tracemalloc.start()
    t0 = time.perf_counter()
    load_audio(mid, max_duration=600)
    decode_s = time.perf_counter() - t0
    decode_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print("\n1 GB header refused before decoding vs decoding 590 s (100 MB) in full")
    print(f"  refused: {refuse_peak / 2**20:.1f} MiB peak, {refuse_s * 1000:.1f} ms  ({message})")
    print(f"  decoded: {decode_peak / 2**20:.1f} MiB peak, {decode_s * 1000:.0f} ms")
    print(f"  ratio: {decode_peak / max(refuse_peak, 1):.0f}x less memory to refuse")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="10,30")
    ap.add_argument("--lengths", default="60,300")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        header_rows(Path(d))
        budget_rows(Path(d), [float(b) for b in args.budgets.split(",")],
                    [float(x) for x in args.lengths.split(",")])


if __name__ == "__main__":
    main()
