"""`recreate --budget` covers the whole run: how the budget is shared out (the analysed span, the
analysis deadline, the write reserve), the minimum budget, and the catalogue kept on disk.
Behaviour only: spans and deadlines are computed from an injected clock, never timed."""
import json
import os
import time

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.config import MIN_BUDGET_SECONDS, PlannerConfig, config_from_dict
from producer.planner import budget as B
from producer.planner.budget import Schedule
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.render.engine import Renderer
from producer.samples import Library
from producer.timbre import load_model

SECONDS = 8.0


@pytest.fixture(autouse=True)
def _own_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("budget")
    lib_dir = write_synthetic_library(root / "lib", instruments=("piano",), drums=("kick",))
    lib = Library.from_manifest(lib_dir)
    truth = random_arrangement(lib, seconds=SECONDS, n_notes=10, seed=2)
    renderer = Renderer(lib)
    n = int(SECONDS * 44100)
    mix = renderer.render(truth).mix[:, :n]
    mix = np.pad(mix, ((0, 0), (0, n - mix.shape[1])))
    target = root / "target.wav"
    sf.write(target, mix.T, 44100)
    from producer.planner.target import to_planner_rate

    y = to_planner_rate(mix, 44100)
    return root, lib_dir, lib, target, y, load_model("tiny")


# --- the schedule ---------------------------------------------------------------------------
def test_a_budget_that_fits_analyses_the_whole_input():
    s = Schedule(started=0.0, seconds=150.0)
    onsets = np.arange(0.0, 30.0, 0.25)  # 4 a second, as music has
    assert s.detect_span(30.3, shortest=3, now=5.0) == 30.3  # exactly, not rounded
    deadline = 5.0 + s.analysis_room(30.3, now=5.0)
    assert s.analysis_span(30.3, onsets, deadline, shortest=3, now=6.0) == 30.3


def test_a_small_budget_analyses_whole_seconds_from_the_start_fewer_the_denser_the_onsets():
    s = Schedule(started=0.0, seconds=20.0)
    now = 6.0
    span = s.detect_span(600.0, shortest=3, now=now)
    assert 3 <= span < 600 and span == int(span)
    deadline = now + s.analysis_room(span, now=now)
    assert deadline < 20.0 - s.write_reserve(span)  # the search and the writing keep their share
    sparse = s.analysis_span(span, np.arange(0.0, span, 1.0), deadline, shortest=3, now=now)
    dense = s.analysis_span(span, np.arange(0.0, span, 0.08), deadline, shortest=3, now=now)
    assert 3 <= dense < sparse <= span and dense == int(dense)
    # the span chosen is the longest whose estimate fits
    cost = B.AUDIO_COST * (dense + 1) + B.ONSET_COST * np.sum(np.arange(0.0, span, 0.08) < dense + 1)
    assert cost > deadline - now


def test_a_spent_budget_still_analyses_one_reward_window():
    s = Schedule(started=0.0, seconds=10.0)
    assert s.analysis_room(3.0, now=12.0) == 0.0
    assert s.detect_span(60.0, shortest=3, now=12.0) == 3.0
    assert s.analysis_span(60.0, np.array([0.5]), 12.0, shortest=3, now=12.0) == 3.0
    assert s.detect_span(2.5, shortest=3, now=12.0) == 2.5  # an input shorter than that: all of it
    assert s.search_seconds(3.0, now=12.0) == 0.0


def test_writing_keeps_its_share_and_what_a_long_target_needs():
    small, large = Schedule(0.0, 10.0), Schedule(0.0, 600.0)
    assert small.write_reserve(3.0) == pytest.approx(B.WRITE_FIXED + 3 * B.WRITE_COST)
    assert large.write_reserve(3.0) == pytest.approx(B.WRITE_SHARE * 600.0)
    assert small.search_seconds(3.0, now=4.0) == pytest.approx(6.0 - small.write_reserve(3.0))


@pytest.mark.parametrize("fits_up_to", [3, 4, 17, 59])
def test_longest_span_is_the_largest_whole_second_that_fits(fits_up_to):
    assert B._longest(60.5, 3, lambda p: p <= fits_up_to) == fits_up_to


# --- the analysis under a schedule ------------------------------------------------------------
def _problem(world, schedule, **kw):
    from producer.planner.problem import build_problem

    _, _, lib, _, y, model = world
    cfg = config_from_dict({"search": {"tracks": 2}, "effects": {"enabled": False}})
    return build_problem(y, lib, model, cfg, schedule=schedule, **kw)


