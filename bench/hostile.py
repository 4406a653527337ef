"""The hostile new user's matrix: bad input of every kind to every command, through the real CLI.

Each case runs ``producer ...`` in a fresh sandbox folder that also holds the user's own files
(an input, a project, notes). It passes when the command exits 0 or 2 (never a traceback), says
one line when it refuses, leaves every file of the user's where it was, and leaves no stage
folder behind. Prints one line per failing case and the totals.

    .venv/bin/python bench/hostile.py [--only SUBSTRING] [--timeout 120]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
PRODUCER = [sys.executable, "-m", "producer"]
TINY_PRESET = """
[budget]
evaluations = 40
seconds = 60.0
[search]
tracks = 2
candidates = 4
batch = 4
rounds = 0
[effects]
enabled = false
"""


def sandbox(folder: Path) -> dict[str, bytes]:
    """The user's files: audio, a project, a preset, notes; returns path -> bytes to check later."""
    folder.mkdir(parents=True)
    t = np.arange(4 * 22050) / 22050
    sf.write(folder / "in.wav", (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 0.5 < 0.2)).astype(np.float32), 22050)
    sf.write(folder / "short.wav", np.zeros(1000, np.float32) + 0.1, 22050)
    sf.write(folder / "silence.wav", np.zeros(4 * 22050, np.float32), 22050)
    (folder / "notes.txt").write_text("years of work")
    (folder / "empty.mid").write_bytes(b"")
    (folder / "text.wav").write_text("not audio")
    project = {"format": "producer-project", "version": 1, "tempo": 100.0, "tracks": [
        {"name": "Keys 鍵 🎹", "instrument": "piano", "effects": [{"type": "reverb", "params": {"wet": 0.3}}],
         "clips": [{"sample": "piano/B3", "start": 0.0, "hold": 0.5, "pitch": 60}]}]}
    (folder / "song.json").write_text(json.dumps(project, ensure_ascii=False))
    (folder / "preset.toml").write_text(TINY_PRESET)
    bad = dict(project, tracks=[dict(project["tracks"][0], effects=[{"type": ["reverb"]}])])
    (folder / "effect-list.json").write_text(json.dumps(bad))
    (folder / "bigint.json").write_text('{"format": "producer-project", "version": 1, "sample_rate": '
                                        + "9" * 5000 + ', "tracks": []}')
    (folder / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    long = dict(project, tracks=[dict(project["tracks"][0], clips=[dict(project["tracks"][0]["clips"][0],
                                                                         start=3599.0)])])
    (folder / "long.json").write_text(json.dumps(long))
    (folder / "many.json").write_text(json.dumps(dict(project, tracks=[
        {"name": f"t{i}", "instrument": "piano"} for i in range(10_000)])))
    data_bytes = 6000 * 44100 * 4  # a header announcing 1 GB (sparse file)
    with open(folder / "huge.wav", "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt "
                + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16) + b"data" + struct.pack("<I", data_bytes))
        f.truncate(44 + data_bytes)
    os.mkfifo(folder / "pipe.wav")
    (folder / "sub").mkdir()
    (folder / "sub" / "mine.txt").write_text("mine")
    keep = {}
    for p in folder.rglob("*"):
        if p.is_file() and p.name != "huge.wav":
            keep[str(p.relative_to(folder))] = p.read_bytes()
    return keep


