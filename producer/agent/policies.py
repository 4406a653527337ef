"""Listening-agent policies: stable-baselines3 SAC or PPO over the envs of ``producer.agent.envs``.

A policy file pair is ``NAME.zip`` (the SB3 model) and ``NAME.json``: the task (``cross`` or
``imitate``), the voice, block size, the feature scaler fitted on its training corpus, the
training config and command, figures, and the zip's sha256. Shipped policies live in
``producer/agent/data/`` (``MODEL_CARD.md`` beside them) and are found by name.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.agent.features import FeatureScaler
from producer.errors import ModelError
from producer.weights import from_json, sha256_of, to_json, write_model_files

POLICY_DIR = Path(__file__).resolve().parent / "data"
TASKS = ("cross", "imitate")
ALGOS = ("sac", "ppo")
DEFAULT_POLICY = "cross-sac"


@dataclass(frozen=True)
class TrainConfig:
    task: str = "cross"
    voice: str = "sine"  # imitate only
    algo: str = "sac"
    timesteps: int = 60_000
    seed: int = 0
    block: int = 512
    clips: int = 48  # training clips (pairs for cross, targets for imitate)
    episode_blocks: int = 64
    net_arch: tuple[int, ...] = (64, 64)
    learning_rate: float = 3e-4
    # Behaviour cloning before RL: blocks of expert choices (producer.agent.experts) to imitate
    # (0: none), epochs over them, and the share of blocks where a random action is played
    # instead (labelled with the expert's choice all the same), so the policy also learns
    # to recover from states the expert never visits.
    pretrain_blocks: int = 0
    pretrain_epochs: int = 40
    pretrain_explore: float = 0.3

    def to_dict(self) -> dict:
        return to_json(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return from_json(cls, d)

    @property
    def name(self) -> str:
        base = f"{self.task}-{self.algo}" if self.task == "cross" else f"imitate-{self.voice}-{self.algo}"
        return base + ("-bc" if self.pretrain_blocks else "")


def training_material(config: TrainConfig):
    """The training corpus of a config: (control, source) pairs, or imitation targets (the voice
    under training trajectories, and one training-instrument phrase for every three of those)."""
    from producer.agent import corpus

    if config.task == "cross":
        return corpus.pairs(config.clips)
    n_blocks = int(corpus.CLIP_SECONDS * corpus.SR) // config.block
    targets = [corpus.voice_target(s, config.voice, block=config.block, n_blocks=n_blocks, held_out=False)
               for s in range(config.clips)]
    targets += [corpus.instrument_target(s, held_out=False) for s in range(config.clips // 3)]
    return targets


def expert_labels(config: TrainConfig, material) -> list[np.ndarray | None]:
    """Imitation only: the expert's action per block of each training target [shape=(m, P)]
    where the target was synthesised (its hidden parameters), None for the others."""
    from producer.agent import corpus
    from producer.agent.params import actions
    from producer.agent.synth import VOICES

    n_blocks = int(corpus.CLIP_SECONDS * corpus.SR) // config.block
    params = VOICES[config.voice]
    labels: list[np.ndarray | None] = [
        np.array([actions(params, v) for v in corpus.voice_trajectory(s, config.voice, n_blocks=n_blocks, held_out=False)])
        for s in range(config.clips)]
    return labels + [None] * (len(material) - len(labels))


def expert_dataset(config: TrainConfig, env, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Observations [shape=(n, obs)] and expert actions [shape=(n, P)] along rollouts in which
    the expert acts (a ``pretrain_explore`` share of random actions mixed in)."""
    from producer.agent.evaluate import descriptor_table
    from producer.agent.experts import cross_search
    from producer.agent.envs import MAPPINGS

    rng = np.random.default_rng(config.seed + 1)
    obs_out, act_out = [], []
    table = None
    while len(obs_out) < config.pretrain_blocks:
        if config.task == "cross":
            i = int(rng.integers(len(env.clips)))
            obs, _ = env.reset(options={"clip": i, "mapping": MAPPINGS[int(rng.integers(len(MAPPINGS)))],
                                        "start": env.warm})
        else:
            i = int(rng.integers(len(env.zfeatures)))
            obs, _ = env.reset(options={"clip": i, "start": env.warm})
            if labels[i] is None and table is None:
                grid, feats = descriptor_table(config.voice, block=config.block, sr=44100)
                from producer.agent.params import actions

                table = (np.array([actions(env.params, g) for g in grid]), env.scaler(feats))
        while True:
            if config.task == "cross":
                expert = cross_search(env)
            elif labels[i] is not None:
                expert = labels[i][env.k]
            else:
                d = ((env.target[env.k][None, :] - table[1]) ** 2).sum(axis=1)
                expert = table[0][int(np.argmin(d))]
            obs_out.append(obs)
            act_out.append(expert)
            played = rng.uniform(-1, 1, len(expert)) if rng.random() < config.pretrain_explore else expert
            obs, _, _, truncated, _ = env.step(np.asarray(played, np.float32))
            if truncated or len(obs_out) >= config.pretrain_blocks:
                break
    return np.array(obs_out, np.float32), np.array(act_out, np.float32)


