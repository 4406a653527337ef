"""Benchmark of `producer tune`: a simulated listener steers a 6-parameter effect chain.

The listener hears two versions and prefers the one whose sound is closer to a hidden target
setting, and answers wrongly 15 % of the time. Closeness is measured in the features the
planner's reward compares spectra with: the log-mel spectrogram (128 bands, 22,050 Hz, dB with a
floor 80 dB under the target's loudest bin), mean absolute difference in dB over the passage.
That is what a listener hears (two settings that sound alike are close even when their knobs
differ, e.g. any cutoff above the notes' harmonics), and a distance of 0 means the target itself.

Regret after n answers = distance(favourite, target) / mean distance(random setting, target):
0 is the target's sound, 1 is as far as a setting drawn at random. Methods, all fed by the same
kind of listener and the same budget of answers:

- tune:      producer's session itself (TuneSession: preference GP, favourite vs max expected
             improvement, rendering through the project renderer; favourite = the heard version
             with the highest posterior mean)
- random:    the same preference GP fitted to pairs of uniformly random settings (what the GP
             gets without choosing its questions)
- cma-es:    CMA-ES (``cma``, population 2: each generation is one question, the preferred
             version ranks first); favourite = the distribution mean
- hill:      favourite vs a random perturbation (sigma 0.15), the preferred one stays; no model

Also the time from an answer to the next playable pair (model refit, proposal, render, WAV
written), on this chain and on examples/demo_project.json with all its knobs.

    nice -n 10 .venv/bin/python bench/bench_tune.py            # 8 runs (about 10 min on 2 cores)
    .venv/bin/python bench/bench_tune.py --runs 2 --answers 20  # quick look
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.audio import resample, to_mono  # noqa: E402
from producer.features import logmel  # noqa: E402
from producer.project import Clip, Effect, Project, Track, load_project  # noqa: E402
from producer.render.engine import Renderer  # noqa: E402
from producer.samples import Library  # noqa: E402
from producer.tune.model import PreferenceModel  # noqa: E402
from producer.tune.params import apply_unit, current_unit, passage, select_knobs  # noqa: E402
from producer.tune.session import Settings, TuneSession  # noqa: E402

CHECKPOINTS = (10, 20, 40)
WRONG = 0.15
FLOOR_DB = 80.0
KNOBS = ("Keys:gain_db,Keys:lowpass.cutoff_hz,Keys:low_shelf.gain_db,Keys:high_shelf.gain_db,"
         "Keys:compressor.threshold_db,Keys:reverb.wet")


def chain_project() -> Project:
    """A 4 s piano phrase of the shipped pack through a six-knob chain."""
    notes = [("piano/D#4", 63), ("piano/G4", 67), ("piano/B4", 71), ("piano/G4", 67),
             ("piano/D#5", 75), ("piano/B4", 71), ("piano/G3", 55), ("piano/D#4", 63)]
    clips = tuple(Clip(s, 0.5 * i, 0.45, p) for i, (s, p) in enumerate(notes))
    chain = (Effect.make("lowpass", cutoff_hz=6000.0), Effect.make("low_shelf", gain_db=0.0),
             Effect.make("high_shelf", gain_db=0.0), Effect.make("compressor", threshold_db=-18.0),
             Effect.make("reverb", wet=0.25))
    return Project(tempo=120.0, tracks=(Track("Keys", "piano", gain_db=-6.0, effects=chain, clips=clips),))


class Listener:
    """Hears versions as log-mel spectrograms and compares them with the hidden target."""

    def __init__(self, renderer: Renderer, project: Project, knobs, target: np.ndarray, seconds: float,
                 rng: np.random.Generator):
        self.renderer, self.project, self.knobs, self.seconds = renderer, project, knobs, seconds
        self.rng = rng
        self.cache: dict[bytes, float] = {}
        self.target_mel = self._mel(target)
        self.floor = self.target_mel.max() - FLOOR_DB

    def _mel(self, x: np.ndarray) -> np.ndarray:
        version = apply_unit(passage(self.project, self.seconds), self.knobs, x)
        mix = self.renderer.render(version).mix
        n = int((self.seconds + 1.0) * self.project.sample_rate)
        y = np.zeros(n, dtype=np.float32)
        mono = to_mono(mix)[:n]
        y[: len(mono)] = mono
        return logmel(resample(y, self.project.sample_rate, 22050), normalize=False)

    def distance(self, x: np.ndarray) -> float:
        key = np.asarray(x, dtype=np.float64).tobytes()
        if key not in self.cache:
            mel = np.maximum(self._mel(np.asarray(x)), self.floor)
            self.cache[key] = float(np.mean(np.abs(mel - np.maximum(self.target_mel, self.floor))))
        return self.cache[key]

    def prefers_first(self, x: np.ndarray, y: np.ndarray) -> bool:
        right = self.distance(x) <= self.distance(y)
        return right if self.rng.random() >= WRONG else not right


def run_tune(listener, project, knobs, seed, answers, folder) -> tuple[list[np.ndarray], list[float]]:
    """The real session; returns the favourite after each answer and the answer->pair times."""
    settings = Settings("bench", tuple(k.name for k in knobs), listener.seconds, seed, answers, "unused")

    def render(p):
        r = listener.renderer.render(p)
        return r.mix, r.sr

    session = TuneSession.create(folder, project, knobs, settings, render=render,
                                 save=lambda *a: Path("unused"))
    favourites, times = [], []
    for _ in range(answers):
        pair = session.pair()
        xa = np.array(next(v["x"] for v in session.versions if v["id"] == pair["a"]["id"]))
        xb = np.array(next(v["x"] for v in session.versions if v["id"] == pair["b"]["id"]))
        choice = "a" if listener.prefers_first(xa, xb) else "b"
        started = time.perf_counter()
        session.answer(pair["pair"], choice)
        times.append(time.perf_counter() - started)
        favourites.append(np.array(session.versions[session.model.favourite()]["x"]))
    return favourites, times


def run_random(listener, start, rng, answers) -> list[np.ndarray]:
    model = PreferenceModel(len(start))
    model.add_point(start)
    favourites = []
    for _ in range(answers):
        i, j = model.add_point(rng.random(len(start))), model.add_point(rng.random(len(start)))
        model.prefer(*((i, j) if listener.prefers_first(model.points[i], model.points[j]) else (j, i)))
        model.fit()
        favourites.append(model.points[model.favourite()].copy())
    return favourites


def run_cma(listener, start, seed, answers) -> list[np.ndarray]:
    import cma

    es = cma.CMAEvolutionStrategy(list(start), 0.25, {"popsize": 2, "bounds": [0, 1], "seed": seed + 1,
                                                       "verbose": -9})
    favourites = []
    for _ in range(answers):
        x, y = es.ask()
        first = listener.prefers_first(np.clip(x, 0, 1), np.clip(y, 0, 1))
        es.tell([x, y], [0.0, 1.0] if first else [1.0, 0.0])
        favourites.append(np.clip(np.array(es.mean), 0.0, 1.0))
    return favourites


def run_hill(listener, start, rng, answers) -> list[np.ndarray]:
    best = np.array(start)
    favourites = []
    for _ in range(answers):
        challenger = np.clip(best + 0.15 * rng.standard_normal(len(best)), 0.0, 1.0)
        if listener.prefers_first(challenger, best):
            best = challenger
        favourites.append(best.copy())
    return favourites


def latency_on_demo(answers: int, seed: int) -> tuple[int, list[float], list[float], list[float]]:
    """A session over examples/demo_project.json, every knob tuned. Returns (knobs, answer->pair
    times when the listener answers at once, the same after the session rendered ahead, seconds
    the rendering ahead took: how long the listener must have listened for the second case)."""
    root = Path(__file__).resolve().parent.parent
    project = load_project(root / "examples" / "demo_project.json")
    knobs = select_knobs(project, None)
    renderer = Renderer(Library.default(), base_dir=root / "examples")
    rng = np.random.default_rng(seed)

    def render(p):
        r = renderer.render(p)
        return r.mix, r.sr

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings("demo", tuple(k.name for k in knobs), 10.0, seed, answers, "unused")
        session = TuneSession.create(Path(tmp) / "s", project, knobs, settings, render=render,
                                     save=lambda *a: Path("unused"))
        cold, warm, ahead = [], [], []
        for k in range(answers):
            pair = session.pair()
            if k % 2:  # every other answer comes after the listener has listened a while
                started = time.perf_counter()
                while session.prepare_next():
                    pass
                ahead.append(time.perf_counter() - started)
            started = time.perf_counter()
            session.answer(pair["pair"], str(rng.choice(["a", "b", "both", "neither"])))
            (warm if k % 2 else cold).append(time.perf_counter() - started)
    return len(knobs), cold, warm, ahead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8, help="hidden targets (one listener seed each)")
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--normalise", type=int, default=64, help="random settings per target for the normaliser")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--demo-answers", type=int, default=20)
    args = parser.parse_args()

    project = chain_project()
    knobs = select_knobs(project, KNOBS)
    start = current_unit(project, knobs)
    renderer = Renderer(Library.default())
    checkpoints = [c for c in CHECKPOINTS if c <= args.answers]
    methods = ("tune", "random", "cma-es", "hill")
    regrets = {m: {c: [] for c in checkpoints} for m in methods}
    times: list[float] = []
    t0 = time.time()
    for run in range(args.runs):
        rng = np.random.default_rng([2026, run])
        target = 0.1 + 0.8 * rng.random(len(knobs))
        results = {}
        for method in methods:
            # every method meets the same target and a listener with the same seed
            listener = Listener(renderer, project, knobs, target, args.seconds, np.random.default_rng([7, run]))
            mrng = np.random.default_rng([11, run])
            if method == "tune":
                with tempfile.TemporaryDirectory() as tmp:
                    favs, t = run_tune(listener, project, knobs, run, args.answers, Path(tmp) / "s")
                times += t
            elif method == "random":
                favs = run_random(listener, start, mrng, args.answers)
            elif method == "cma-es":
                favs = run_cma(listener, start, run, args.answers)
            else:
                favs = run_hill(listener, start, mrng, args.answers)
            results[method] = (listener, favs)
        listener = results["tune"][0]
        norm_rng = np.random.default_rng([13, run])
        scale = float(np.mean([listener.distance(norm_rng.random(len(knobs))) for _ in range(args.normalise)]))
        line = [f"run {run}: start {listener.distance(start) / scale:.2f}"]
        for method in methods:
            lst, favs = results[method]
            for c in checkpoints:
                r = lst.distance(favs[c - 1]) / scale
                regrets[method][c].append(r)
            line.append(f"{method} " + "/".join(f"{regrets[method][c][-1]:.2f}" for c in checkpoints))
        print("  ".join(line), f"({time.time() - t0:.0f} s)", flush=True)

    print(f"\nnormalised regret (distance of the favourite to the target / mean distance of a random setting),"
          f" {args.runs} hidden targets, 6 knobs, {WRONG:.0%} wrong answers; mean ± sd [median]:")
    print(f"{'answers':>8}  " + "  ".join(f"{m:>22}" for m in methods))
    for c in checkpoints:
        cells = []
        for m in methods:
            v = regrets[m][c]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            cells.append(f"{np.mean(v):.3f} ± {sd:.3f} [{np.median(v):.3f}]")
        print(f"{c:>8}  " + "  ".join(f"{x:>22}" for x in cells))
    if 20 in checkpoints:
        wins = {m: sum(a < b for a, b in zip(regrets["tune"][20], regrets[m][20])) for m in methods[1:]}
        print("runs where tune's regret at 20 answers is below: " + ", ".join(f"{m} {w}/{args.runs}" for m, w in wins.items()))
    def spread(v):
        return f"median {np.median(v):.3f} s, 95th percentile {np.percentile(v, 95):.3f} s, max {max(v):.3f} s ({len(v)})"

    print(f"\nanswer -> next playable pair (refit, proposal, render, WAV), answered at once:")
    print(f"  6-knob chain, {args.seconds:g} s passage: {spread(times)}")
    n_knobs, cold, warm, ahead = latency_on_demo(args.demo_answers, 0)
    print(f"  examples/demo_project.json, {n_knobs} knobs, 4 tracks, 10 s passage: {spread(cold)}")
    print(f"  the same after listening while the next challengers were rendered ahead: {spread(warm)}")
    print(f"  rendering ahead (all possible answers) took: {spread(ahead)}")


if __name__ == "__main__":
    main()
