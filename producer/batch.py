"""Many jobs at once on Ray: a local instance sized to the machine, or a running cluster.

This room knows nothing of what a job does. ``producer.api.batch`` finds the inputs
(``find_inputs``), names each job's folder (``job_names``), and hands ``run_jobs`` a function that
runs one job in a Ray worker; ``run_jobs`` keeps as many jobs in flight as the cluster has CPUs
and reports every result as it arrives.

Fault tolerance, in three layers:

- a worker process that dies (killed, out of memory, a crashed extension) makes Ray run its task
  again (``max_retries``); a job's output is staged and moved into place only when complete, so a
  second attempt starts from a clean slate;
- a job that raises (bad input, or a bug) comes back as a failed result with a one-line error,
  and the other jobs go on;
- results are recorded by the caller as they arrive (``batch.json``), so a batch killed as a whole
  is resumed by running it again.
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from producer.errors import InputError

# What a folder input is searched for, per job kind (recursively, in sorted order).
PROJECT_FILE = "project.json"
MIDI_EXTENSIONS = (".mid", ".midi")
# Ray's sockets live under its temp folder; a Unix socket path may hold at most 107 bytes and Ray
# adds about 60 (session_<date>_<pid>/sockets/plasma_store) to the folder it is given.
MAX_RAY_DIR = 44


def _audio_extensions() -> tuple[str, ...]:
    from producer.samples import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


def wanted(path: Path, kind: str) -> bool:
    """Whether a file found inside a folder input is an input of a ``kind`` job."""
    if kind == "render":
        return path.name == PROJECT_FILE
    if kind == "drums":
        return path.suffix.lower() in MIDI_EXTENSIONS + _audio_extensions()
    return path.suffix.lower() in _audio_extensions()


def find_inputs(paths: Iterable[str | os.PathLike], kind: str, *,
                exclude: str | os.PathLike | None = None) -> list[Path]:
    """The input files of a batch: files as given, folders searched (recursively) for the files a
    ``kind`` job reads (audio for recreate, ``project.json`` for render, MIDI or audio for drums).

    A file given by name is taken whatever it holds: if it is not what the job reads, that job
    fails with its own one-line error and the batch goes on. Raises InputError for a path that is
    not there or a folder with nothing to do; a file named twice is one job. Nothing inside
    ``exclude`` (the batch's own output folder, which may lie inside an input folder) is found.
    """
    skip = Path(os.path.realpath(exclude)) if exclude is not None else None
    found: list[Path] = []
    paths = list(paths)
    if not paths:
        raise InputError("name at least one input file or folder")
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and wanted(p, kind)
                            and not any(part.startswith(".") for part in p.relative_to(path).parts)
                            and not (skip is not None and skip in Path(os.path.realpath(p)).parents))
            if not inside:
                what = {"render": PROJECT_FILE, "drums": "MIDI or audio files"}.get(kind, "audio files")
                raise InputError(f"input folder {path} holds no {what}")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"input {path} does not exist")
    unique = list(dict.fromkeys(Path(os.path.abspath(p)) for p in found))
    return unique


def job_names(inputs: list[Path], kind: str) -> list[str]:
    """One output folder name per input, unique and stable for the same list of inputs.

    The file's stem (the folder's name for ``project.json``); names that clash take their parent
    folder's name in front (``live_take1``), then a number (``take1_2``).
    """
    def base(p: Path) -> str:
        return p.parent.name if (kind == "render" and p.name == PROJECT_FILE and p.parent.name) else p.stem

    def clean(text: str) -> str:
        text = "".join(c if c.isalnum() or c in "-_." else "_" for c in text).lstrip(".")
        return text or "input"

    first = [clean(base(p)) for p in inputs]
    names = [n if first.count(n) == 1 else clean(f"{p.parent.name}_{n}") for p, n in zip(inputs, first)]
    out: list[str] = []
    for n in names:
        name, k = n, 2
        while name in out or name == "batch.json":
            name, k = f"{n}_{k}", k + 1
        out.append(name)
    return out


@dataclass(frozen=True)
class Counts:
    """Where a batch stands: jobs done, running, failed and waiting; ``seconds_left`` is an
    estimate (None until a job has finished)."""

    done: int
    running: int
    failed: int
    waiting: int
    seconds_left: float | None
    elapsed: float


def ray_temp_dir() -> str:
    """Where a local Ray instance keeps its files by default: ``producer-ray`` in the system temp
    folder (``$TMPDIR``), or in /tmp when that path is too long for Ray's socket paths."""
    base = tempfile.gettempdir()
    if len(base) + len("/producer-ray") > MAX_RAY_DIR:
        base = "/tmp"
    return os.path.join(base, "producer-ray")


def check_address(address: str, *, timeout: float = 3.0) -> None:
    """Raise InputError unless something listens at a Ray address (``HOST:PORT`` or
    ``ray://HOST:PORT``); checked before Ray is asked, which would wait much longer."""
    text = address.removeprefix("ray://")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address}: expected HOST:PORT (a Ray head node) or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"--address {address}: no Ray cluster answers there ({reason})") from None


