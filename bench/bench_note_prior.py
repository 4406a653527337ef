"""The planner's two note priors side by side on the dev set (issue 17): today's spectral prior
(NNLS of each onset's spectral change over the library's attack spectra) against the note
model's (``producer.planner.note_prior``, preset key ``[search] note_model = true``).

    .venv/bin/python -m producer.notes.devset --out outputs/devset --pieces 30 --seed 0   # once
    nice -n 10 .venv/bin/python bench/bench_note_prior.py --pieces 4 --budget 60

For each piece, on the same library and catalogue, with the default preset and the same budget:

- recreate / spectral: MCTS on today's prior (what ``producer recreate`` does by default);
- recreate / model: MCTS on the note model's prior;
- render / spectral and render / model: every note the prior backs, rendered without a search
  (``bench_real.transcribe_and_render``; the model's prior reduced to one instrument per heard
  note first, see ``one_instrument_per_note``).

Columns as ``bench_real.py`` (its scoring functions): note F1 and instrument-aware note F1
(mir_eval, 50 ms, offsets ignored, drums excluded), drum F1 (kick/snare/hi-hat), the mix metrics
of ``planner.metrics`` and wall time (analysis + prior + search).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_real as BR  # noqa: E402

from producer.notes.devset import load_piece  # noqa: E402
from producer.planner import features as F  # noqa: E402


def one_instrument_per_note(problem):
    """The problem with its model prior reduced, for rendering without a search, to one catalogue
    note per heard note: the named instrument's, else the best-scored other one (rendering every
    backed instrument would play each note several times)."""
    from producer.planner.prior import NotePrior

    prior, cat = problem.prior, problem.catalogue
    if prior is None or getattr(prior, "named", None) is None:
        return problem
    pitch = np.array([n.pitch for n in cat.notes])
    score = np.zeros_like(prior.score)
    for k in range(len(prior.score)):
        backed = prior.backed(k)
        for p in np.unique(pitch[backed]):
            cols = np.flatnonzero(backed & (pitch == p))
            own = cols[prior.named[k, cols]]
            keep = own if len(own) else cols[[int(np.argmax(prior.score[k, cols]))]]
            score[k, keep] = prior.score[k, keep]
    reduced = NotePrior(score=score, gain_db=prior.gain_db, instrument=prior.instrument, floor_score=prior.floor)
    return dataclasses.replace(problem, prior=reduced)


def main() -> None:
    from producer.config import load_preset
    from producer.planner.baselines import run_strategy
    from producer.planner.metrics import all_metrics
    from producer.planner.problem import build_problem
    from producer.planner.recreate import single_thread, usable_library
    from producer.planner.target import to_planner_rate
    from producer.render.engine import Renderer
    from producer.samples import Library
    from producer.timbre import load_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devset", default="outputs/devset")
    ap.add_argument("--pieces", type=int, default=4)
    ap.add_argument("--first", type=int, default=0, help="index of the first piece")
    ap.add_argument("--budget", type=float, default=60.0, help="search seconds per recreate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--evaluations", type=int, help="evaluation cap per search (default: the preset's); with a "
                    "large --budget the searches are equal on a loaded machine")
    ap.add_argument("--tracks", type=int, help="tracks (default: the preset's)")
    ap.add_argument("--chord", type=int, help="notes a track strikes at once (default: the preset's)")
    ap.add_argument("--only", choices=["spectral", "model"], help="run one prior's strategies")
    args = ap.parse_args()

    paths = BR.pieces_of(Path(args.devset))[args.first:args.first + args.pieces]
    spectral = load_preset("default").with_overrides(seconds=args.budget, tracks=args.tracks,
                                                     evaluations=args.evaluations)
    if args.chord:
        spectral = dataclasses.replace(spectral, search=dataclasses.replace(spectral.search, chord=args.chord))
    with_model = dataclasses.replace(spectral, search=dataclasses.replace(spectral.search, note_model=True))
    lib = usable_library(Library.default())
    model = load_model("default")
    renderer = Renderer(lib)
    catalogue = None
    names = [n for n in ("recreate/spectral", "recreate/model", "render/spectral", "render/model")
             if args.only is None or n.endswith(args.only)]
    table: dict[str, list[dict]] = {n: [] for n in names}
    print(f"== note priors on {len(paths)} pieces of {args.devset}, preset default, {args.budget:g} s search, "
          f"{spectral.search.tracks} tracks, chords of up to {spectral.search.chord} ==")
    print(f"{'piece':>9} {'strategy':>17} {'noteF1':>6} {'instF1':>6} {'drumF1':>6} {'mrstft':>6} {'mfcc':>6} "
          f"{'chroma':>6} {'onsetF':>6} {'notes':>9} {'wall':>6}")
    for path in paths:
        truth = load_piece(path)
        y = BR.mono_target(truth)
        problems = {}
        for key, cfg in (("spectral", spectral), ("model", with_model)):
            if args.only not in (None, key):
                continue
            t0 = time.perf_counter()
            with single_thread():
                problems[key] = build_problem(y, lib, model, cfg, renderer=renderer, catalogue=catalogue)
            catalogue = catalogue or problems[key].catalogue
            problems[key].setup = time.perf_counter() - t0
        for name in names:
            kind, key = name.split("/")
            problem = problems[key]
            t0 = time.perf_counter()
            with single_thread():
                project = (run_strategy("mcts", problem, seed=args.seed).project if kind == "recreate"
                           else BR.transcribe_and_render(one_instrument_per_note(problem)))
            wall = time.perf_counter() - t0 + problem.setup
            out = to_planner_rate(renderer.render(project).mix, project.sample_rate) if project.tracks else np.zeros_like(y)
            m = all_metrics(y, out, F.SR)
            pitched, hits = BR.project_notes(project)
            row = {**BR.note_scores(truth, pitched), "drum_f1": BR.drum_f1(truth, hits), **m, "wall": wall}
            table[name].append(row)
            print(f"{path.stem:>9} {name:>17} {row['note_f1']:6.3f} {row['inst_f1']:6.3f} {row['drum_f1']:6.3f} "
                  f"{m['mrstft']:6.3f} {m['mfcc']:6.2f} {m['chroma']:6.3f} {m['onset_f']:6.3f} "
                  f"{len(pitched) + len(hits):>4}/{len(truth['notes']) + len(truth['drums']):<4} {wall:6.1f}", flush=True)
    print("\nmeans over pieces (mrstft, mfcc: lower is better):")
    for name, rows in table.items():
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        print(f"{name:>17} {mean['note_f1']:6.3f} {mean['inst_f1']:6.3f} {mean['drum_f1']:6.3f} {mean['mrstft']:6.3f} "
              f"{mean['mfcc']:6.2f} {mean['chroma']:6.3f} {mean['onset_f']:6.3f} {'':>9} {mean['wall']:6.1f}")


if __name__ == "__main__":
    main()
