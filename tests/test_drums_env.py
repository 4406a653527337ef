import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from producer.drums.corpus import HELD_OUT_FILES
from producer.drums.env import DrumEnv
from producer.drums.patterns import parse_pattern
from producer.drums.style import POLICY_VOICES, style_model

ROCK = (parse_pattern("x.......x.......") > 0).astype(np.uint8)


def rock_terms(kick=ROCK):
    return style_model().terms("rock", "4/4", POLICY_VOICES, kick)


def test_passes_gymnasium_check_env():
    check_env(DrumEnv("4/4"), skip_render_check=True)
    check_env(DrumEnv("6/8", random_start=0.5), skip_render_check=True)


def test_spaces_and_observation():
    env = DrumEnv("4/4")
    V, T = len(POLICY_VOICES), 16
    assert env.observation_space.shape == (T + 2 * V * T + 2 * V,)
    assert env.action_space.n == V * T + 1
    terms = rock_terms()
    obs, info = env.reset(seed=0, options={"kick": ROCK, "terms": terms})
    assert obs[:T].tolist() == ROCK.tolist()
    assert obs[T:T + V * T].sum() == 0 and info["evaluations"] == 1
    # The style terms ride in the observation, scaled to [-1, 1].
    # The one-step gains of the reward ride in the observation (here: adding each hit).
    r = env.reward_fn
    assert np.allclose(obs[T + V * T:T + 2 * V * T], r.local_gains(env.hits).ravel(), atol=1e-6)
    assert np.allclose(obs[T + 2 * V * T:T + 2 * V * T + V], terms.density)
    assert DrumEnv("3/4").action_space.n == V * 12 + 1


def test_reward_is_the_score_change_and_stop_keeps_the_pattern():
    env = DrumEnv("4/4", step_cost=0.02, reward_scale=10.0)
    env.reset(seed=1, options={"kick": ROCK, "terms": rock_terms()})
    before = env.score
    obs, r, term, trunc, info = env.step(4)  # snare on beat 2
    assert r == pytest.approx(10.0 * (env.reward_fn.score(env.hits) - before) - 0.02)
    assert r > 0 and obs[16 + 4] == 1 and not term
    obs, r, term, trunc, info = env.step(env.stop_action)
    assert term and r == 0.0 and info["stopped"] and obs[16 + 4] == 1
    # Toggling the same step twice returns to the start and only costs the step cost.
    env.reset(options={"kick": ROCK, "terms": rock_terms()})
    _, r1, *_ = env.step(5)
    _, r2, *_ = env.step(5)
    assert r1 + r2 == pytest.approx(-0.04)


def test_truncates_at_max_steps():
    env = DrumEnv("4/4", max_steps=3)
    env.reset(seed=0)
    assert [env.step(a)[3] for a in (0, 1, 2)] == [False, False, True]


def test_training_tasks_come_from_training_files_only():
    env = DrumEnv("4/4")
    held = {g.file for g in style_model().grooves} & set(HELD_OUT_FILES)
    assert not held
    a, b = DrumEnv("4/4", random_start=1.0), DrumEnv("4/4", random_start=1.0)
    oa, _ = a.reset(seed=42)
    ob, _ = b.reset(seed=42)
    assert np.array_equal(oa, ob) and oa[16:16 + 64].sum() > 0
    kicks = {env.sample_task(np.random.default_rng(i))[0].tobytes() for i in range(40)}
    assert len(kicks) > 5


def test_rejects_bad_action_and_kick_shape():
    env = DrumEnv("4/4")
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(65)
    with pytest.raises(ValueError, match="kick shape"):
        env.reset(options={"kick": np.zeros(8), "terms": rock_terms()})