class RayCluster:
    """A Ray connection for one batch: ``with RayCluster(workers=2) as cluster`` starts a local
    instance with that many CPUs (no dashboard, its files in ``temp_dir``, by default
    :func:`ray_temp_dir`) and shuts it down at the end; ``RayCluster(address="HOST:PORT")`` joins a
    running cluster instead. When Ray is already initialised in this process (tests, notebooks)
    that instance is used and kept.

    ``temp_dir`` may be at most ``MAX_RAY_DIR`` characters long: Ray puts its sockets a session
    folder below it, and a socket's path may hold 107 bytes.
    """

    def __init__(self, *, workers: int | None = None, address: str | None = None,
                 temp_dir: str | os.PathLike | None = None):
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise InputError(f"--workers {workers}: must be at least 1")
        if address is not None:
            check_address(address)
        self.temp_dir = os.path.abspath(temp_dir) if temp_dir is not None else ray_temp_dir()
        if len(self.temp_dir) > MAX_RAY_DIR:
            raise ValueError(f"Ray temp folder {self.temp_dir}: {len(self.temp_dir)} characters; Ray's socket "
                             f"paths leave room for {MAX_RAY_DIR}")
        self.workers = workers
        self.address = address
        self._started = False
        self.start_seconds = 0.0

    def __enter__(self) -> "RayCluster":
        import ray

        t0 = time.perf_counter()
        if not ray.is_initialized():
            common = dict(include_dashboard=False, log_to_driver=False, configure_logging=True,
                          logging_level="ERROR")
            if self.address is not None:
                try:
                    ray.init(address=self.address, **common)
                except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ... here
                    line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise InputError(f"--address {self.address}: cannot join the Ray cluster ({line})") from None
            else:
                # "local": a new instance of our own, never someone else's cluster on this machine.
                ray.init(address="local", num_cpus=self.workers or os.cpu_count() or 1,
                         object_store_memory=256 * 2**20, _temp_dir=self.temp_dir, **common)
            self._started = True
        self.start_seconds = time.perf_counter() - t0
        return self

    def __exit__(self, *exc) -> bool:
        if self._started:
            import ray

            ray.shutdown()
        return False

    @property
    def capacity(self) -> int:
        """Jobs run at once: the CPUs of the cluster (capped by ``workers`` when given)."""
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 1))
        return max(1, min(cpus, self.workers) if self.workers else cpus)


def _one_line(exc: BaseException) -> str:
    from producer.errors import ProducerError

    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    if isinstance(exc, ProducerError):
        return line or type(exc).__name__
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _attempt(run_job: Callable[[dict], dict], job: dict) -> dict:
    """Run one job in a Ray worker; its errors come back as a failed result, not an exception."""
    # Each worker keeps its own numba cache (librosa's compiled beat tracker and friends): workers
    # that compile the same functions at once can leave a cache that crashes whoever loads it
    # next (a segmentation fault seen in a fresh install). Set before numba is first imported.
    # In the worker's system temp folder (inherited from whoever started Ray): no socket path
    # limits here, so no fallback to /tmp either.
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "producer-ray",
                                                          f"numba-{os.getpid()}"))
    t0 = time.perf_counter()
    try:
        figures = run_job(job)
        result = {"status": "done", "figures": figures}
    except Exception as exc:  # a bad input or a bug: recorded, and the batch goes on
        result = {"status": "failed", "error": _one_line(exc)}
    import resource

    # The worker process's peak resident memory so far (MB): what a node must hold per job at once.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.update(seconds=round(time.perf_counter() - t0, 3), worker=f"{socket.gethostname()}:{os.getpid()}",
                  worker_peak_mb=round(peak_mb, 1))
    return result


def run_jobs(jobs: list[dict], run_job: Callable[[dict], dict], cluster: RayCluster, *,
             max_retries: int = 3, on_result: Callable[[int, dict, Counts], None] | None = None,
             on_progress: Callable[[Counts], None] | None = None) -> list[dict]:
    """Run ``run_job(job)`` for every job on the cluster, ``cluster.capacity`` at a time, in order.

    ``run_job`` must be importable on every worker (a module-level function) or picklable; it
    returns a dict of figures. Returns one result per job, in the jobs' order: ``{"status":
    "done", "figures": ..., "seconds": ..., "worker": "host:pid", "worker_peak_mb": ...}`` or ``{"status": "failed",
    "error": one line, ...}``. A job whose worker died more than ``max_retries`` times fails with
    Ray's reason. ``on_result(index, result, counts)`` is called as each job ends,
    ``on_progress(counts)`` as well and every few seconds while jobs run.
    """
    import ray

    task = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_attempt)
    fn_ref = ray.put(run_job)
    capacity = cluster.capacity
    results: list[dict | None] = [None] * len(jobs)
    in_flight: dict = {}
    started: dict[int, float] = {}
    waiting = list(range(len(jobs)))
    t0 = time.perf_counter()
    durations: list[float] = []

    def counts() -> Counts:
        done = sum(1 for r in results if r is not None and r["status"] == "done")
        failed = sum(1 for r in results if r is not None and r["status"] == "failed")
        left = None
        if durations:
            mean = sum(durations) / len(durations)
            now = time.perf_counter()
            running_left = sum(max(0.0, mean - (now - started[i])) for i in in_flight.values())
            left = (running_left + mean * len(waiting)) / capacity
        return Counts(done, len(in_flight), failed, len(waiting), left, time.perf_counter() - t0)

    last_report = 0.0
    while waiting or in_flight:
        while waiting and len(in_flight) < capacity:
            i = waiting.pop(0)
            in_flight[task.remote(fn_ref, jobs[i])] = i
            started[i] = time.perf_counter()
        ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=2.0)
        for ref in ready:
            i = in_flight.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:  # the worker died more often than retries allow
                result = {"status": "failed", "error": f"worker lost after {max_retries + 1} attempts: "
                          f"{_one_line(exc)}", "seconds": round(time.perf_counter() - started[i], 3)}
            results[i] = result
            durations.append(time.perf_counter() - started[i])
            if on_result is not None:
                on_result(i, result, counts())
        now = time.perf_counter()
        if on_progress is not None and (ready or now - last_report >= 5.0):
            last_report = now
            on_progress(counts())
    return results  # type: ignore[return-value]