def behaviour_clone(model, algo: str, obs: np.ndarray, acts: np.ndarray, *, epochs: int, seed: int) -> float:
    """Fit the policy's deterministic action to the expert's (MSE); returns the final loss."""
    import torch

    torch.manual_seed(seed)
    X, Y = torch.as_tensor(obs), torch.as_tensor(np.clip(acts, -0.999, 0.999))
    if algo == "sac":
        net = model.actor
        forward = lambda x: net(x, deterministic=True)  # noqa: E731  tanh-squashed mean
    else:
        net = model.policy

        def forward(x):
            latent = net.mlp_extractor.forward_actor(net.extract_features(x, net.pi_features_extractor))
            return net.action_net(latent)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for j in range(0, len(X), 256):
            b = perm[j:j + 256]
            loss = torch.nn.functional.mse_loss(forward(X[b]), Y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(forward(X), Y))


def make_env(config: TrainConfig, material, *, scaler: FeatureScaler | None = None, episode_blocks: int | None = None):
    from producer.agent.envs import CrossAdaptiveEnv, ImitationEnv

    eb = episode_blocks or config.episode_blocks
    if config.task == "cross":
        return CrossAdaptiveEnv(material, block=config.block, episode_blocks=eb, scaler=scaler)
    return ImitationEnv(material, voice=config.voice, block=config.block, episode_blocks=eb, scaler=scaler)


class AgentPolicy:
    """An SB3 model with the task, block size and feature scaler it was trained for."""

    def __init__(self, model, config: TrainConfig, scaler: FeatureScaler, *, meta: dict | None = None):
        self.model = model
        self.config = config
        self.scaler = scaler
        self.meta = meta or {}

    @property
    def task(self) -> str:
        return self.config.task

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action [shape=(P,)] in [-1, 1] for one observation."""
        return np.asarray(self.model.predict(np.asarray(obs, np.float32), deterministic=True)[0], np.float64)

    def save(self, path_stem: str | os.PathLike) -> Path:
        """Write STEM.zip and STEM.json (staged: producer.weights.write_model_files)."""
        meta = {**self.meta, "format": "producer-agent-policy", "task": self.task, "algo": self.config.algo,
                "config": self.config.to_dict(), "scaler": self.scaler.to_dict()}
        return write_model_files(path_stem, self.model.save, meta)


def policy_path(name_or_path: str | os.PathLike) -> Path:
    """A shipped policy's name (``cross-sac``) or a path to STEM(.zip|.json) -> the stem path."""
    text = os.fspath(name_or_path)
    p = Path(text)
    if p.suffix in (".zip", ".json"):
        return p.with_suffix("")
    if os.sep in text or p.with_suffix(".zip").is_file():
        return p
    return POLICY_DIR / text


