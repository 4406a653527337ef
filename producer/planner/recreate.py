"""``recreate()``: target file in, recreated multitrack project folder out.

Everything that can fail on the user's input (preset, output folder, target audio, sample
library, model) is checked before the search starts, so bad input costs nothing and writes
nothing. Ctrl-C during the search stops it and the best project found so far is still written.

The output folder holds what ``producer render`` writes (mix.wav, stems/, arrangement.mid,
project.json) plus report.html, search_log.jsonl (one JSON object per committed decision) and
recreate.json (reward, evaluations, settings). Apart from report.html's elapsed-time plot, the
files depend only on the input, the preset, the library and the seed (when the evaluation budget,
not the wall-clock cap, ends the search).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from producer.config import PlannerConfig, load_preset


@dataclass(frozen=True)
class RecreateSummary:
    out: Path
    reward: float
    evaluations: int
    seconds: float
    tracks: int
    clips: int
    interrupted: bool


def usable_library(library):
    """The part of ``library`` the planner can write into a project (known instruments only)."""
    from producer.errors import SampleError
    from producer.instruments import INSTRUMENTS
    from producer.samples import Library

    known = [s for s in library if s.instrument in INSTRUMENTS]
    if not known:
        raise SampleError(f"sample library {library.root} has no samples of a known instrument "
                          f"(known: {', '.join(INSTRUMENTS)})")
    if len(known) == len(library):
        return library
    return Library(library.root, known)


def recreate(
    input_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    preset: str = "default",
    budget_seconds: float | None = None,
    evaluations: int | None = None,
    tracks: int | None = None,
    samples: str | os.PathLike | None = None,
    seed: int = 0,
    max_duration: float | None = None,
    force: bool = False,
    model_name: str = "default",
    config: PlannerConfig | None = None,
    progress: Callable[[float, int, float], None] | None = None,
) -> RecreateSummary:
    """Rebuild the sound in ``input_path`` as a multitrack project written to folder ``out``."""
    from producer.output import check_output_dir, staged_output
    from producer.planner.mcts import run_mcts
    from producer.planner.problem import build_problem
    from producer.planner.target import MAX_DURATION, load_target, to_planner_rate
    from producer.samples import Library

    cfg = config or load_preset(preset)
    cfg = cfg.with_overrides(seconds=budget_seconds, tracks=tracks, evaluations=evaluations)
    check_output_dir(out, force=force)
    y, sr = load_target(input_path, max_duration=MAX_DURATION if max_duration is None else max_duration,
                        window_seconds=cfg.analysis.window_seconds)
    library = Library.from_folder(samples) if samples else Library.default()
    library = usable_library(library)

    from producer.render.engine import Renderer
    from producer.timbre import load_model

    model = load_model(model_name)
    renderer = Renderer(library)
    with single_thread():
        problem = build_problem(to_planner_rate(y, sr), library, model, cfg, renderer=renderer)
        result = run_mcts(problem, seed=seed, progress=progress)
    project = result.project

    with staged_output(out, force=force) as stage:
        from producer.api import write_render_outputs

        render = write_render_outputs(project, renderer, stage)
        with open(stage / "search_log.jsonl", "w") as f:
            for entry in result.log:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
        summary = {
            "input": str(Path(input_path).name),
            "preset": cfg.name,
            "seed": seed,
            "reward": round(result.reward, 6),
            "evaluations": result.evaluations,
            "interrupted": result.interrupted,
            "target_seconds": round(problem.target.duration, 4),
            "onsets": len(problem.target.onsets),
            "tempo": round(float(problem.target.tempo), 2),
            "window_rewards": [round(v, 6) for v in result.window_rewards],
        }
        (stage / "recreate.json").write_text(json.dumps(summary, indent=2) + "\n")
        from producer.export.report import write_report

        write_report(stage / "report.html", target=y, target_sr=sr, render=render, project=project,
                     windows_reward=result.window_rewards, history=result.history, log=result.log)
    return RecreateSummary(out=Path(out), reward=result.reward, evaluations=result.evaluations,
                           seconds=result.seconds, tracks=len(project.tracks),
                           clips=sum(len(t.clips) for t in project.tracks), interrupted=result.interrupted)


class single_thread:
    """Run torch on one thread inside the block.

    The planner embeds a dozen 1 s segments at a time; for batches that small, torch's intra-op
    threads cost more in synchronisation than they save (measured 20x slower with 2 threads on a
    busy 2-core machine), and one thread leaves the other core to the rest of the process.
    """

    def __enter__(self):
        import torch

        self._n = torch.get_num_threads()
        torch.set_num_threads(1)
        self._limits = None
        try:  # numpy's BLAS pool too, where threadpoolctl is installed (it is not a dependency)
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(1)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self._n)
        if self._limits is not None:
            self._limits.restore_original_limits()
        return False
