"""`producer batch` on a local Ray instance (2 CPUs, started once for the module): one folder per
input exactly as the single command writes it, failed inputs recorded while the batch goes on,
--resume and --force, a worker killed mid-job, and the inputs that stop a batch before it starts."""
import json
import os
import signal

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.render.engine import Renderer
from producer.samples import Library

PRESET = """
[budget]
evaluations = 40
seconds = 3600.0
[search]
tracks = 1
candidates = 4
batch = 4
rounds = 0
[effects]
enabled = false
"""


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    ray = pytest.importorskip("ray")
    from producer.batch import RayCluster

    # Ray's files in this run's temporary folder (a short path: Ray's socket paths must fit).
    with RayCluster(workers=2, temp_dir=tmp_path_factory.mktemp("ray")) as cluster:
        assert ray.is_initialized() and cluster.capacity == 2
        yield cluster
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    lib_dir = write_synthetic_library(root / "lib", instruments=("piano",), drums=("kick",))
    lib = Library.from_manifest(lib_dir)
    inputs = root / "inputs"
    inputs.mkdir()
    for k in (1, 2):
        mix = Renderer(lib).render(random_arrangement(lib, seconds=4.0, n_notes=4, seed=3 + k)).mix
        sf.write(inputs / f"take{k}.wav", mix[:, : 4 * 44100].T, 44100)
    (inputs / "notes.wav").write_text("not audio")  # found by its name, fails as a job
    (inputs / "readme.txt").write_text("not an input")  # not searched for
    preset = root / "tiny.toml"
    preset.write_text(PRESET)
    return root, lib_dir, inputs, preset


def _batch(files, out, *extra, inputs=None):
    root, lib_dir, folder, preset = files
    return main(["batch", *(inputs or [str(folder)]), "--out", str(out), "--preset", str(preset),
                 "--samples", str(lib_dir), "--model", "tiny", "--seed", "3", "--quiet", *extra])


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_batch_writes_each_input_as_the_single_command_does(ray_local, files, tmp_path, capsys):
    root, lib_dir, inputs, preset = files
    out = tmp_path / "batch"
    assert _batch(files, out) == 1  # one input failed
    printed = capsys.readouterr().out
    assert "batch of 3: 2 done, 1 failed" in printed and "failed: notes:" in printed
    book = json.loads((out / "batch.json").read_text())
    jobs = {j["name"]: j for j in book["jobs"]}
    assert set(jobs) == {"take1", "take2", "notes"}
    assert jobs["notes"]["status"] == "failed" and "not an audio file" in jobs["notes"]["error"]
    assert "\n" not in jobs["notes"]["error"]
    for name in ("take1", "take2"):
        assert jobs[name]["status"] == "done" and jobs[name]["seconds"] > 0
        assert 0 < jobs[name]["figures"]["evaluations"] <= 40 and jobs[name]["figures"]["reward"] > 0
    assert not (out / "notes").exists()
    # Same seed, same files, with or without Ray: every file of a job's folder, byte for byte.
    single = tmp_path / "single"
    assert main(["recreate", str(inputs / "take2.wav"), "--out", str(single), "--preset", str(preset),
                 "--samples", str(lib_dir), "--model", "tiny", "--seed", "3", "--quiet"]) == 0
    batch_files, single_files = _tree(out / "take2"), _tree(single)
    assert set(batch_files) == set(single_files) and "recreate.json" in batch_files
    for name in single_files:
        assert batch_files[name] == single_files[name], name

    # Again without --resume or --force: refused, nothing touched.
    before = _tree(out)
    assert _batch(files, out) == 2
    assert "--resume" in capsys.readouterr().err
    assert _tree(out) == before

    # --resume: the complete folders are skipped (not rewritten), the failed input runs again.
    assert _batch(files, out, "--resume") == 1
    assert "2 complete already" in capsys.readouterr().out
    assert {k: v for k, v in _tree(out).items() if k != "batch.json"} == \
           {k: v for k, v in before.items() if k != "batch.json"}
    resumed = {j["name"]: j for j in json.loads((out / "batch.json").read_text())["jobs"]}
    assert resumed["take1"]["resumed"] and resumed["take1"]["figures"] == jobs["take1"]["figures"]
    assert resumed["notes"]["status"] == "failed"

    # --resume with other settings is refused (the folders would not belong together).
    assert _batch(files, out, "--resume", "--evaluations", "20") == 2
    assert "same ones" in capsys.readouterr().err


