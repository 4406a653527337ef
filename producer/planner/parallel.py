"""Leaf-parallel search: the children of one MCTS expansion are scored on several processes.

``ParallelEvaluator`` is an ``Evaluator`` whose ``evaluate_batch`` splits a batch of children
into contiguous chunks: the first is scored here, each other one by a ``SearchWorker`` Ray actor,
all at once. Each actor holds its own renderer (and its clip and stem caches), the timbre model
and the analysed target, sent once when the search starts; per batch only the child projects
(plain values, about 2 KB for a 10 s recreation), their edited regions and the features of the
parent and the children (``Evaluation``: embeddings per 1 s segment, chroma, level and
similarities per frame, about 40 KB for a 10 s target) cross the process boundary. No audio, no
model, no library. The tree, the ranking and the budget stay in the calling process, so the
search takes the same path as the serial one as long as the scores are the same.

Scores are the same to the last bit except for the timbre embedding: torch's CPU kernels give
results that depend, in the last place (about 6e-8 of the tiny model's, 4e-7 of the default
model's embedding), on which other rows share a batch, and each process has its own embedding
cache. The reward magnifies that to about 1e-6 (the tiny model's high timbre floor more than the
default model's). On every run measured the search took the same decisions and wrote the same
project and audio as the serial one (``tests/test_batch_parallel.py``, ``bench/bench_batch.py``);
only rewards in the search log moved, in the sixth decimal. Where two candidates tie that
closely, the parallel search may take the other one.

Most expansions score a single candidate (progressive widening adds one child at a time below
the root), and those run here alone; only batches of two or more are split.

Ray must be initialised by the caller (``producer.batch.RayCluster``).
"""
from __future__ import annotations

import time

from producer.planner.evaluate import Evaluation, Evaluator


class SearchWorker:
    """A Ray actor's body: scores child projects against the target it was given."""

    def __init__(self, library, model):
        import torch

        from producer.render.engine import Renderer

        # One thread per worker: the workers are the parallelism (see planner.recreate.single_thread).
        torch.set_num_threads(1)
        self.library, self.model = library, model
        self.renderer = Renderer(library)
        self.evaluator: Evaluator | None = None

    def attach(self, target, reward) -> int:
        self.evaluator = Evaluator(target, self.renderer, self.model, reward)
        return 0

    def peak_mb(self) -> tuple[int, float]:
        """(process id, peak resident memory in MB) of this worker."""
        import os
        import resource

        return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def evaluate(self, parent: Evaluation, children: list) -> tuple[list[Evaluation], float]:
        t0 = time.perf_counter()
        out = self.evaluator.evaluate_batch(parent, children)
        return out, time.perf_counter() - t0


class ParallelEvaluator(Evaluator):
    """An ``Evaluator`` that scores a batch of children on itself and ``len(actors)`` workers.

    ``min_split``: batches of fewer children (with an edit) are scored here alone; the actors'
    round trip costs more than it saves on one or two children.
    """

    def __init__(self, base: Evaluator, actors: list, *, min_split: int = 2):
        super().__init__(base.target, base.renderer, base.model, base.reward)
        self.evaluations = base.evaluations
        self.actors = list(actors)
        self.min_split = min_split
        self.remote_seconds = 0.0  # time the actors spent scoring
        self.wait_seconds = 0.0  # time this process waited for them after its own share
        self.remote_evaluations = 0

    def evaluate_batch(self, parent: Evaluation, children: list) -> list[Evaluation]:
        import ray

        edited = sum(1 for _, region in children if region is not None)
        if not self.actors or edited < max(2, self.min_split):
            return super().evaluate_batch(parent, children)
        k = min(len(children), 1 + len(self.actors))
        bounds = [round(i * len(children) / k) for i in range(k + 1)]
        chunks = [children[bounds[i]:bounds[i + 1]] for i in range(k)]
        parent_ref = ray.put(parent) if k > 2 else parent
        pending = [actor.evaluate.remote(parent_ref, chunk) for actor, chunk in zip(self.actors, chunks[1:])]
        out = super().evaluate_batch(parent, chunks[0])
        t0 = time.perf_counter()
        for chunk, (evals, seconds) in zip(chunks[1:], ray.get(pending)):
            out.extend(evals)
            self.remote_seconds += seconds
            n = sum(1 for _, region in chunk if region is not None)
            self.evaluations += n
            self.remote_evaluations += n
        self.wait_seconds += time.perf_counter() - t0
        return out


def start_workers(n: int, library, model) -> list:
    """Start ``n`` search workers (Ray actors, one CPU each); they load while the target is analysed."""
    import ray

    actor = ray.remote(num_cpus=1)(SearchWorker)
    library_ref, model_ref = ray.put(library), ray.put(model)  # stored once, read by every worker
    return [actor.remote(library_ref, model_ref) for _ in range(n)]


def attach_workers(evaluator: Evaluator, actors: list) -> ParallelEvaluator:
    """Send the analysed target and the reward to every worker; returns the evaluator to search with."""
    import ray

    target_ref, reward_ref = ray.put(evaluator.target), ray.put(evaluator.reward)
    ray.get([a.attach.remote(target_ref, reward_ref) for a in actors])
    return ParallelEvaluator(evaluator, actors)


def stop_workers(actors: list) -> None:
    import ray

    for actor in actors:
        ray.kill(actor)