R = ["--model", "tiny", "--quiet", "--preset", "preset.toml"]
CASES: list[tuple[str, list[str], str]] = [
    # (name, arguments, where to run: "." or "sub")
    ("recreate ok", ["recreate", "in.wav", "--out", "o", *R], "."),
    ("recreate --out .", ["recreate", "in.wav", "--out", ".", *R], "."),
    ("recreate --out ''", ["recreate", "in.wav", "--out", "", *R], "."),
    ("recreate --out .. --force", ["recreate", "../in.wav", "--out", "..", "--force", *R], "sub"),
    ("recreate --out holds input", ["recreate", "in.wav", "--out", ".", "--force", *R], "."),
    ("recreate into a folder of notes --force", ["recreate", "in.wav", "--out", "sub", "--force", *R], "."),
    ("recreate --out file/sub", ["recreate", "in.wav", "--out", "notes.txt/sub", *R], "."),
    ("recreate --out /proc/x", ["recreate", "in.wav", "--out", "/proc/producer-x", *R], "."),
    ("recreate --seed -1", ["recreate", "in.wav", "--out", "o", "--seed", "-1", *R], "."),
    ("recreate --seed 2**40", ["recreate", "in.wav", "--out", "o", "--seed", str(2**40), *R], "."),
    ("recreate --max-duration nan", ["recreate", "in.wav", "--out", "o", "--max-duration", "nan", *R], "."),
    ("recreate --max-duration -1", ["recreate", "in.wav", "--out", "o", "--max-duration", "-1", *R], "."),
    ("recreate huge header", ["recreate", "huge.wav", "--out", "o", *R], "."),
    ("recreate fifo", ["recreate", "pipe.wav", "--out", "o", *R], "."),
    ("recreate text", ["recreate", "text.wav", "--out", "o", *R], "."),
    ("recreate short", ["recreate", "short.wav", "--out", "o", *R], "."),
    ("recreate silence", ["recreate", "silence.wav", "--out", "o", *R], "."),
    ("recreate missing", ["recreate", "nope.wav", "--out", "o", *R], "."),
    ("recreate folder as input", ["recreate", "sub", "--out", "o", *R], "."),
    ("recreate --tempo 1", ["recreate", "in.wav", "--out", "o", "--tempo", "1", *R], "."),
    ("recreate --quantize 1/5", ["recreate", "in.wav", "--out", "o", "--quantize", "1/5", *R], "."),
    ("recreate --tracks 0", ["recreate", "in.wav", "--out", "o", "--tracks", "0", *R], "."),
    ("recreate --budget 0", ["recreate", "in.wav", "--out", "o", "--budget", "0", *R], "."),
    ("recreate --evaluations -5", ["recreate", "in.wav", "--out", "o", "--evaluations", "-5", *R], "."),
    ("recreate --preset nope", ["recreate", "in.wav", "--out", "o", "--preset", "nope", "--model", "tiny"], "."),
    ("recreate --model notes.txt", ["recreate", "in.wav", "--out", "o", "--model", "notes.txt", "--quiet"], "."),
    ("recreate --samples missing", ["recreate", "in.wav", "--out", "o", "--samples", "nowhere", *R], "."),
    ("render ok", ["render", "song.json", "--out", "r"], "."),
    ("render --out holds project --force", ["render", "song.json", "--out", ".", "--force"], "."),
    ("render --out parent from sub", ["render", "../song.json", "--out", "..", "--force"], "sub"),
    ("render effect type list", ["render", "effect-list.json", "--out", "r"], "."),
    ("render 5000-digit int", ["render", "bigint.json", "--out", "r"], "."),
    ("render deep json", ["render", "deep.json", "--out", "r"], "."),
    ("render clip at 3599 s", ["render", "long.json", "--out", "r"], "."),
    ("render 10000 tracks", ["render", "many.json", "--out", "r"], "."),
    ("render text as project", ["render", "notes.txt", "--out", "r"], "."),
    ("render fifo as project", ["render", "pipe.wav", "--out", "r"], "."),
    ("render into notes --force", ["render", "song.json", "--out", "sub", "--force"], "."),
    ("export ok", ["export", "song.json", "--out", "e", "--format", "ardour,rpp"], "."),
    ("export unknown format", ["export", "song.json", "--out", "e", "--format", "protools"], "."),
    ("export --name ../x", ["export", "song.json", "--out", "e", "--name", "../x"], "."),
    ("export --name ''", ["export", "song.json", "--out", "e", "--name", ""], "."),
    ("drums ok", ["drums", "--kick", "x...x...x...x...", "--out", "d", "--no-audio"], "."),
    ("drums --kick ''", ["drums", "--kick", "", "--out", "d", "--no-audio"], "."),
    ("drums --kick empty.mid", ["drums", "--kick", "empty.mid", "--out", "d", "--no-audio"], "."),
    ("drums --kick 10000 steps", ["drums", "--kick", "x..." * 2504, "--out", "d", "--no-audio"], "."),
    ("drums --seed -1", ["drums", "--kick", "x...x...x...x...", "--out", "d", "--seed", "-1"], "."),
    ("drums --swing 2", ["drums", "--kick", "x...x...x...x...", "--out", "d", "--swing", "2"], "."),
    ("drums --out .", ["drums", "--kick", "x...x...x...x...", "--out", ".", "--force"], "."),
    ("embed --hop 0.00001", ["embed", "in.wav", "--model", "tiny", "--hop", "0.00001"], "."),
    ("embed --hop nan", ["embed", "in.wav", "--model", "tiny", "--hop", "nan"], "."),
    ("embed --window inf", ["embed", "in.wav", "--model", "tiny", "--window", "inf"], "."),
    ("embed huge header", ["embed", "huge.wav", "--model", "tiny"], "."),
    ("embed fifo", ["embed", "pipe.wav", "--model", "tiny"], "."),
    ("embeddings eval --out file", ["embeddings", "eval", "--soundfont", "/usr/share/sounds/sf2/FluidR3_GM.sf2",
                                    "--model", "tiny", "--clips", "11", "--out", "notes.txt"], "."),
    ("embeddings train --out notes.txt", ["embeddings", "train", "--corpus", "sub", "--out", "notes.txt"], "."),
    ("samples list missing", ["samples", "list", "--samples", "nowhere"], "."),
]


def run_case(name: str, args: list[str], where: str, workdir: Path, timeout: float) -> str | None:
    """None when the case passes, else why not."""
    box = workdir / name.replace(" ", "_").replace("/", "_")[:60]
    keep = sandbox(box)
    cwd = box / where
    try:
        proc = subprocess.run(PRODUCER + args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"hung past {timeout:g} s"
    problems = []
    if proc.returncode not in (0, 2):
        problems.append(f"exit {proc.returncode}")
    if "Traceback" in proc.stderr:
        problems.append("traceback: " + proc.stderr.strip().splitlines()[-1][:160])
    if proc.returncode == 2 and proc.stderr.strip().count("\n") != 0:
        problems.append("more than one line: " + proc.stderr.strip()[:160].replace("\n", " | "))
    lost = [rel for rel, data in keep.items()
            if not (box / rel).is_file() or (box / rel).read_bytes() != data]
    if lost:
        problems.append(f"lost or changed: {', '.join(lost[:4])}")
    stages = [str(p.relative_to(box)) for p in box.rglob("*") if ".partial-" in p.name or ".old-" in p.name]
    if stages:
        problems.append(f"stage folders left: {', '.join(stages[:3])}")
    shutil.rmtree(box, ignore_errors=True)
    return "; ".join(problems) or None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the cases whose name holds this")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    cases = [c for c in CASES if args.only in c[0]]
    failed = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for name, argv, where in cases:
            why = run_case(name, argv, where, Path(d), args.timeout)
            if why:
                failed += 1
                print(f"FAIL {name}: {why}", flush=True)
    print(f"{len(cases) - failed} passed, {failed} failed ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
