import json

import numpy as np
import pytest

from producer.drums.agent import (POLICY_DIR, DrumPolicy, TrainConfig, policy_name,
                                  steepest_path_states, train)
from producer.drums.env import DrumEnv
from producer.drums.patterns import format_pattern, parse_pattern
from producer.drums.style import POLICY_VOICES, style_model
from producer.errors import ModelError

TINY = TrainConfig(meter="4/4", timesteps=600, learning_starts=200, buffer_size=1000, n_envs=2,
                   net_arch=(16,), seed=3, pretrain_states=150, pretrain_epochs=2,
                   check_bars=3)


def kick(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pol = train(TINY)
    folder = tmp_path_factory.mktemp("pol")
    pol.save(folder / "tiny")
    return pol, folder / "tiny"


def test_tiny_training_saves_staged_and_loads_the_same_policy(tiny):
    pol, path = tiny
    assert pol.meta["train_seconds"] > 0 and pol.meta["pretrain_mse"] is not None
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.json", "tiny.zip"]  # no temps
    loaded = DrumPolicy.load(path)
    assert loaded.config == TINY
    k = kick("x.....x...x.....")
    terms = style_model().terms("funk", "4/4", POLICY_VOICES, k)
    a, b = pol.generate(k, terms), loaded.generate(k, terms)
    assert np.array_equal(a.hits, b.hits) and a.steps == b.steps
    assert a.evaluations == a.steps + 1 and a.hits.shape == (4, 16)


@pytest.mark.xfail(strict=False, reason="known defect: on a busy machine about 1 training in 5 comes out "
                   "different (two outcomes seen, BLAS limited to one thread or not); not found yet")
def test_same_seed_same_policy(tmp_path):
    """Two trainings with one seed, each in a fresh process as `producer drums train` runs, give
    the same network."""
    import subprocess
    import sys

    import torch

    code = ("import sys; from tests.test_drums_agent import TINY; from producer.drums.agent import train; "
            "train(TINY).save(sys.argv[1])")
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], cwd=root, check=True,
                       capture_output=True)
    a = DrumPolicy.load(tmp_path / "a").model.q_net.state_dict()
    b = DrumPolicy.load(tmp_path / "b").model.q_net.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_imitation_targets_are_the_one_step_rewards():
    env = DrumEnv("4/4")
    obs, tgt = steepest_path_states(env, np.random.default_rng(0), 30)
    assert obs.shape == (30, 16 + 2 * 64 + 8) and tgt.shape == (30, 65)
    assert (tgt[:, -1] == 0).all()  # stopping earns nothing
    # Each toggle's target is its one-step reward: 10 x the score change - the step cost; the
    # observation's gains hold every term of it but syncopation (weight 0.1: within 1.0).
    from_obs = 10 * obs[:, 16 + 64:16 + 128] - 0.02
    assert np.abs(tgt[:, :64] - from_obs).max() < 1.0
    assert np.corrcoef(tgt[:, :64].ravel(), from_obs.ravel())[0, 1] > 0.95


def test_checksum_mismatch_and_old_policies_are_refused(tiny, tmp_path):
    _, path = tiny
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["sha256"] = "0" * 64
    (tmp_path / "bad.zip").write_bytes(path.with_suffix(".zip").read_bytes())
    (tmp_path / "bad.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="checksum"):
        DrumPolicy.load(tmp_path / "bad")
    with pytest.raises(ModelError, match="needs both"):
        DrumPolicy.load(tmp_path / "missing")
    with pytest.raises(ModelError, match="older producer"):
        DrumPolicy.load(POLICY_DIR / "snare+hihat_closed+hihat_open-16x2")


@pytest.mark.skipif(not (POLICY_DIR / "drums-4_4.zip").is_file(), reason="no shipped policy yet")
def test_shipped_policy_answers_a_rock_kick_with_backbeat_and_eighths():
    pol = DrumPolicy.load(POLICY_DIR / policy_name("4/4"))
    k = kick("x.......x.x.....")
    terms = style_model().terms("rock", "4/4", POLICY_VOICES, k, enabled=("snare", "hihat_closed"))
    ep = pol.generate(k, terms)
    snare, closed, open_, ride = ep.hits
    assert ep.stopped
    assert format_pattern(snare) == "....x.......x..."
    assert closed[[0, 4, 8, 12]].all() and not closed[1::2].any()
    assert not open_.any() and not ride.any()  # switched off