def test_an_ample_budget_changes_nothing_in_the_analysis(world):
    free = _problem(world, None)
    timed = _problem(world, Schedule(time.monotonic(), 3600.0))
    assert timed.target.input_duration is None and timed.target.duration == free.target.duration
    for name in ("onsets", "seg_emb", "frame_chroma", "frame_mel", "onset_emb", "beats"):
        np.testing.assert_array_equal(getattr(timed.target, name), getattr(free.target, name), err_msg=name)
    np.testing.assert_array_equal(timed.prior.score, free.prior.score)


def test_a_spent_budget_cuts_the_analysis_to_one_window_and_gives_the_prior_its_deadline(world, monkeypatch):
    from producer.planner import problem as P

    deadlines = []
    real = P.build_prior

    def spy(target, catalogue, *, deadline=None):
        deadlines.append(deadline)
        return real(target, catalogue, deadline=deadline)

    monkeypatch.setattr(P, "build_prior", spy)
    started = time.monotonic() - 100.0  # a 10 s budget spent long ago
    problem = _problem(world, Schedule(started, 10.0))
    t = problem.target
    assert (t.duration, t.input_duration) == (3.0, pytest.approx(SECONDS))
    assert len(t.onsets) == 0 or t.onsets.max() < 3.0
    assert t.n_segments == 3 and t.frame_db.shape[0] < 3 * 22050 / 512 + 2
    assert deadlines and deadlines[0] is not None and deadlines[0] <= time.monotonic()
    assert problem.prior is None  # past its deadline the prior fits no onset


def test_analysis_costs_decide_the_span(world, monkeypatch):
    # Audio at 1 s per second of input, onsets free: of a 12.5 s budget, writing a 5 s target
    # keeps 2.15 s and the analysis may take half the rest, 5.17 s: 5 whole seconds.
    monkeypatch.setattr(B, "AUDIO_COST", 1.0)
    monkeypatch.setattr(B, "ONSET_COST", 0.0)
    monkeypatch.setattr(B, "ANALYSIS_FIXED", 0.0)
    now = time.monotonic()
    schedule = Schedule(now, 12.5)
    assert schedule.detect_span(SECONDS, shortest=3, now=now) == 5.0
    problem = _problem(world, schedule)
    assert 3 <= problem.target.duration <= 5 and problem.target.input_duration == pytest.approx(SECONDS)


# --- the command --------------------------------------------------------------------------------
def test_a_budget_under_the_minimum_is_refused_in_one_line(world, tmp_path, capsys):
    _, lib_dir, _, target, _, _ = world
    out = tmp_path / "o"
    code = main(["recreate", str(target), "--out", str(out), "--budget", str(MIN_BUDGET_SECONDS - 1),
                 "--samples", str(lib_dir), "--model", "tiny", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "under the minimum of 10 s" in err
    assert not out.exists()
    preset = tmp_path / "quick.toml"
    preset.write_text("[budget]\nseconds = 5.0\n")
    assert main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--model", "tiny"]) == 2
    assert "budget.seconds" in capsys.readouterr().err and not out.exists()
    assert PlannerConfig().with_overrides(seconds=MIN_BUDGET_SECONDS).budget.seconds == MIN_BUDGET_SECONDS


def test_a_cut_analysis_is_said_in_the_files_and_the_summary(world, tmp_path, capsys, monkeypatch):
    _, lib_dir, _, target, _, _ = world
    monkeypatch.setattr(B, "AUDIO_COST", 1e6)  # nothing past one reward window fits
    preset = tmp_path / "tiny.toml"
    preset.write_text("[budget]\nevaluations = 30\nseconds = 600.0\n[search]\ntracks = 1\n[effects]\nenabled = false\n")
    out = tmp_path / "o"
    assert main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                 "--model", "tiny", "--quiet"]) == 0
    summary = json.loads((out / "recreate.json").read_text())
    assert summary["target_seconds"] == 3.0 and summary["input_seconds"] == pytest.approx(SECONDS)
    assert all(c["start"] < 3.0 for t in json.loads((out / "project.json").read_text())["tracks"] for c in t["clips"])
    assert "covered the first 3 s of 8.0 s" in capsys.readouterr().out


