import json

import numpy as np
import pytest

from producer.drums.agent import POLICY_DIR, DrumPolicy, TrainConfig, train
from producer.drums.patterns import format_pattern, parse_pattern
from producer.errors import ModelError

TINY = TrainConfig(voices=("snare",), timesteps=1500, learning_starts=200, buffer_size=2000,
                   n_envs=2, net_arch=(32,), seed=3)


def kick(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pol = train(TINY)
    path = tmp_path_factory.mktemp("pol") / "tiny"
    pol.save(path)
    return pol, path


def test_tiny_training_saves_and_loads_the_same_policy(tiny):
    pol, path = tiny
    assert pol.meta["train_seconds"] > 0
    loaded = DrumPolicy.load(path)
    assert loaded.config == TINY
    k = kick("x.....x...x.....")
    a, b = pol.generate(k), loaded.generate(k)
    assert np.array_equal(a.hits, b.hits) and a.steps == b.steps
    assert a.evaluations == a.steps + 1 and a.hits.shape == (1, 16)


def test_same_seed_same_policy(tiny):
    import torch

    pol, _ = tiny
    again = train(TINY)
    a, b = pol.model.q_net.state_dict(), again.model.q_net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_checksum_mismatch_is_refused(tiny, tmp_path):
    _, path = tiny
    meta = json.loads(path.with_suffix(".json").read_text())
    meta["sha256"] = "0" * 64
    (tmp_path / "bad.zip").write_bytes(path.with_suffix(".zip").read_bytes())
    (tmp_path / "bad.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="checksum"):
        DrumPolicy.load(tmp_path / "bad")
    with pytest.raises(ModelError, match="needs both"):
        DrumPolicy.load(tmp_path / "missing")


def test_shipped_one_voice_policy_answers_with_the_backbeat():
    pol = DrumPolicy.load(POLICY_DIR / "snare-16x1")
    for k in ("x.......x.......", "x...x...x...x...", "x......x..x....."):
        ep = pol.generate(kick(k))
        assert format_pattern(ep.hits[0]) == "....x.......x...", k
        assert ep.stopped and ep.steps == 2


def test_shipped_three_voice_policy_stops_with_a_groove():
    pol = DrumPolicy.load(POLICY_DIR / "snare+hihat_closed+hihat_open-16x2")
    ep = pol.generate(np.tile(kick("x.......x......."), 2))
    snare, closed, open_ = ep.hits
    assert ep.stopped
    assert snare[[4, 12, 20, 28]].all()          # backbeat in both bars
    assert closed[::2].sum() >= 8                # the closed hat keeps (most of) the eighths
    assert not (closed & open_).any()            # choked pair never together