def test_ray_keeps_its_files_in_the_folder_it_is_given(ray_local, monkeypatch):
    import tempfile
    from pathlib import Path

    from producer.batch import MAX_RAY_DIR, RayCluster, ray_temp_dir

    assert list(Path(ray_local.temp_dir).glob("session_*/sockets"))
    # By default: the system temp folder, unless its path leaves no room for Ray's socket paths.
    monkeypatch.setattr(tempfile, "tempdir", "/scratch")
    assert ray_temp_dir() == "/scratch/producer-ray" and RayCluster().temp_dir == "/scratch/producer-ray"
    monkeypatch.setattr(tempfile, "tempdir", "/" + "x" * (MAX_RAY_DIR - 12))
    assert ray_temp_dir() == "/tmp/producer-ray"
    with pytest.raises(ValueError, match="socket paths"):
        RayCluster(temp_dir="/" + "x" * MAX_RAY_DIR)


def test_force_replaces_only_producers_folders(ray_local, files, tmp_path, capsys):
    root, lib_dir, inputs, preset = files
    out = tmp_path / "batch"
    (out / "take1").mkdir(parents=True)
    (out / "take1" / "mine.txt").write_text("my own notes")
    (out / "batch.json").write_text(json.dumps({"job": "recreate", "settings": {}, "jobs": []}))
    (out / ".producer-output").write_text("")
    one = [str(inputs / "take1.wav"), str(inputs / "take2.wav")]
    assert _batch(files, out, "--force", inputs=one) == 1
    jobs = {j["name"]: j for j in json.loads((out / "batch.json").read_text())["jobs"]}
    assert jobs["take1"]["status"] == "failed" and "not written by producer" in jobs["take1"]["error"]
    assert (out / "take1" / "mine.txt").read_text() == "my own notes"
    assert jobs["take2"]["status"] == "done" and (out / "take2" / "recreate.json").is_file()


