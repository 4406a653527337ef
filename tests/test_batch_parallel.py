"""`recreate --workers N`: candidates scored on Ray actors (a local 2-CPU instance started once for
the module) give the serial search's scores (to the embedding's last bits), decisions and files."""
import numpy as np
import pytest

from producer.cli import main


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    pytest.importorskip("ray")
    from producer.batch import RayCluster

    with RayCluster(workers=2, temp_dir=tmp_path_factory.mktemp("ray")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def files(recreate_inputs):
    return recreate_inputs


def test_actors_score_a_batch_as_this_process_does(ray_local, files):
    from producer.config import load_config
    from producer.planner.actions import Insert
    from producer.planner.parallel import attach_workers, start_workers, stop_workers
    from producer.planner.problem import build_problem
    from producer.planner.target import load_target, to_planner_rate
    from producer.timbre import load_model

    root, lib_dir, lib, target, preset = files
    model = load_model("tiny")
    y, sr = load_target(target, max_duration=60, window_seconds=3.0)
    problem = build_problem(to_planner_rate(y, sr), lib, model, load_config(preset))
    serial = problem.evaluator
    root_eval = serial.empty()
    state = problem.space.initial()
    # Five different first notes on the piano track: five children that each change the mix.
    slot = next(i for i in range(len(state.slots)) if problem.space.slot_instrument(state, i) == "piano")
    notes = [n for n in problem.catalogue.notes if n.instrument == "piano"][:5]
    applied = [problem.space.apply(state, Insert(slot, n.sample, n.pitch, -6.0)) for n in notes]
    children = [(s.project, region) for s, region in applied]
    assert sum(region is not None for _, region in children) >= 3
    want = serial.evaluate_batch(root_eval, children)
    counted = serial.evaluations

    actors = start_workers(1, lib, model)
    try:
        parallel = attach_workers(serial, actors)
        parallel.evaluations = 0
        got = parallel.evaluate_batch(root_eval, children)
    finally:
        stop_workers(actors)
    assert parallel.remote_evaluations >= 2  # the actor scored its share
    assert parallel.evaluations == counted
    assert len(got) == len(want)
    for a, b in zip(got, want):
        # Mixes and frame features are exact; the embeddings differ in their last bits with the rows
        # that share a torch batch (see producer.planner.parallel), which the tiny model's high
        # timbre floor magnifies to a few 1e-6 of reward.
        np.testing.assert_array_equal(a.frame_chroma, b.frame_chroma)
        np.testing.assert_array_equal(a.spec_sim, b.spec_sim)
        np.testing.assert_allclose(a.seg_emb, b.seg_emb, atol=1e-5)
        assert a.reward == pytest.approx(b.reward, abs=1e-4) and a.value == pytest.approx(b.value, abs=1e-4)


def test_recreate_with_two_workers_finds_the_serial_project(ray_local, files, tmp_path):
    """The same decisions, project and audio; the logged rewards may differ in their sixth decimal
    (the embedding's batch-dependent last bits, see producer.planner.parallel)."""
    import json

    root, lib_dir, lib, target, preset = files
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        assert main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                     "--model", "tiny", "--quiet", "--seed", "2", "--workers", str(workers)]) == 0
        outs[workers] = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert set(outs[1]) == set(outs[2])
    exact = [n for n in outs[1] if n.endswith((".wav", ".mid", ".rpp", ".ardour", ".dawproject"))
             or n == "project.json"]
    assert "project.json" in exact and "mix.wav" in exact and len(exact) >= 5
    for name in exact:
        assert outs[1][name] == outs[2][name], name
    logs = [[json.loads(line) for line in outs[w]["search_log.jsonl"].splitlines()] for w in (1, 2)]
    assert [e["action"] for e in logs[0]] == [e["action"] for e in logs[1]] and logs[0]
    for a, b in zip(*logs):
        assert a["evaluations"] == b["evaluations"] and a["reward"] == pytest.approx(b["reward"], abs=1e-4)
    summaries = [json.loads(outs[w]["recreate.json"]) for w in (1, 2)]
    assert summaries[0]["evaluations"] == summaries[1]["evaluations"]
    assert summaries[0]["reward"] == pytest.approx(summaries[1]["reward"], abs=1e-4)


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_recreate_workers_below_one_exits_2(files, tmp_path, capsys, workers):
    root, lib_dir, lib, target, preset = files
    out = tmp_path / "out"
    assert main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                 "--model", "tiny", "--quiet", "--workers", workers]) == 2
    err = capsys.readouterr().err
    assert f"--workers {workers}" in err and err.count("\n") == 1
    assert not out.exists()
