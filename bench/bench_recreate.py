"""Benchmark of `producer recreate`: MCTS against the random and greedy baselines, and speed.

    .venv/bin/python bench/bench_recreate.py                 # everything (about 20-30 min on 2 cores)
    .venv/bin/python bench/bench_recreate.py --quick         # smaller budgets, two targets
    .venv/bin/python bench/bench_recreate.py --only speed    # throughput and length scaling only

Targets are rendered from known arrangements of library samples (3-4 monophonic tracks, about
24 notes in 10 s), so the recovered arrangement can be scored against the truth (note F1: onset
within 50 ms, same MIDI pitch, same instrument). Every strategy gets the same evaluation budget
and wall-clock cap and optimises the same reward; the external metrics (multi-resolution STFT
distance, MFCC distance, chroma similarity, onset F-measure) are computed on the rendered mixes.

Speed: candidate evaluations per second when scoring insert candidates in batches, as the search
does, on a 30 s target; the cost of one evaluation on 10 s and 120 s targets; and the wall time
of the default preset on a 30 s target.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.config import load_preset  # noqa: E402
from producer.planner import features as F  # noqa: E402
from producer.planner.baselines import run_strategy  # noqa: E402
from producer.planner.metrics import all_metrics, note_f1  # noqa: E402
from producer.planner.mcts import ordered_actions  # noqa: E402
from producer.planner.problem import build_problem  # noqa: E402
from producer.planner.recreate import single_thread  # noqa: E402
from producer.planner.actions import Insert  # noqa: E402
from producer.planner.synthetic import random_arrangement  # noqa: E402
from producer.planner.target import analyze, to_planner_rate  # noqa: E402
from producer.render.engine import Renderer  # noqa: E402
from producer.samples import Library  # noqa: E402

INSTRUMENT_SETS = [
    ["drums", "bass", "piano", "flute"],
    ["drums", "bass", "electric_guitar"],
    ["bass", "piano", "violin", "clarinet"],
    ["drums", "organ", "trumpet"],
]


def make_target(lib, renderer, *, seconds: float, n_notes: int, instruments, seed: int):
    """(truth project, mono 22,050 Hz target [shape=(n,)], stereo 44.1 kHz mix)."""
    truth = random_arrangement(lib, seconds=seconds, n_notes=n_notes, instruments=instruments, seed=seed)
    mix = renderer.render(truth).mix
    n = int(seconds * truth.sample_rate)
    mix = np.pad(mix, ((0, 0), (0, max(0, n - mix.shape[1]))))[:, :n]
    return truth, to_planner_rate(mix, truth.sample_rate), mix


def render_mono(renderer, project, seconds: float) -> np.ndarray:
    if not project.tracks:
        return np.zeros(int(seconds * F.SR), np.float32)
    return to_planner_rate(renderer.render(project).mix, project.sample_rate)


def compare(args, lib, model) -> None:
    cfg = load_preset(args.preset)
    n_targets = 2 if args.quick else args.targets
    evaluations = args.evaluations or (1500 if args.quick else cfg.budget.evaluations)
    seconds = args.seconds or cfg.budget.seconds
    print(f"\n== strategies: preset {cfg.name}, budget {evaluations} evaluations / {seconds:g} s each, "
          f"{n_targets} targets of 10 s ==")
    header = f"{'target':>7} {'strategy':>8} {'reward':>7} {'mrstft':>7} {'mfcc':>7} {'chroma':>7} " \
             f"{'onsetF':>7} {'noteF1':>7} {'notes':>6} {'evals':>6} {'sec':>6}"
    print(header)
    totals: dict[str, list[dict]] = {}
    renderer = Renderer(lib)
    for i in range(n_targets):
        inst = INSTRUMENT_SETS[i % len(INSTRUMENT_SETS)]
        truth, y, _ = make_target(lib, renderer, seconds=10.0, n_notes=24, instruments=inst, seed=100 + i)
        base = build_problem(y, lib, model, cfg, renderer=renderer)
        for name in ("mcts", "greedy", "random"):
            problem = build_problem(y, lib, model, cfg, renderer=renderer, target=base.target,
                                    catalogue=base.catalogue)
            t0 = time.perf_counter()
            res = run_strategy(name, problem, seed=args.seed, evaluations=evaluations, seconds=seconds)
            dt = time.perf_counter() - t0
            out = render_mono(renderer, res.project, 10.0)
            m = all_metrics(y, out, F.SR)
            f = note_f1(truth, res.project)
            row = {"reward": res.reward, **m, "note_f1": f["f1"], "notes": f["estimated_notes"],
                   "evals": res.evaluations, "sec": dt}
            totals.setdefault(name, []).append(row)
            print(f"{i:>7} {name:>8} {res.reward:7.4f} {m['mrstft']:7.3f} {m['mfcc']:7.2f} {m['chroma']:7.3f} "
                  f"{m['onset_f']:7.3f} {f['f1']:7.3f} {f['estimated_notes']:>3}/{f['truth_notes']:<2} "
                  f"{res.evaluations:>6} {dt:6.1f}", flush=True)
    print("\nmeans (lower is better for mrstft and mfcc):")
    print(f"{'strategy':>8} {'reward':>7} {'mrstft':>7} {'mfcc':>7} {'chroma':>7} {'onsetF':>7} {'noteF1':>7}")
    means = {}
    for name, rows in totals.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        means[name] = mean
        print(f"{name:>8} {mean['reward']:7.4f} {mean['mrstft']:7.3f} {mean['mfcc']:7.2f} {mean['chroma']:7.3f} "
              f"{mean['onset_f']:7.3f} {mean['note_f1']:7.3f}")
    mc = means["mcts"]
    for other in ("greedy", "random"):
        o = means[other]
        wins = {"reward": mc["reward"] > o["reward"], "mrstft": mc["mrstft"] < o["mrstft"],
                "mfcc": mc["mfcc"] < o["mfcc"], "chroma": mc["chroma"] > o["chroma"],
                "onset_f": mc["onset_f"] > o["onset_f"]}
        print(f"mcts beats {other} on: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in wins.items()))
    print(f"self-recreation note F1 (mcts, mean over targets): {mc['note_f1']:.3f} (target >= 0.8)")


def _candidate_batches(problem, state, evaluation, rng, n_batches: int, batch: int):
    """Insert candidates at random onsets of a half-built project: [(parent eval, [(project, region)])]."""
    space = problem.space
    jobs = []
    onsets = problem.target.onsets
    for _ in range(n_batches):
        st = dataclasses.replace(state, slots=tuple(dataclasses.replace(s, cursor=int(rng.integers(len(onsets))),
                                                                        finished=False) for s in state.slots))
        # The ranking's first ``batch`` notes for the acting slot, whether the note prior backs them
        # or not: this measures the cost of scoring a candidate, not which candidates the search takes.
        slot_i = st.acting_slot()
        ranked = problem.catalogue.rank(problem.target, evaluation, st.slots[slot_i].cursor,
                                        instrument=space.slot_instrument(st, slot_i), k=batch)
        notes = problem.catalogue.notes
        acts = [Insert(slot_i, notes[i].sample, notes[i].pitch, gain) for i, gain, _ in ranked]
        jobs.append([space.apply(st, a) for a in acts])
    return jobs


def throughput(problem, *, seconds_target: float, n_batches: int, batch: int, seed: int = 0) -> tuple[float, int]:
    """Candidate evaluations per second, scoring batches of ``batch`` inserts on a project that
    already holds about half the truth's notes."""
    rng = np.random.default_rng(seed)
    ev = problem.evaluator
    state = problem.space.initial()
    evaluation = ev.empty()
    # Half-build: one greedy step per slot per onset for the first half of the onsets.
    for _ in range(len(problem.target.onsets) * len(state.slots) // 2):
        if state.acting_slot() is None:
            break
        acts = ordered_actions(problem, state, evaluation)[:2]
        applied = [problem.space.apply(state, a) for a in acts]
        evs = ev.evaluate_batch(evaluation, [(s.project, r) for s, r in applied])
        j = int(np.argmax([e.value for e in evs]))
        state, evaluation = applied[j][0], evs[j]
    jobs = _candidate_batches(problem, state, evaluation, rng, n_batches, batch)
    start = ev.evaluations
    t0 = time.perf_counter()
    for job in jobs:
        ev.evaluate_batch(evaluation, [(s.project, r) for s, r in job])
    dt = time.perf_counter() - t0
    n = ev.evaluations - start
    return n / dt, n


def speed(args, lib, model) -> None:
    cfg = load_preset("default")
    renderer = Renderer(lib)
    n_batches = 20 if args.quick else 60
    batch = cfg.search.batch
    print(f"\n== speed: batches of {batch} insert candidates, torch on 1 thread ==")
    rates = {}
    for seconds in (10.0, 30.0, 120.0):
        truth, y, _ = make_target(lib, renderer, seconds=seconds, n_notes=int(24 * seconds / 10),
                                  instruments=INSTRUMENT_SETS[0], seed=7)
        t0 = time.perf_counter()
        problem = build_problem(y, lib, model, cfg, renderer=renderer)
        setup = time.perf_counter() - t0
        rate, n = throughput(problem, seconds_target=seconds, n_batches=n_batches, batch=batch)
        rates[seconds] = rate
        print(f"{seconds:5.0f} s target: {rate:7.1f} evaluations/s ({n} evaluations; {1000 / rate:.2f} ms each); "
              f"analysis + catalogue {setup:.1f} s", flush=True)
    print(f"cost of one evaluation, 120 s target / 10 s target: {rates[10.0] / rates[120.0]:.2f}x (target <= 1.5x)")
    print(f"30 s target: {rates[30.0]:.1f} evaluations/s (target >= 100)")


def wall(args, lib, model) -> None:
    cfg = load_preset("default")
    renderer = Renderer(lib)
    truth, y, _ = make_target(lib, renderer, seconds=30.0, n_notes=72, instruments=INSTRUMENT_SETS[0], seed=11)
    print("\n== default preset on a 30 s target (analysis, search and final render) ==")
    t0 = time.perf_counter()
    problem = build_problem(y, lib, model, cfg, renderer=renderer)
    res = run_strategy("mcts", problem, seed=args.seed)
    renderer.render(res.project)
    dt = time.perf_counter() - t0
    f = note_f1(truth, res.project)
    print(f"wall time {dt:.1f} s (target <= 180 s), {res.evaluations} evaluations, reward {res.reward:.4f}, "
          f"note F1 {f['f1']:.3f}, stopped by the time cap: {res.seconds >= cfg.budget.seconds}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["compare", "speed", "wall"])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--targets", type=int, default=4)
    ap.add_argument("--evaluations", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default")
    args = ap.parse_args()
    from producer.timbre import load_model

    lib = Library.default()
    model = load_model(args.model)
    print(f"library: {len(lib)} samples; timbre model: {model.name} ({model.arch}, D={model.embedding_dim})")
    with single_thread():
        # Timing sections first: nothing else of ours competes for the cores while they run.
        if args.only in (None, "speed"):
            speed(args, lib, model)
        if args.only in (None, "wall"):
            wall(args, lib, model)
        if args.only in (None, "compare"):
            compare(args, lib, model)


if __name__ == "__main__":
    main()