def test_a_whole_analysis_writes_no_input_seconds(world, tmp_path):
    _, lib_dir, _, target, _, _ = world
    preset = tmp_path / "tiny.toml"
    preset.write_text("[budget]\nevaluations = 20\nseconds = 600.0\n[search]\ntracks = 1\n[effects]\nenabled = false\n")
    out = tmp_path / "o"
    assert main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                 "--model", "tiny", "--quiet"]) == 0
    summary = json.loads((out / "recreate.json").read_text())
    assert "input_seconds" not in summary and summary["target_seconds"] == pytest.approx(SECONDS)


# --- the catalogue cache ------------------------------------------------------------------------
def _catalogues_equal(a, b):
    assert [(n.sample, n.instrument, n.pitch, n.seconds) for n in a.notes] == \
           [(n.sample, n.instrument, n.pitch, n.seconds) for n in b.notes]
    for name in ("emb", "templates", "chroma", "mel", "power"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name


def test_the_catalogue_is_built_once_then_read_back_the_same(world, tmp_path):
    from producer.planner.catalogue_cache import cache_dir, load_or_build

    _, _, lib, _, _, model = world
    renderer = Renderer(lib)
    first, how1 = load_or_build(lib, renderer, model)
    second, how2 = load_or_build(lib, renderer, model)
    assert (how1, how2) == ("built", "cached")
    _catalogues_equal(first, second)
    files = list(cache_dir().iterdir())
    assert cache_dir() == tmp_path / "cache" / "producer" / "catalogue"
    assert len(files) == 1 and files[0].suffix == ".npz" and not files[0].name.startswith(".")


def test_a_changed_sample_or_model_is_a_new_entry(world, tmp_path):
    from producer.planner.catalogue_cache import cache_key, load_or_build

    root, lib_dir, lib, _, _, model = world
    before = cache_key(lib, model, max_shift=2)
    assert before == cache_key(Library.from_manifest(lib_dir), load_model("tiny"), max_shift=2)
    assert cache_key(lib, model, max_shift=1) != before
    assert cache_key(lib, load_model("default"), max_shift=2) != before
    copy = tmp_path / "lib"
    write_synthetic_library(copy, instruments=("piano",), drums=("kick",))
    changed = Library.from_manifest(copy)
    assert cache_key(changed, model, max_shift=2) == before  # same content elsewhere: same entry
    sample = next(iter(changed))
    y, sr = sf.read(sample.path, dtype="float32")
    sf.write(sample.path, 0.5 * y, sr)
    assert cache_key(Library.from_manifest(copy), model, max_shift=2) != before
    load_or_build(lib, Renderer(lib), model)
    _, how = load_or_build(Library.from_manifest(copy), Renderer(Library.from_manifest(copy)), model)
    assert how == "built"


def test_a_damaged_cache_file_is_rebuilt(world):
    from producer.planner.catalogue_cache import cache_dir, load_or_build

    _, _, lib, _, _, model = world
    good, _ = load_or_build(lib, Renderer(lib), model)
    (path,) = cache_dir().glob("*.npz")
    path.write_bytes(path.read_bytes()[: 1000])
    again, how = load_or_build(lib, Renderer(lib), model)
    assert how == "built"
    _catalogues_equal(good, again)
    assert load_or_build(lib, Renderer(lib), model)[1] == "cached"


def test_an_unwritable_cache_folder_leaves_the_run_uncached(world, tmp_path, monkeypatch):
    from producer.planner.catalogue_cache import load_or_build

    _, _, lib, _, _, model = world
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where the folder would go
    assert load_or_build(lib, Renderer(lib), model)[1] == "built"
    assert load_or_build(lib, Renderer(lib), model)[1] == "built"
    assert (tmp_path / "file").read_text() == "x"


def test_only_the_most_recent_entries_are_kept(world, tmp_path):
    from producer.planner import catalogue_cache as C

    _, _, lib, _, _, model = world
    folder = C.cache_dir()
    folder.mkdir(parents=True)
    for i in range(C.KEEP + 3):
        (folder / f"{i:064x}.npz").write_bytes(b"old")
        os.utime(folder / f"{i:064x}.npz", (1000 + i, 1000 + i))
    stale = folder / ".partial-x.npz"
    stale.write_bytes(b"")
    os.utime(stale, (1000, 1000))
    C.load_or_build(lib, Renderer(lib), model)
    left = sorted(p.name for p in folder.iterdir())
    assert len(left) == C.KEEP and ".partial-x.npz" not in left
    assert f"{C.KEEP + 2:064x}.npz" in left and f"{0:064x}.npz" not in left
