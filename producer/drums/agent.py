"""The drum agent: a stable-baselines3 DQN policy over :class:`~producer.drums.env.DrumEnv`.

One policy per meter answers any kick bar in any family of that meter (the style terms are part
of its observation). ``train`` first fits the Q-network to the one-step rewards of states met on
steepest-ascent paths over training bars (imitation pre-training: the greedy expert's action is
the Q-argmax), then fine-tunes it by DQN on the environment's reward. ``DrumPolicy.generate``
plays one bar greedily from an empty pattern. Policies are saved as ``NAME.zip`` (the SB3 model)
beside ``NAME.json`` (meter, voices, reward weights, training command, sha256 of the zip),
written under temporary names and moved into place, so a failed save leaves no half policy.
Shipped policies live in ``producer/drums/data/policies/`` (``drums-4_4`` ...).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from producer.drums.env import DrumEnv
from producer.drums.reward import RewardWeights, StyleTerms
from producer.drums.style import POLICY_VOICES, StyleModel, style_model
from producer.errors import ModelError
from producer.weights import from_json, sha256_of, to_json, write_model_files

POLICY_DIR = Path(__file__).resolve().parent / "data" / "policies"


def policy_name(meter: str) -> str:
    """File stem of a meter's policy: ``drums-4_4``, ``drums-12_8``."""
    return "drums-" + meter.replace("/", "_")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained policy (same config + seed, same policy on one machine)."""

    meter: str = "4/4"
    voices: tuple[str, ...] = POLICY_VOICES
    timesteps: int = 200_000
    seed: int = 0
    weights: RewardWeights = field(default_factory=RewardWeights)
    net_arch: tuple[int, ...] = (64, 64)
    learning_rate: float = 1e-4
    gamma: float = 0.5
    batch_size: int = 128
    buffer_size: int = 200_000
    learning_starts: int = 5_000
    exploration_fraction: float = 0.2
    exploration_initial_eps: float = 0.15
    exploration_final_eps: float = 0.03
    target_update_interval: int = 2_000
    train_freq: int = 1
    random_start: float = 0.3
    step_cost: float = 0.02
    n_envs: int = 8
    reward_scale: float = 10.0
    pretrain_states: int = 8_000
    pretrain_epochs: int = 10
    check_bars: int = 30

    def to_dict(self) -> dict:
        return to_json(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return from_json(cls, d)


@dataclass
class Episode:
    """One generated bar: hits uint8 [shape=(V, T)], groove score, toggles taken, whether the
    episode ended by stopping (False: cut by max_steps), why, and reward evaluations spent."""

    hits: np.ndarray
    score: float
    steps: int
    stopped: bool
    evaluations: int
    stopped_by: str = "policy"  # "policy" (its stop action), "undo" (the undo rule), "limit"


class DrumPolicy:
    """A trained SB3 model plus the grid and reward it was trained for."""

    def __init__(self, model, config: TrainConfig, *, meta: dict | None = None):
        self.model = model
        self.config = config
        self.meta = meta or {}

    def make_env(self, **kw) -> DrumEnv:
        c = self.config
        return DrumEnv(c.meter, voices=c.voices, weights=c.weights, step_cost=c.step_cost,
                       reward_scale=c.reward_scale, **kw)

    def generate(self, kick: np.ndarray, terms: StyleTerms, *, env: DrumEnv | None = None,
                 start: np.ndarray | None = None, undo_rule: bool = True) -> Episode:
        """Run the policy greedily over one kick bar [shape=(T,)] with the style ``terms`` from
        ``start`` (default empty).

        The undo rule: when the policy's choice would toggle back the step it toggled last, the
        episode stops instead. Undoing the previous toggle is never part of a best episode (the
        two toggles cancel and cost two step costs), so the rule only cuts the 2-cycles a
        slightly wrong Q-function falls into next to a good pattern. ``Episode.stopped_by``
        tells the policy's own stops from the rule's.
        """
        env = env or self.make_env()
        options = {"kick": kick, "terms": terms}
        if start is not None:
            options["start"] = start
        obs, info = env.reset(options=options)
        stopped_by, last = "limit", None
        while True:
            action = int(self.model.predict(obs, deterministic=True)[0])
            if undo_rule and action == last:
                action = env.stop_action
                stopped_by = "undo"
            obs, _, terminated, truncated, info = env.step(action)
            last = action
            if terminated:
                stopped_by = "undo" if stopped_by == "undo" else "policy"
                break
            if truncated:
                break
        return Episode(hits=env.hits.copy(), score=float(info["score"]), steps=info["steps"],
                       stopped=stopped_by != "limit", evaluations=info["evaluations"],
                       stopped_by=stopped_by)

    # ---- files --------------------------------------------------------------------------------
    def save(self, path_stem: str | os.PathLike) -> Path:
        """Write ``STEM.zip`` and ``STEM.json`` (staged: producer.weights.write_model_files);
        returns the zip path."""
        return write_model_files(path_stem, self.model.save, {**self.meta, "config": self.config.to_dict()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DrumPolicy":
        """Load ``STEM.zip`` + ``STEM.json``; the zip's sha256 must match the json."""
        from stable_baselines3 import DQN

        stem = Path(path)
        if stem.suffix in (".zip", ".json"):
            stem = stem.with_suffix("")
        zpath, jpath = stem.with_suffix(".zip"), stem.with_suffix(".json")
        if not zpath.is_file() or not jpath.is_file():
            raise ModelError(f"policy {stem}: needs both {zpath.name} and {jpath.name}")
        meta = json.loads(jpath.read_text())
        if meta.get("sha256") != sha256_of(zpath):
            raise ModelError(f"policy {zpath}: checksum does not match {jpath.name} (corrupt file?)")
        if "config" not in meta or "meter" not in meta["config"]:
            raise ModelError(f"policy {zpath}: made by an older producer (no meter); retrain it")
        model = DQN.load(str(zpath), device="cpu")
        return cls(model, TrainConfig.from_dict(meta["config"]), meta=meta)