def read_meta(name_or_path) -> tuple[Path, dict]:
    """Read and check a policy's json (not the model): ModelError for anything unusable."""
    stem = policy_path(name_or_path)
    zpath, jpath = stem.with_suffix(".zip"), stem.with_suffix(".json")
    if not zpath.is_file() or not jpath.is_file():
        known = ", ".join(shipped_policies()) or "none"
        raise ModelError(f"--policy {name_or_path}: needs {zpath.name} and {jpath.name} (shipped: {known})")
    try:
        meta = json.loads(jpath.read_text())
    except (ValueError, UnicodeDecodeError):
        raise ModelError(f"--policy {name_or_path}: {jpath.name} is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != "producer-agent-policy" or meta.get("task") not in TASKS:
        raise ModelError(f"--policy {name_or_path}: {jpath.name} is not a listening-agent policy")
    if meta.get("sha256") != sha256_of(zpath):
        raise ModelError(f"--policy {name_or_path}: {zpath.name} does not match the checksum in {jpath.name}")
    return stem, meta


def load_policy(name_or_path, *, task: str | None = None) -> AgentPolicy:
    """Load a policy; with ``task``, one trained for another task is refused (ModelError)."""
    stem, meta = read_meta(name_or_path)
    if task is not None and meta["task"] != task:
        raise ModelError(f"--policy {name_or_path}: trained for the {meta['task']!r} task, not {task!r}")
    from stable_baselines3 import PPO, SAC

    algo = {"sac": SAC, "ppo": PPO}[meta["config"]["algo"]]
    model = algo.load(str(stem.with_suffix(".zip")), device="cpu")
    return AgentPolicy(model, TrainConfig.from_dict(meta["config"]), FeatureScaler.from_dict(meta["scaler"]), meta=meta)


def shipped_policies(folder: Path = POLICY_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.zip") if p.with_suffix(".json").is_file())


def train(config: TrainConfig, *, verbose: int = 0) -> AgentPolicy:
    """Train a policy for ``config``; its meta records wall and CPU seconds."""
    import torch
    from stable_baselines3 import PPO, SAC
    from stable_baselines3.common.env_util import make_vec_env

    if config.task not in TASKS or config.algo not in ALGOS:
        raise ModelError(f"task {config.task!r} / algo {config.algo!r}: known {TASKS} / {ALGOS}")
    torch.manual_seed(config.seed)
    torch.set_num_threads(1)  # small networks: more threads only spin against the env
    t0, cpu0 = time.perf_counter(), time.process_time()
    material = training_material(config)
    probe = make_env(config, material)
    scaler = probe.scaler
    kwargs = {"policy_kwargs": {"net_arch": list(config.net_arch)}, "seed": config.seed, "device": "cpu",
              "verbose": verbose, "learning_rate": config.learning_rate}
    if config.algo == "sac":
        model = SAC("MlpPolicy", probe, buffer_size=200_000, batch_size=256, learning_starts=2_000,
                    gamma=0.9, **kwargs)
    else:
        venv = make_vec_env(lambda: make_env(config, material, scaler=scaler), n_envs=4, seed=config.seed)
        model = PPO("MlpPolicy", venv, n_steps=512, batch_size=256, gamma=0.9, **kwargs)
    corpus_seconds = time.perf_counter() - t0
    bc = {}
    if config.pretrain_blocks:
        labels = expert_labels(config, material) if config.task == "imitate" else None
        obs, acts = expert_dataset(config, make_env(config, material, scaler=scaler), labels)
        t1 = time.perf_counter()
        bc = {"pretrain_mse": round(behaviour_clone(model, config.algo, obs, acts, epochs=config.pretrain_epochs,
                                                    seed=config.seed), 5),
              "pretrain_fit_seconds": round(time.perf_counter() - t1, 1),
              "pretrain_seconds": round(time.perf_counter() - t0 - corpus_seconds, 1)}
    if config.timesteps:
        model.learn(total_timesteps=config.timesteps)
    meta = {"train_seconds": round(time.perf_counter() - t0, 1),
            "corpus_seconds": round(corpus_seconds, 1), **bc,
            "train_cpu_seconds": round(time.process_time() - cpu0, 1),
            "stable_baselines3": __import__("stable_baselines3").__version__}
    return AgentPolicy(model, config, scaler, meta=meta)
