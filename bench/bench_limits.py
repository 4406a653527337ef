"""Limits that keep a user's machine and files safe, measured.

1. ``recreate --budget S`` on noise (the worst case for the analysis: an onset candidate every
   80 ms) of several lengths: wall time of the whole command (process start to exit) over the
   budget; and the same command in a process that first imports what recreate imports (torch,
   librosa, DawDreamer, matplotlib: seconds on a busy machine) and times them, so that the part
   the budget governs is measured apart from them. A first run builds the catalogue cache; it
   is timed apart.
2. A WAV whose header announces 1 GB: peak memory (tracemalloc) and wall time until the refusal,
   against decoding a 100 MB file in the same run (what the old path did before its check).

    .venv/bin/python bench/bench_limits.py [--budgets 10,30] [--lengths 60,300,600]
"""
from __future__ import annotations

import argparse
import json
import os
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


# What a recreate run imports: the CLI, torch (the timbre CNN), DawDreamer, matplotlib (the
# report) and librosa's onset, beat and feature modules (their numba kernels load on import).
IMPORTS = ("import producer.cli, torch, dawdreamer, matplotlib.pyplot, librosa.onset, librosa.beat, "
           "librosa.feature")
# The same command with those imports done (and timed) first, in the process that then runs it.
DRIVER = f"""import sys, time
t0 = time.perf_counter()
{IMPORTS}
sys.stderr.write(f"imports {{time.perf_counter() - t0:.3f}}\\n")
sys.argv = ["producer"] + sys.argv[1:]
raise SystemExit(producer.cli.main())
"""


def _recreate(wav: Path, out: Path, budget: float, *, driver: bool = False) -> tuple[float, float, dict, str]:
    """(wall s of the whole process, s its imports took (driver only), recreate.json, stdout or error)."""
    args = ["recreate", str(wav), "--out", str(out), "--budget", str(budget), "--quiet"]
    command = [sys.executable, "-c", DRIVER, *args] if driver else PRODUCER + args
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    imports = float(proc.stderr.split("imports ", 1)[1].split()[0]) if driver and "imports " in proc.stderr else 0.0
    if proc.returncode != 0:
        return wall, imports, {}, proc.stderr.strip().splitlines()[-1]
    return wall, imports, json.loads((out / "recreate.json").read_text()), proc.stdout.strip()


def budget_rows(tmp: Path, budgets: list[float], lengths: list[float]) -> None:
    rng = np.random.default_rng(0)
    wavs = {}
    for seconds in lengths:
        wavs[seconds] = tmp / f"noise{seconds:g}.wav"
        sf.write(wavs[seconds], 0.3 * rng.standard_normal(int(seconds * 22050)).astype(np.float32), 22050)
    with tempfile.TemporaryDirectory() as cache:
        # A cold catalogue cache first (its own folder, so the user's cache is left alone).
        os.environ["XDG_CACHE_HOME"] = cache
        first = lengths[0]
        wall, _, _, _ = _recreate(wavs[first], tmp / "cold", budgets[0])
        print(f"first run, catalogue cache empty: {first:g} s input, --budget {budgets[0]:g}: {wall:.1f} s "
              f"({wall / budgets[0]:.2f} of the budget; load {os.getloadavg()[0]:.1f})")
        print("\nrecreate --budget on noise, cache warm. 'wall': the command, process start to exit. Then the")
        print("same command in a process that imports torch, DawDreamer, matplotlib and librosa first and times")
        print("it ('imports'); its budget clock starts after them: '(wall-imp)/b' is what the budget governs.")
        print(f"{'input s':>8} {'budget s':>9} {'wall s':>7} {'ratio':>6} {'analysed s':>10} {'evals':>6} | "
              f"{'wall s':>7} {'imports s':>9} {'(wall-imp)/b':>12} {'evals':>6}  load")
        for seconds in lengths:
            for budget in budgets:
                wall, _, summary, line = _recreate(wavs[seconds], tmp / f"a-{seconds:g}-{budget:g}", budget)
                wall2, imports, summary2, line2 = _recreate(wavs[seconds], tmp / f"b-{seconds:g}-{budget:g}", budget,
                                                            driver=True)
                print(f"{seconds:8.0f} {budget:9.0f} {wall:7.1f} {wall / budget:6.2f} "
                      f"{summary.get('target_seconds', float('nan')):10.0f} {summary.get('evaluations', line)!s:>6} | "
                      f"{wall2:7.1f} {imports:9.1f} {(wall2 - imports) / budget:12.2f} "
                      f"{summary2.get('evaluations', line2)!s:>6}  {os.getloadavg()[0]:.1f}", flush=True)
        del os.environ["XDG_CACHE_HOME"]


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
    ap.add_argument("--lengths", default="60,300,600")
    ap.add_argument("--only", choices=("budget", "header"), help="one part of the bench")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if args.only != "budget":
            header_rows(Path(d))
        if args.only != "header":
            budget_rows(Path(d), [float(b) for b in args.budgets.split(",")],
                        [float(x) for x in args.lengths.split(",")])


if __name__ == "__main__":
    main()
