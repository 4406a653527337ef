import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from producer.drums.env import DrumEnv, is_held_out, random_kick
from producer.drums.patterns import parse_pattern

ROCK = (parse_pattern("x.......x.......") > 0).astype(np.uint8)


def test_passes_gymnasium_check_env():
    check_env(DrumEnv(("snare",)), skip_render_check=True)
    check_env(DrumEnv(("snare", "hihat_closed"), bars=2, random_start=0.5), skip_render_check=True)


def test_spaces():
    env = DrumEnv(("snare", "hihat_closed", "hihat_open"), bars=2)
    assert env.observation_space.shape == (4 * 32,)
    assert env.action_space.n == 3 * 32 + 1
    obs, info = env.reset(seed=0, options={"kick": np.tile(ROCK, 2)})
    assert obs[:32].tolist() == np.tile(ROCK, 2).tolist()
    assert obs[32:].sum() == 0 and info["evaluations"] == 1


def test_reward_is_the_score_change_and_stop_keeps_the_pattern():
    env = DrumEnv(("snare",), step_cost=0.02, reward_scale=10.0)
    env.reset(seed=1, options={"kick": ROCK})
    before = env.reward_fn.score(np.zeros((1, 16), np.uint8))
    obs, r, term, trunc, info = env.step(4)  # snare on beat 2
    after = env.reward_fn.score(env.hits)
    assert r == pytest.approx(10.0 * (after - before) - 0.02)
    assert r > 0 and obs[16 + 4] == 1 and not term
    obs, r, term, trunc, info = env.step(env.stop_action)
    assert term and r == 0.0 and info["stopped"] and obs[16 + 4] == 1
    # Toggling the same step twice returns to the start and only costs the step cost.
    env.reset(options={"kick": ROCK})
    _, r1, *_ = env.step(5)
    _, r2, *_ = env.step(5)
    assert r1 + r2 == pytest.approx(-0.04)


def test_truncates_at_max_steps():
    env = DrumEnv(("snare",), max_steps=3)
    env.reset(seed=0)
    flags = [env.step(a)[3] for a in (0, 1, 2)]
    assert flags == [False, False, True]


def test_same_seed_same_kicks_and_starts():
    a = DrumEnv(("snare",), random_start=1.0)
    b = DrumEnv(("snare",), random_start=1.0)
    oa, _ = a.reset(seed=42)
    ob, _ = b.reset(seed=42)
    assert np.array_equal(oa, ob) and oa[16:].sum() > 0
    assert not is_held_out(a.kick)


def test_held_out_kicks_are_disjoint_from_training_kicks():
    rng = np.random.default_rng(0)
    train = {random_kick(rng, held_out=False).tobytes() for _ in range(300)}
    test = {random_kick(rng, held_out=True).tobytes() for _ in range(300)}
    assert not train & test
    assert len(test) > 100  # varied, not one pattern repeated


def test_rejects_bad_action_and_kick_shape():
    env = DrumEnv(("snare",))
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(17)
    with pytest.raises(ValueError, match="kick shape"):
        env.reset(options={"kick": np.zeros(8)})