def test_a_killed_worker_loses_no_job(ray_local, tiny_library_dir, tmp_path):
    """The first attempt of one job writes its whole folder into the stage, then its worker process
    is killed (SIGKILL) before the stage is moved into place; Ray runs the job again in a new worker
    and every job ends done, with no half-written folder left behind."""
    from producer import api
    from producer.batch import run_jobs
    from producer.output import MARK

    project = {"format": "producer-project", "version": 1, "sample_rate": 44100, "tempo": 120.0,
               "tracks": [{"name": "Keys", "instrument": "piano",
                           "clips": [{"sample": "piano/60", "start": 0.0, "hold": 0.5, "pitch": 60}]}]}
    src = tmp_path / "project.json"
    src.write_text(json.dumps(project))
    marker = tmp_path / "killed-once"
    jobs = [{"job": "render", "input": str(src), "out": str(tmp_path / "out" / f"job{k}"), "force": False,
             "samples": str(tiny_library_dir)} for k in range(3)]

    def crash_once(job):
        from producer.export import bundle

        if job["out"].endswith("job1") and not marker.exists():
            marker.write_text(str(os.getpid()))
            original = bundle.write_bundle

            def write_then_die(*args, **kwargs):
                original(*args, **kwargs)
                os.kill(os.getpid(), signal.SIGKILL)

            bundle.write_bundle = write_then_die
        return api._batch_job(job)

    results = run_jobs(jobs, crash_once, ray_local, max_retries=2)
    assert marker.exists(), "the first attempt did not run"
    assert [r["status"] for r in results] == ["done"] * 3
    assert results[1]["worker"].split(":")[1] != marker.read_text()  # done by another process
    for k in range(3):
        folder = tmp_path / "out" / f"job{k}"
        assert (folder / MARK).is_file() and (folder / "mix.wav").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["job0", "job1", "job2"]

    # Without retries the lost job is recorded as failed and the others still finish.
    marker.unlink()
    jobs = [dict(j, out=j["out"].replace("/out/", "/out2/")) for j in jobs]
    results = run_jobs(jobs, crash_once, ray_local, max_retries=0)
    assert [r["status"] for r in results] == ["done", "failed", "done"]
    assert results[1]["error"].startswith("worker lost after 1 attempts")


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty", "holds no audio files"),
    ("workers", "--workers 0: must be at least 1"),
    ("address", "no Ray cluster answers there"),
])
def test_a_batch_that_cannot_start_exits_2_and_writes_nothing(files, tmp_path, capsys, case, message):
    root, lib_dir, inputs, preset = files
    args = [str(inputs)]
    extra = []
    if case == "missing":
        args = [str(tmp_path / "nowhere")]
    elif case == "empty":
        (tmp_path / "empty").mkdir()
        args = [str(tmp_path / "empty")]
    elif case == "workers":
        extra = ["--workers", "0"]
    else:
        extra = ["--address", "127.0.0.1:9"]  # the discard port: nothing listens there
    out = tmp_path / "out"
    assert _batch(files, out, *extra, inputs=args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_inputs_and_names(tmp_path):
    from producer.batch import find_inputs, job_names
    from pathlib import Path

    # A batch writing inside its input folder does not take its own results as inputs on --resume.
    (tmp_path / "loops" / "out" / "a").mkdir(parents=True)
    (tmp_path / "loops" / "a.wav").write_bytes(b"")
    (tmp_path / "loops" / "out" / "a" / "mix.wav").write_bytes(b"")
    (tmp_path / "loops" / ".hidden.wav").write_bytes(b"")
    found = find_inputs([tmp_path / "loops"], "recreate", exclude=tmp_path / "loops" / "out")
    assert [p.name for p in found] == ["a.wav"]
    assert len(find_inputs([tmp_path / "loops"], "recreate")) == 2

    names = job_names([Path("a/x.wav"), Path("b/x.wav"), Path("c/y.flac"), Path("d/song/project.json")], "render")
    assert names == ["a_x", "b_x", "y", "song"]
    assert job_names([Path("a/x.wav"), Path("a/x.flac")], "recreate") == ["a_x", "a_x_2"]


HEAD_NODE = """
import sys
import ray
ray.init(address="local", num_cpus=1, include_dashboard=False, _temp_dir=sys.argv[1],
         object_store_memory=100 * 2**20)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # runs until the test closes its input
ray.shutdown()
"""


def test_joins_a_running_cluster_with_address(tiny_library_dir, tmp_path, tmp_path_factory):
    """A Ray head node in another process; `producer batch --address` runs its job there."""
    import subprocess
    import sys

    project = {"format": "producer-project", "version": 1, "sample_rate": 44100, "tempo": 120.0,
               "tracks": [{"name": "Keys", "instrument": "piano",
                           "clips": [{"sample": "piano/60", "start": 0.0, "hold": 0.5, "pitch": 60}]}]}
    src = tmp_path / "song" / "project.json"
    src.parent.mkdir()
    src.write_text(json.dumps(project))
    head = subprocess.Popen([sys.executable, "-c", HEAD_NODE, str(tmp_path_factory.mktemp("head"))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        address = head.stdout.readline().strip()
        assert address, "the head node did not start"
        out = tmp_path / "out"
        run = subprocess.run([sys.executable, "-m", "producer", "batch", str(src), "--job", "render", "--samples",
                              str(tiny_library_dir), "--out", str(out), "--address", address, "--quiet"],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        [job] = json.loads((out / "batch.json").read_text())["jobs"]
        assert job["name"] == "song" and job["status"] == "done" and job["figures"]["clips"] == 1
        assert int(job["worker"].split(":")[1]) not in (os.getpid(), head.pid)
        assert (out / "song" / "mix.wav").is_file()
    finally:
        head.stdin.close()
        head.wait(timeout=120)
