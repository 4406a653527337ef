"""Export benchmark: for the example project (and a recreated project, when given), prints

* the time to write every format (Ardour, DAWproject, REAPER, MIDI, stems) with write_sessions,
  median of a few runs, the stems' render included;
* the DAWproject schema check against ../shared/dawproject/*.xsd;
* the Ardour round trip: the session written with plugins bypassed, rendered by
  ``ardour7-export -b 24``, compared with our mix with effects off: residual energy relative to the
  mix (dB) and clip position error (samples; per clip, the lag in [-16, 16] that best aligns
  Ardour's audio with ours around the clip's start). Done at the project's rate and at 48 kHz.

    .venv/bin/python bench/bench_export.py [--recreated outputs/<run>/project.json] [--runs 3]
"""
from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from producer.export.ardour import write_ardour_session
from producer.export.clips import collect_clips
from producer.export.sessions import FORMATS, write_sessions
from producer.project import load_project
from producer.render.engine import Renderer
from producer.samples import Library

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT.parent / "shared" / "dawproject"


def time_all_formats(project, renderer, runs: int) -> float:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Renderer(renderer.library, base_dir=renderer.base_dir)  # no stem cache between runs
            t0 = time.perf_counter()
            write_sessions(project, fresh, tmp, FORMATS)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def schema_check(project, renderer) -> str:
    if not (SCHEMAS / "Project.xsd").is_file():
        return f"skipped (no schemas in {SCHEMAS})"
    from lxml import etree

    from producer.export.dawproject import write_dawproject

    with tempfile.TemporaryDirectory() as tmp:
        path = write_dawproject(project, collect_clips(project, renderer), Path(tmp) / "p.dawproject")
        zf = zipfile.ZipFile(path)
        results = []
        for member, xsd in (("project.xml", "Project.xsd"), ("metadata.xml", "MetaData.xsd")):
            schema = etree.XMLSchema(etree.parse(str(SCHEMAS / xsd)))
            ok = schema.validate(etree.fromstring(zf.read(member)))
            results.append(f"{member} {'valid' if ok else 'INVALID: ' + str(schema.error_log.last_error)}")
        return ", ".join(results)


def ardour_round_trip(project, renderer, attempts: int = 5) -> str:
    exe = shutil.which("ardour7-export")
    if exe is None:
        return "skipped (ardour7-export not found; apt-get install ardour)"
    sr = project.sample_rate
    clips = collect_clips(project, renderer)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_ardour_session(project, clips, tmp / "s", name="bench", plugins_active=False)
        theirs, bad_runs = None, 0
        for _ in range(attempts):  # Ardour 7.3's exporter sometimes aborts at exit: see the tests
            out = tmp / "mix.wav"
            out.unlink(missing_ok=True)
            try:
                proc = subprocess.run([exe, "-s", str(sr), "-b", "24", "-o", str(out), str(tmp / "s"), "bench"],
                                      capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                bad_runs += 1
                continue
            if proc.returncode == 0 and out.exists():
                y, _ = sf.read(str(out), always_2d=True)
                if y.shape[0] == clips.end_frame:
                    theirs = y.T
                    break
            bad_runs += 1
        if theirs is None:
            return f"no clean Ardour render in {attempts} runs"
    ours = renderer.render(project, effects=False).mix[:, : theirs.shape[1]]
    residual_db = 10 * math.log10(np.sum((theirs - ours) ** 2) / np.sum(ours ** 2))
    mono_t, mono_o = theirs.mean(axis=0), ours.mean(axis=0)
    errors = []
    win = int(0.05 * sr)
    for placed in clips.tracks:
        for pc in placed:
            a, b = pc.start_frame, min(pc.start_frame + win, len(mono_o) - 16)
            if b - a < 32 or a < 16:
                a = max(a, 16)
                if b - a < 32:
                    continue
            ref = mono_o[a:b]
            if np.sum(ref ** 2) < 1e-12:
                continue
            errs = {lag: np.sum((mono_t[a + lag: b + lag] - ref) ** 2) for lag in range(-16, 17)}
            errors.append(abs(min(errs, key=errs.get)))
    peak = 20 * math.log10(max(np.max(np.abs(ours)), 1e-12))
    # Ardour sometimes plays one wrong sample where a region ends over another: count them, and
    # give the residual without them, so the figure says what it is made of.
    diff = np.max(np.abs(theirs - ours), axis=0)
    glitches = np.flatnonzero(diff > 1e-3)
    keep = np.ones(theirs.shape[1], bool)
    keep[glitches] = False
    clean_db = 10 * math.log10(max(np.sum((theirs - ours)[:, keep] ** 2), 1e-30) / np.sum(ours ** 2))
    return (f"residual {residual_db:.1f} dB below the mix, clip position error max {max(errors, default=0)} "
            f"samples over {len(errors)} clips; {len(glitches)} samples off by > 1e-3 (residual without them "
            f"{clean_db:.1f} dB); mix peak {peak:+.1f} dBFS; {bad_runs} failed Ardour runs retried")


def report(label: str, path: Path, library: Library, runs: int) -> None:
    project = load_project(path)
    renderer = Renderer(library, base_dir=path.parent)
    n_clips = sum(len(t.clips) for t in project.tracks)
    print(f"\n== {label}: {path} ({len(project.tracks)} tracks, {n_clips} clips, {project.end:.1f} s, "
          f"{project.sample_rate} Hz)")
    print(f"  write all formats ({', '.join(FORMATS)}): {time_all_formats(project, renderer, runs):.2f} s "
          f"(median of {runs})")
    print(f"  DAWproject schema: {schema_check(project, renderer)}")
    print(f"  Ardour round trip at {project.sample_rate} Hz: {ardour_round_trip(project, renderer)}")
    if project.sample_rate != 48000:
        p48 = replace(project, sample_rate=48000)
        print(f"  Ardour round trip at 48000 Hz: {ardour_round_trip(p48, Renderer(library, base_dir=path.parent))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--example", type=Path, default=ROOT / "examples" / "demo_project.json")
    ap.add_argument("--recreated", type=Path, help="project.json written by `producer recreate`")
    ap.add_argument("--samples", type=Path, help="sample library (default: the shipped pack)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    library = Library.from_manifest(args.samples) if args.samples else Library.default()
    report("example project", args.example, library, args.runs)
    if args.recreated:
        report("recreated project", args.recreated, library, args.runs)
    else:
        print("\n== recreated project: none given (pass --recreated outputs/<run>/project.json)")


if __name__ == "__main__":
    main()
