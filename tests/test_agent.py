"""The listening agent's rooms: descriptors, chain, synth, envs (check_env), policy files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from producer.agent import params as P
from producer.agent.chain import CHAIN_PARAMS, Chain, render_automation
from producer.agent.envs import CrossAdaptiveEnv, ImitationEnv, cross_reward, cross_target
from producer.agent.features import (BlockAnalyzer, FeatureScaler, RunningZScore, block_features,
                                     check_block)
from producer.agent.chain import breakpoints
from producer.agent.stream import thin
from producer.agent.synth import Synth
from producer.errors import InputError, ModelError

SR = 44100


def _tone(f, seconds=1.0, amp=0.5):
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * f * t)


def _noise(seconds=1.0, amp=0.1, seed=0):
    return amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))


def test_descriptors_of_tone_noise_and_silence():
    tone = block_features(_tone(1000.0), block=512)[4:]
    assert np.allclose(tone[:, 0], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.3)  # RMS of a sine
    assert np.allclose(tone[:, 1], np.log2(1000.0), atol=0.05)
    assert np.all(tone[:, 3] < -60)  # a pure tone is not flat
    noise = block_features(_noise(), block=512)[4:]
    assert np.all(noise[:, 3] > -6)  # white noise is
    assert np.all(noise[:, 1] > np.log2(8000))
    silence = block_features(np.zeros(4096), block=512)
    assert np.all(silence[:, 0] == -80.0) and np.all(np.isfinite(silence))


def test_streaming_descriptors_equal_offline_and_are_causal():
    y = np.concatenate([_tone(440.0, 0.5), _noise(0.5)])
    offline = block_features(y, block=256)
    an = BlockAnalyzer(256)
    stream = np.array([an.push(y[k * 256:(k + 1) * 256]) for k in range(len(y) // 256)])
    assert np.allclose(stream, offline)
    changed = y.copy()
    changed[40 * 256:] = 0.0  # the future changes; the past's descriptors may not
    assert np.allclose(block_features(changed, block=256)[:40], offline[:40])


def test_scalers():
    f = np.random.default_rng(0).normal([-30, 10, 9, -20], [10, 1, 1, 5], size=(500, 4))
    s = FeatureScaler.fit(f)
    z = s(f)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-3) and np.allclose(z.std(axis=0), 1, atol=1e-3)
    assert FeatureScaler.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    r = RunningZScore(4, warmup=3)
    out = [r(x) for x in f]
    assert np.all(out[0] == 0) and abs(np.mean([o[0] for o in out[100:]])) < 0.3


def test_check_block_range():
    assert check_block(512) == 512
    for bad in (0, 63, 8193, 512.0, True):
        with pytest.raises(InputError, match="--block"):
            check_block(bad)


@pytest.mark.parametrize("block", [512, 100])
def test_chain_live_equals_offline_automation_render(block):
    x = _noise(0.6)
    rng = np.random.default_rng(3)
    chain, out, vals = Chain(SR), [], []
    n = len(x) // block * block
    for k in range(0, n, block):
        v = np.array([rng.uniform(-40, 12), rng.uniform(100, 18000)])
        vals.append(v)
        out.append(chain.process(x[k:k + block], v))
    live = np.concatenate(out)
    vals = np.array(vals)
    offline = render_automation(x[:n], SR, breakpoints(vals[:, 0], block=block, sr=SR),
                                breakpoints(vals[:, 1], block=block, sr=SR))
    assert 20 * np.log10(np.max(np.abs(offline - live)) / np.max(np.abs(live))) < -100
    # and the chain really acts: a closed low-pass and -40 dB make a quieter, darker block
    quiet = Chain(SR).process(x[:4096], np.array([-40.0, 100.0]))
    assert np.sqrt(np.mean(quiet ** 2)) < 0.01 * np.sqrt(np.mean(x[:4096] ** 2))


def test_param_mapping_round_trip():
    for p in CHAIN_PARAMS:
        for a in (-1.0, -0.3, 0.0, 0.7, 1.0):
            assert p.to_action(p.from_action(a)) == pytest.approx(a)
    cutoff = CHAIN_PARAMS[1]
    assert cutoff.from_action(0.0) == pytest.approx(np.sqrt(cutoff.low * cutoff.high))  # log scale


def test_synth_is_phase_continuous_and_follows_pitch():
    s = Synth("sine", block=512, sr=SR)
    y = np.concatenate([s.render(np.array([69.0, -6.0])) for _ in range(20)])
    assert np.max(np.abs(np.diff(y))) < 2 * np.pi * 440 / SR * 0.51  # no jumps at block seams
    f = block_features(y, block=512)[5:]
    assert np.allclose(f[:, 1], np.log2(440.0), atol=0.05)
    fm = Synth("fm", block=512, sr=SR)
    bright = block_features(np.concatenate([fm.render(np.array([57.0, -6.0, 6.0, 1.0])) for _ in range(10)]), block=512)
    assert bright[-1, 1] > f[-1, 1] + 0.5  # modulation index spreads the spectrum upward


def test_cross_targets_and_reward():
    control = np.array([[-10.0, 12.0, 11.0, -5.0], [-70.0, 9.0, 9.0, -5.0]])
    dry = np.array([[-20.0, 11.0, 10.0, -10.0], [-20.0, 11.0, 10.0, -10.0]])
    follow = cross_target("follow", control, dry)
    assert np.allclose(follow, [[-10.0, 11.0], [-70.0, 9.0]])
    duck = cross_target("duck", control, dry)
    assert duck[0, 0] < duck[1, 0] and duck[0, 1] < duck[1, 1]  # loud control: quieter, darker
    assert cross_reward(np.array([-10.0, 11.0, 0, 0]), follow[0], dry[0])[0] == 0.0
    assert cross_reward(np.array([-22.0, 11.0, 0, 0]), follow[0], dry[0])[0] == pytest.approx(-0.5)


def _pairs():
    drums = np.zeros(int(1.5 * SR))
    for k in range(0, len(drums), SR // 4):
        drums[k:k + 2000] = _noise(2000 / SR, 0.5, seed=k)[:2000] * np.exp(-np.arange(2000) / 300)
    return [(drums, _tone(220.0, 1.5, 0.2)), (_noise(1.5, 0.05), _noise(1.5, 0.1, seed=4))]


def test_cross_env_passes_check_env_and_rewards_the_right_move():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = CrossAdaptiveEnv(_pairs(), episode_blocks=16)
    check_env(env, skip_render_check=True)
    sb3_check_env(env)
    obs, info = env.reset(seed=1)
    assert obs.shape == env.observation_space.shape and info["mapping"] in ("follow", "duck")
    # duck under the drum hits: a quiet dark setting must beat the unprocessed one while it hits
    loud = [k for k in range(env.warm, len(env.clips[0][1])) if env.clips[0][1][k, 0] > -20]
    rs = {}
    for name, action in (("open", [P.actions(CHAIN_PARAMS, [0.0, 18000.0])]), ("ducked", [P.actions(CHAIN_PARAMS, [-24.0, 2000.0])])):
        env.reset(options={"clip": 0, "mapping": "duck", "start": loud[0]})
        rs[name] = env.step(np.array(action[0], dtype=np.float32))[1]
    assert rs["ducked"] > rs["open"]


def test_imitation_env_passes_check_env_and_zero_error_when_matching():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    target_synth = Synth("sine", block=512, sr=SR)
    setting = np.array([64.0, -12.0])
    target = np.concatenate([target_synth.render(setting) for _ in range(40)])
    env = ImitationEnv([target, _tone(300.0, 1.0)], voice="sine", episode_blocks=8)
    check_env(env, skip_render_check=True)
    sb3_check_env(env)
    env.reset(options={"clip": 0, "start": 10})
    a = P.actions(env.params, setting).astype(np.float32)
    errs = [env.step(a)[4]["rmse"] for _ in range(5)]
    wrong = ImitationEnv([target], voice="sine", episode_blocks=8, scaler=env.scaler)
    wrong.reset(options={"clip": 0, "start": 10})
    far = [wrong.step(np.array([1.0, -1.0], np.float32))[4]["rmse"] for _ in range(5)]
    assert errs[-1] < 0.05 and far[-1] > 10 * errs[-1]


def test_thinning_fits_the_limit_and_reports_its_deviation():
    pts = breakpoints(np.sin(np.arange(500) / 20.0) * 10, block=512, sr=SR)
    kept, dev = thin(pts, 60)
    assert len(kept) <= 60 and kept[0] == pts[0] and kept[-1] == pts[-1]
    t = np.array([p[0] for p in pts])
    actual = np.max(np.abs(np.interp(t, *np.array(kept).T) - np.array([p[1] for p in pts])))
    assert dev == pytest.approx(actual) and 0 < dev < 1.0
    assert thin(pts, 1000) == (pts, 0.0)


def _untrained(tmp_path, task, voice="sine"):
    from stable_baselines3 import SAC

    from producer.agent.policies import AgentPolicy, TrainConfig

    env = CrossAdaptiveEnv(_pairs()) if task == "cross" else ImitationEnv([_tone(330.0)], voice=voice)
    cfg = TrainConfig(task=task, voice=voice, algo="sac", timesteps=0)
    pol = AgentPolicy(SAC("MlpPolicy", env, seed=0, device="cpu", learning_starts=0), cfg, env.scaler)
    return pol.save(tmp_path / cfg.name)


def test_policy_files_round_trip_and_refuse_other_task_and_corruption(tmp_path):
    from producer.agent.policies import load_policy

    z = _untrained(tmp_path, "cross")
    pol = load_policy(z, task="cross")
    assert pol.task == "cross" and pol.act(np.zeros(16, np.float32)).shape == (2,)
    with pytest.raises(ModelError, match="trained for the 'cross' task"):
        load_policy(z, task="imitate")
    z.write_bytes(z.read_bytes() + b"x")
    with pytest.raises(ModelError, match="checksum"):
        load_policy(z)
    with pytest.raises(ModelError, match="needs"):
        load_policy(tmp_path / "nothing.zip")


def test_agent_train_writes_a_policy_that_live_can_load(tmp_path, capsys):
    """`producer agent train` end to end at a tiny size: cloning only, two targets."""
    from producer.agent.policies import load_policy
    from producer.cli import main

    out = tmp_path / "pol"
    assert main(["agent", "train", "--task", "imitate", "--voice", "sine", "--timesteps", "0",
                 "--pretrain-blocks", "300", "--clips", "2", "--out", str(out)]) == 0
    assert "held-out figures" in capsys.readouterr().out
    pol = load_policy(out / "imitate-sine-sac-bc.zip", task="imitate")
    held = pol.meta["held_out"]["voice_held_out"]
    assert held["policy"] > 0 and held["default"] > 0
    assert "--pretrain-blocks 300" in pol.meta["command"]
    assert main(["agent", "train", "--task", "imitate", "--timesteps", "0", "--out", str(tmp_path / "x")]) == 2
    assert "nothing to train" in capsys.readouterr().err
