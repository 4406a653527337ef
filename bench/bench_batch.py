"""Batch and parallel-search benchmark (issue 16), every figure measured side by side in one run.

1. Batch throughput: N recreations of 10 s inputs one after another in this process (the
   baseline: the single command's use case, models already loaded) vs ``api.batch`` with
   ``--workers 2`` on a local Ray instance (Ray's start-up included, and also shown without it).
   Same seed and evaluation budget: the folders must be byte-identical, which is checked.
2. Parallel search: one recreate of a 30 s input with 1 vs 2 workers at the same evaluation
   budget: evaluations per second of the search, and whether the projects are identical.
3. Ray's overhead: start-up of a local instance, and the round trip of an empty job through
   ``producer.batch.run_jobs``, as shares of one 10 s recreate.
4. Peak memory (VmHWM) of every Ray worker process, sampled from /proc while the work runs.

The inputs are rendered from the shipped sample pack (``random_arrangement``: known notes on a
0.5 s grid). Targets: batch >= 1.7x, search >= 1.5x evaluations/s, overhead < 5 %. The machine may
be shared: the load average is printed before and after; run it niced.

    nice -n 10 .venv/bin/python bench/bench_batch.py [--inputs 8] [--evaluations 300] [--preset fast]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path


def load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


class WorkerMemory:
    """Samples the peak resident memory (VmHWM, MB) and CPU time (s) of every ``ray::`` process
    on the machine while running; callers pick their own workers' pids out of ``seen``."""

    def __init__(self):
        self.seen: dict[int, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def _run(self):
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode(errors="replace")
                    if not cmd.startswith("ray::"):
                        continue
                    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                    cpu = (int(stat[11]) + int(stat[12])) / self._tick  # utime + stime
                    hwm = next(int(line.split()[1]) / 1024 for line in open(f"/proc/{pid}/status")
                               if line.startswith("VmHWM:"))
                except (OSError, StopIteration, IndexError, ValueError):
                    continue
                old = self.seen.setdefault(int(pid), {"peak_mb": 0.0, "cpu_s": 0.0})
                old["peak_mb"] = max(old["peak_mb"], hwm)
                old["cpu_s"] = max(old["cpu_s"], cpu)
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_inputs(folder: Path, n: int, seconds: float, seed0: int) -> list[Path]:
    import soundfile as sf

    from producer.planner.synthetic import random_arrangement
    from producer.render.engine import Renderer
    from producer.samples import Library

    lib = Library.default()
    renderer = Renderer(lib)
    paths = []
    for k in range(n):
        project = random_arrangement(lib, seconds=seconds, n_notes=int(2 * seconds), seed=seed0 + k,
                                     instruments=("piano", "bass", "drums"))
        mix = renderer.render(project).mix[:, : int(seconds * 44100)]
        path = folder / f"in{k:02d}.wav"
        sf.write(path, mix.T, 44100)
        paths.append(path)
    return paths


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def search(path: Path, preset: str, evaluations: int, workers: int):
    """The search of one recreate as ``plan_project`` runs it, with the parallel evaluator's own
    figures: (SearchResult, stats). Each run analyses from scratch (no warm caches)."""
    from producer.config import load_preset
    from producer.planner import parallel
    from producer.planner.mcts import run_mcts
    from producer.planner.problem import build_problem
    from producer.planner.recreate import single_thread, usable_library
    from producer.planner.target import load_target, to_planner_rate
    from producer.render.engine import Renderer
    from producer.samples import open_library
    from producer.timbre import load_model

    cfg = load_preset(preset)
    y, sr = load_target(path, max_duration=600, window_seconds=cfg.analysis.window_seconds)
    library, model = usable_library(open_library(None)), load_model("default")
    actors = parallel.start_workers(workers - 1, library, model) if workers > 1 else []
    stats: dict = {"sizes": []}
    with single_thread():
        problem = build_problem(to_planner_rate(y, sr), library, model, cfg, renderer=Renderer(library))
        if actors:
            problem.evaluator = ev = parallel.attach_workers(problem.evaluator, actors)
            inner = ev.evaluate_batch

            def counted(parent, children):
                stats["sizes"].append(sum(1 for _, region in children if region is not None))
                return inner(parent, children)

            ev.evaluate_batch = counted
        c0 = cpu_seconds()
        result = run_mcts(problem, seed=0, evaluations=evaluations, seconds=1e9)
        stats["cpu_s"] = cpu_seconds() - c0
    if actors:
        import ray

        stats.update(remote_evaluations=ev.remote_evaluations, remote_s=ev.remote_seconds, wait_s=ev.wait_seconds,
                     actor=ray.get(actors[0].peak_mb.remote()))
        parallel.stop_workers(actors)
    return result, stats


def noop_job(job: dict) -> dict:
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--evaluations", type=int, default=300, help="evaluation budget of each recreate")
    ap.add_argument("--long-evaluations", type=int, default=1200, help="budget of the 30 s recreate")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args()

    from producer import api
    from producer.batch import RayCluster, run_jobs

    print(f"machine: {os.cpu_count()} CPUs, load average {load()} at the start")
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    budget = dict(preset=args.preset, evaluations=args.evaluations, budget_seconds=3600.0, seed=0)

    if not args.skip_batch:
        (tmp / "inputs").mkdir()
        inputs = make_inputs(tmp / "inputs", args.inputs, 10.0, seed0=100)
        t0, c0 = time.perf_counter(), cpu_seconds()
        serial_seconds = []
        for path in inputs:
            t = time.perf_counter()
            api.recreate(path, tmp / "serial" / path.stem, **budget)
            serial_seconds.append(time.perf_counter() - t)
        serial, serial_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        with WorkerMemory() as mem:
            t0 = time.perf_counter()
            s = api.batch([tmp / "inputs"], tmp / "batch", workers=2, **budget)
            batched = time.perf_counter() - t0
        same = sum(tree(tmp / "serial" / p.stem) == tree(tmp / "batch" / p.stem) for p in inputs)
        pids = sorted({int(r["worker"].split(":")[1]) for r in s.records if "worker" in r})
        batch_cpu = sum(mem.seen.get(pid, {}).get("cpu_s", 0.0) for pid in pids)
        n = len(inputs)
        print(f"\n1. {n} recreations of 10 s inputs ({args.preset}, {args.evaluations} evaluations each)")
        print(f"   serial, one process:       {serial:7.1f} s  {n / serial * 60:6.2f} recreations/min "
              f"(one: {min(serial_seconds):.1f}-{max(serial_seconds):.1f} s); {serial_cpu / n:.1f} CPU s each")
        print(f"   batch --workers 2:         {batched:7.1f} s  {n / batched * 60:6.2f} recreations/min  "
              f"ratio {serial / batched:.2f}x (target 1.7x); {s.done} done, {s.failed} failed; "
              f"{batch_cpu / n:.1f} CPU s each in the 2 workers")
        print(f"   batch without Ray start:   {batched - s.ray_start_seconds:7.1f} s  "
              f"ratio {serial / (batched - s.ray_start_seconds):.2f}x")
        print(f"   on 2 idle cores (from CPU time, both workers busy): {2 * serial_cpu / batch_cpu:.2f}x")
        print(f"   same files as the serial run: {same}/{n} folders byte-identical")
        for pid in pids:
            print(f"   batch worker {pid}: peak memory {mem.seen.get(pid, {}).get('peak_mb', 0):.0f} MB, "
                  f"{sum(1 for r in s.records if r.get('worker', '').endswith(f':{pid}'))} jobs")
        one = sum(serial_seconds) / len(serial_seconds)
    else:
        one = None

    if not args.skip_search:
        [long_input] = make_inputs(tmp, 1, 30.0, seed0=7)
        rates, results = {}, {}
        with RayCluster(workers=2), WorkerMemory() as mem:
            for workers in (1, 2):
                r, stats = search(long_input, args.preset, args.long_evaluations, workers)
                rates[workers], results[workers] = r.evaluations / r.seconds, r
                print(f"\n2. one 30 s recreate, {workers} worker{'s' if workers > 1 else ''}: {r.evaluations} "
                      f"evaluations in {r.seconds:.1f} s of search = {rates[workers]:.1f} evaluations/s, "
                      f"reward {r.reward:.6f}; {stats['cpu_s']:.1f} CPU s in this process")
                if workers > 1:
                    sizes = stats["sizes"]
                    print(f"   expansions: {len(sizes)}, of them with one candidate (scored here alone): "
                          f"{sum(1 for k in sizes if k == 1)}; candidates scored by the actor: "
                          f"{stats['remote_evaluations']} of {r.evaluations}; actor busy {stats['remote_s']:.1f} s, "
                          f"this process waiting for it {stats['wait_s']:.1f} s")
                    pid, peak = stats["actor"]
                    cpu = mem.seen.get(pid, {}).get("cpu_s", float("nan"))
                    print(f"   search worker {pid}: peak memory {peak:.0f} MB, {cpu:.1f} CPU s")
        same = results[1].project == results[2].project and results[1].reward == results[2].reward
        print(f"   evaluations/s ratio 2 vs 1 worker: {rates[2] / rates[1]:.2f}x (target 1.5x); "
              f"same project and reward: {same}")

    with RayCluster(workers=2) as cluster:
        jobs = [{"k": k} for k in range(40)]
        run_jobs(jobs[:4], noop_job, cluster)  # workers started and warm
        t0 = time.perf_counter()
        run_jobs(jobs, noop_job, cluster)
        per_task = (time.perf_counter() - t0) / len(jobs)
    print(f"\n3. Ray start-up (local, 2 CPUs): {cluster.start_seconds:.1f} s; one empty job's round trip: "
          f"{per_task * 1000:.1f} ms")
    if one is not None:
        n = args.inputs
        share = (cluster.start_seconds / n + per_task) / one
        print(f"   per job of a batch of {n}: start-up / {n} + round trip = "
              f"{cluster.start_seconds / n + per_task:.2f} s = {100 * share:.1f} % of one 10 s recreate "
              f"({one:.1f} s; target < 5 %); start-up alone is {100 * cluster.start_seconds / one:.0f} % of one")
    print(f"\nload average {load()} at the end; files in {tmp}")


if __name__ == "__main__":
    main()
