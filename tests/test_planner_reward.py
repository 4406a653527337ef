"""The reward: length term, silent windows, self-similarity, and incremental == full evaluation."""
import numpy as np
import pytest

from producer.config import RewardConfig, load_preset
from producer.planner import features as F
from producer.planner.evaluate import Evaluator
from producer.planner.reward import RewardModel, length_factor
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.planner.target import analyze, to_planner_rate
from producer.project import Clip, Project, Track
from producer.render.engine import Renderer
from producer.samples import Library
from producer.timbre import load_model


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    lib = Library.from_manifest(write_synthetic_library(tmp_path_factory.mktemp("lib"), instruments=("piano",),
                                                        drums=("kick",)))
    model = load_model("tiny")
    renderer = Renderer(lib)
    truth = random_arrangement(lib, seconds=6.0, n_notes=8, seed=2)
    y = to_planner_rate(renderer.render(truth).mix, truth.sample_rate)[: 6 * F.SR]
    # Silence in the last two seconds: windows there are silent in the target.
    y = np.concatenate([y[: 4 * F.SR] * (np.arange(4 * F.SR) < 3.5 * F.SR), np.zeros(2 * F.SR, np.float32)])
    target = analyze(y, model)
    return lib, model, renderer, truth, target


def _evaluator(setup, **reward):
    lib, model, renderer, truth, target = setup
    cfg = RewardConfig(**reward)
    return Evaluator(target, renderer, model, RewardModel(target, cfg))


def test_length_factor():
    assert length_factor(10.0, 10.0) == 1.0
    assert length_factor(10.0, 7.5) == pytest.approx(0.75)
    assert length_factor(10.0, 12.5) == pytest.approx(0.75)
    assert length_factor(10.0, 25.0) == 0.0
    assert length_factor(10.0, 0.0) == 0.0
    with pytest.raises(ValueError):
        length_factor(0.0, 1.0)


def test_windows_and_segments(setup):
    target = setup[4]
    assert list(target.windows) == [0, 1, 2, 3]  # 6 s, 3 s windows, 1 s hop
    assert target.n_segments == 6
    norms = np.linalg.norm(target.seg_emb, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_silent_windows(setup):
    ev = _evaluator(setup)
    rm = ev.reward
    # The target's last window (3-6 s) holds 0.5 s of sound; a window wholly after 4 s would be silent.
    assert not rm.t_window_silent[:3].any()
    empty = ev.empty()
    # Empty output: windows with target sound score 0 and the length term is 0.
    assert np.all(empty.window_sims[~rm.t_window_silent] == 0.0)
    assert empty.reward == 0.0
    # Frame rule: both silent -> 1, exactly one silent -> 0.
    chroma = np.zeros((4, 12), np.float32)
    db = np.full(4, F.FLOOR_DB, np.float32)
    silent_frames = np.flatnonzero(rm.t_frame_silent)
    loud_frames = np.flatnonzero(~rm.t_frame_silent)
    csim, _, _ = rm.frame_sims(chroma[:1], db[:1], None, int(silent_frames[-1]))
    assert csim[0] == 1.0
    csim, _, _ = rm.frame_sims(chroma[:1], db[:1], None, int(loud_frames[0]))
    assert csim[0] == 0.0


def test_silent_target_window_rewards_silence(tmp_path):
    """A target with a silent window: silence there scores 1, sound there scores 0."""
    model = load_model("tiny")
    y = np.zeros(4 * F.SR, np.float32)
    n = int(0.9 * F.SR)  # ends 0.1 s early: frames centred just after 1 s still read it otherwise
    y[:n] = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / F.SR)
    target = analyze(y, model, window_seconds=1.0, hop_seconds=1.0)
    rm = RewardModel(target, RewardConfig())
    assert list(rm.t_window_silent) == [False, True, True, True]
    S, Fr = target.n_segments, target.n_frames
    out_db = target.frame_db.copy()
    sims = rm.window_sims([1], seg_emb=target.seg_emb, seg_db=target.seg_db, frame_db=out_db,
                          chroma_sim=np.ones(Fr), env_sim=np.ones(Fr), spec_sim=np.ones(Fr))
    assert sims[0] == 1.0
    loud = out_db.copy()
    loud[rm.w_frame0[2]:rm.w_frame1[2]] = target.peak_db
    sims = rm.window_sims([2], seg_emb=target.seg_emb, seg_db=np.full(S, target.peak_db), frame_db=loud,
                          chroma_sim=np.ones(Fr), env_sim=np.ones(Fr), spec_sim=np.ones(Fr))
    assert sims[0] == 0.0


def test_truth_scores_near_one_and_beats_a_wrong_project(setup):
    lib, model, renderer, truth, target = setup
    ev = _evaluator(setup)
    # The target is the truth cut at 3.5 s; rebuild exactly that.
    cut = Project(tracks=tuple(
        Track(t.name, t.instrument, clips=tuple(c for c in t.clips if c.end <= 3.5)) for t in truth.tracks))
    good = ev.full(cut)
    assert good.reward > 0.5
    assert np.all(good.window_sims[:2] > 0.95)
    wrong = Project(tracks=(Track("Kick", "drums", clips=(Clip("drums/kick", 0.0, 0.4, 36),)),))
    assert ev.full(wrong).reward < good.reward


@pytest.mark.parametrize("weights", [{}, {"envelope_weight": 0.5, "spectrum_weight": 1.0}])
def test_incremental_equals_full(setup, weights):
    lib, model, renderer, truth, target = setup
    ev = _evaluator(setup, **weights)
    piano = [t for t in truth.tracks if t.instrument == "piano"][0]
    partial = Project(tracks=(Track("Piano", "piano", clips=piano.clips[:2]),))
    parent = ev.full(partial)
    clip = Clip(piano.clips[0].sample, 2.2, 0.6, piano.clips[0].pitch, -3.0)
    child = Project(tracks=(partial.tracks[0].with_clip(clip),))
    a, b = int(2.2 * F.SR), int((2.2 + 0.6 + 0.05) * F.SR)
    inc = ev.evaluate_batch(parent, [(child, (a, b)), (partial, None)])
    full = ev.full(child)
    assert inc[0].reward == pytest.approx(full.reward, abs=1e-5)
    assert np.allclose(inc[0].window_sims, full.window_sims, atol=1e-5)
    assert np.allclose(inc[0].seg_emb, full.seg_emb, atol=1e-5)
    assert inc[1] is parent  # unchanged child shares the parent's evaluation


def test_default_reward_weights_documented():
    cfg = load_preset("default")
    assert cfg.reward.timbre_weight > 0 and cfg.reward.chroma_weight > 0