def shipped_policies(folder: Path = POLICY_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("drums-*.zip"))


def steepest_path_states(env: DrumEnv, rng: np.random.Generator, n_states: int):
    """Observations [shape=(n, obs)] and one-step rewards of every action [shape=(n, V*T+1)] on
    steepest-ascent paths over sampled training bars (a fifth of the moves random, a third of
    the paths from a random start): the imitation targets of :func:`train`."""
    V, T = env.V, env.T
    obs_out, tgt_out = [], []
    while len(obs_out) < n_states:
        kick, terms = env.sample_task(rng)
        # An explicit start: the env's own random starts would draw from its unseeded generator.
        env.reset(options={"kick": kick, "terms": terms, "start": np.zeros((V, T), np.uint8)})
        if rng.random() < 0.33:
            env.hits = (rng.random((V, T)) < rng.uniform(0.05, 0.6)).astype(np.uint8)
            env.score = env.reward_fn.score(env.hits)
        for _ in range(env.max_steps):
            flips = np.repeat(env.hits[None], V * T, axis=0)
            idx = np.arange(V * T)
            flips[idx, idx // T, idx % T] ^= 1
            gains = env.reward_scale * (env.reward_fn.score(flips) - env.score) - env.step_cost
            target = np.append(gains, 0.0).astype(np.float32)
            obs_out.append(env._obs())
            tgt_out.append(target)
            a = int(rng.integers(V * T)) if rng.random() < 0.2 else int(np.argmax(target))
            if a == V * T or len(obs_out) >= n_states:
                break
            env.step(a)
    return np.array(obs_out, np.float32), np.array(tgt_out, np.float32)


def _gain_share(policy: "DrumPolicy", env: DrumEnv, seed: int, n: int) -> float:
    """Mean share of the best score gain (over the empty bar) the policy reaches on ``n``
    training bars (a fixed draw per seed); the best is the per-voice exhaustive bound."""
    from producer.drums.reward import optimum_bound

    rng = np.random.default_rng(seed + 7919)
    shares = []
    for _ in range(n):
        kick, terms = env.sample_task(rng)
        ep = policy.generate(kick, terms, env=env)
        empty = env.reward_fn.score(np.zeros((env.V, env.T), np.uint8))
        shares.append((ep.score - empty) / max(1e-9, optimum_bound(env.reward_fn) - empty))
    return float(np.mean(shares))


def train(config: TrainConfig, *, model: StyleModel | None = None, verbose: int = 0) -> DrumPolicy:
    """Train a policy for ``config``: imitation pre-training, then DQN; returns it with its
    training time (wall and CPU seconds) in ``meta``.

    Long because the imitation pre-training, the DQN fine-tuning and the choice between
    them share one network, its settings and the training bars."""
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    from producer.drums.qnet import FactoredDQNPolicy

    model = model or style_model()
    c = config
    torch.manual_seed(c.seed)
    # One thread: the matrices are small, and extra threads only spin against the environment.
    torch.set_num_threads(1)
    t0, cpu0 = time.perf_counter(), time.process_time()

    def make():
        return DrumEnv(c.meter, voices=c.voices, model=model, weights=c.weights,
                       step_cost=c.step_cost, random_start=c.random_start,
                       reward_scale=c.reward_scale)

    venv = make_vec_env(make, n_envs=c.n_envs, seed=c.seed)
    dqn = DQN(
        FactoredDQNPolicy, venv,
        learning_rate=c.learning_rate, gamma=c.gamma, batch_size=c.batch_size,
        buffer_size=c.buffer_size, learning_starts=c.learning_starts,
        exploration_fraction=c.exploration_fraction,
        exploration_initial_eps=c.exploration_initial_eps,
        exploration_final_eps=c.exploration_final_eps,
        target_update_interval=c.target_update_interval, train_freq=c.train_freq,
        gradient_steps=1,
        policy_kwargs={"net_arch": list(c.net_arch), "n_voices": len(c.voices)}, seed=c.seed,
        device="cpu", verbose=verbose,
    )
    pre_loss = None
    if c.pretrain_states:
        rng = np.random.default_rng(c.seed)
        obs, tgt = steepest_path_states(make(), rng, c.pretrain_states)
        q = dqn.policy.q_net
        opt = torch.optim.Adam(q.parameters(), lr=1e-3)
        X, Y = torch.as_tensor(obs), torch.as_tensor(tgt)
        for _ in range(c.pretrain_epochs):
            perm = torch.randperm(len(X))
            for i in range(0, len(X), 256):
                b = perm[i:i + 256]
                loss = torch.nn.functional.mse_loss(q(X[b]), Y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            pre_loss = float(torch.nn.functional.mse_loss(q(X), Y))
        dqn.policy.q_net_target.load_state_dict(q.state_dict())
    pre_seconds = time.perf_counter() - t0
    check = make()
    pre_share = _gain_share(DrumPolicy(dqn, config), check, c.seed, c.check_bars)
    dqn_share = None
    if c.timesteps:
        import copy

        before = copy.deepcopy(dqn.policy.q_net.state_dict())
        dqn.learn(total_timesteps=c.timesteps)
        dqn_share = _gain_share(DrumPolicy(dqn, config), check, c.seed, c.check_bars)
        if dqn_share < pre_share:
            # Fine-tuning made it worse on the training bars: keep the pre-trained network.
            dqn.policy.q_net.load_state_dict(before)
            dqn.policy.q_net_target.load_state_dict(before)
    seconds = time.perf_counter() - t0
    # CPU seconds too: on a shared machine wall time mostly measures the neighbours.
    meta = {"train_seconds": round(seconds, 1),
            "pretrain_seconds": round(pre_seconds, 1),
            "pretrain_mse": None if pre_loss is None else round(pre_loss, 5),
            "train_bars_gain_share": {"after_imitation": round(pre_share, 4),
                                      "after_dqn": None if dqn_share is None else round(dqn_share, 4),
                                      "kept": "dqn" if dqn_share is not None
                                      and dqn_share >= pre_share else "imitation"},
            "train_cpu_seconds": round(time.process_time() - cpu0, 1),
            "torch_threads": torch.get_num_threads(),
            "stable_baselines3": __import__("stable_baselines3").__version__}
    return DrumPolicy(dqn, config, meta=meta)
