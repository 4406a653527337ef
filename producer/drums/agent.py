"""The drum agent: a stable-baselines3 DQN policy over :class:`~producer.drums.env.DrumEnv`.

``train`` fits a policy across many random kicks (never the held-out fifth, see
``env.is_held_out``); ``DrumPolicy.generate`` plays one episode greedily from an empty pattern
and returns the pattern the policy stopped on. Policies are saved as ``NAME.zip`` (the SB3 model)
beside ``NAME.json`` (voices, grid, reward weights, training command, sha256 of the zip).
Shipped policies live in ``producer/drums/data/policies/`` and are found by voices and grid.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from producer.drums.env import DrumEnv
from producer.drums.prior import StylePrior
from producer.drums.reward import RewardWeights
from producer.errors import ModelError

POLICY_DIR = Path(__file__).resolve().parent / "data" / "policies"


def policy_name(voices: tuple[str, ...], steps_per_bar: int, bars: int) -> str:
    """File stem of a policy: ``snare+hihat_closed-16x2`` (voices, steps per bar x bars)."""
    return f"{'+'.join(voices)}-{steps_per_bar}x{bars}"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained policy (same config + seed, same policy on one machine)."""

    voices: tuple[str, ...] = ("snare",)
    steps_per_bar: int = 16
    bars: int = 1
    timesteps: int = 200_000
    seed: int = 0
    weights: RewardWeights = field(default_factory=RewardWeights)
    net_arch: tuple[int, ...] = (128, 128)
    learning_rate: float = 5e-4
    gamma: float = 0.5
    batch_size: int = 128
    buffer_size: int = 200_000
    learning_starts: int = 5_000
    exploration_fraction: float = 0.3
    exploration_final_eps: float = 0.03
    target_update_interval: int = 2_000
    train_freq: int = 1
    random_start: float = 0.3
    step_cost: float = 0.02
    n_envs: int = 8
    reward_scale: float = 10.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["voices"] = list(self.voices)
        d["net_arch"] = list(self.net_arch)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["voices"] = tuple(d["voices"])
        d["net_arch"] = tuple(d["net_arch"])
        d["weights"] = RewardWeights(**d["weights"])
        return cls(**d)


@dataclass
class Episode:
    """One generated pattern: hits uint8 [shape=(V, T)], groove score, toggles taken, whether the
    episode ended by stopping (False: cut by max_steps), why, and reward evaluations spent."""

    hits: np.ndarray
    score: float
    steps: int
    stopped: bool
    evaluations: int
    stopped_by: str = "policy"  # "policy" (its stop action), "undo" (the undo rule), "limit"


class DrumPolicy:
    """A trained SB3 model plus the grid and reward it was trained for."""

    def __init__(self, model, config: TrainConfig, *, prior: StylePrior | None = None,
                 meta: dict | None = None):
        self.model = model
        self.config = config
        self.prior = prior or StylePrior.default()
        self.meta = meta or {}

    def make_env(self, **kw) -> DrumEnv:
        c = self.config
        return DrumEnv(c.voices, steps_per_bar=c.steps_per_bar, bars=c.bars, prior=self.prior,
                       weights=c.weights, step_cost=c.step_cost,
                       reward_scale=c.reward_scale, **kw)

    def generate(self, kick: np.ndarray, *, env: DrumEnv | None = None,
                 start: np.ndarray | None = None, undo_rule: bool = True) -> Episode:
        """Run the policy greedily over ``kick`` [shape=(T,)] from ``start`` (default empty).

        The undo rule: when the policy's choice would toggle back the step it toggled last, the
        episode stops instead. Undoing the previous toggle is never part of a best episode (the
        two toggles cancel and cost two step costs), so the rule only cuts the 2-cycles a
        slightly wrong Q-function falls into next to a good pattern. ``Episode.stopped_by``
        tells the policy's own stops from the rule's.
        """
        env = env or self.make_env()
        options = {"kick": kick}
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
        """Write ``STEM.zip`` and ``STEM.json``; returns the zip path."""
        stem = Path(path_stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(str(stem.with_suffix(".zip")))
        zpath = stem.with_suffix(".zip")
        meta = dict(self.meta)
        meta.update({"config": self.config.to_dict(), "prior": self.prior.to_dict(),
                     "sha256": hashlib.sha256(zpath.read_bytes()).hexdigest()})
        stem.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
        return zpath

    @classmethod
    def load(cls, path: str | os.PathLike, *, prior: StylePrior | None = None) -> "DrumPolicy":
        """Load ``STEM.zip`` + ``STEM.json``; the zip's sha256 must match the json."""
        from stable_baselines3 import DQN

        stem = Path(path)
        if stem.suffix in (".zip", ".json"):
            stem = stem.with_suffix("")
        zpath, jpath = stem.with_suffix(".zip"), stem.with_suffix(".json")
        if not zpath.is_file() or not jpath.is_file():
            raise ModelError(f"policy {stem}: needs both {zpath.name} and {jpath.name}")
        meta = json.loads(jpath.read_text())
        digest = hashlib.sha256(zpath.read_bytes()).hexdigest()
        if meta.get("sha256") != digest:
            raise ModelError(f"policy {zpath}: checksum does not match {jpath.name} (corrupt file?)")
        model = DQN.load(str(zpath), device="cpu")
        if prior is None and "prior" in meta:
            prior = StylePrior.from_dict(meta["prior"])
        return cls(model, TrainConfig.from_dict(meta["config"]), prior=prior, meta=meta)


def find_policy(voices: tuple[str, ...], steps_per_bar: int, bars: int,
                folder: Path = POLICY_DIR) -> Path | None:
    """The shipped policy for exactly these voices and grid, or None."""
    stem = folder / policy_name(voices, steps_per_bar, bars)
    return stem if stem.with_suffix(".zip").is_file() else None


def shipped_policies(folder: Path = POLICY_DIR) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.zip"))


def train(config: TrainConfig, *, prior: StylePrior | None = None, verbose: int = 0) -> DrumPolicy:
    """Train a DQN policy for ``config``; returns it with training time in ``meta``."""
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_vec_env

    prior = prior or StylePrior.default()
    c = config
    torch.manual_seed(c.seed)
    # One thread: the matrices are small, and extra threads only spin against the environment.
    torch.set_num_threads(1)

    def make():
        return DrumEnv(c.voices, steps_per_bar=c.steps_per_bar, bars=c.bars, prior=prior,
                       weights=c.weights, step_cost=c.step_cost, random_start=c.random_start,
                       reward_scale=c.reward_scale)

    venv = make_vec_env(make, n_envs=c.n_envs, seed=c.seed)
    model = DQN(
        "MlpPolicy", venv,
        learning_rate=c.learning_rate, gamma=c.gamma, batch_size=c.batch_size,
        buffer_size=c.buffer_size, learning_starts=c.learning_starts,
        exploration_fraction=c.exploration_fraction, exploration_final_eps=c.exploration_final_eps,
        target_update_interval=c.target_update_interval, train_freq=c.train_freq,
        gradient_steps=1,
        policy_kwargs={"net_arch": list(c.net_arch)}, seed=c.seed, device="cpu", verbose=verbose,
    )
    t0, cpu0 = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=c.timesteps)
    seconds = time.perf_counter() - t0
    # CPU seconds too: on a shared machine wall time mostly measures the neighbours.
    meta = {"train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(time.process_time() - cpu0, 1),
            "torch_threads": torch.get_num_threads(),
            "stable_baselines3": __import__("stable_baselines3").__version__}
    return DrumPolicy(model, config, prior=prior, meta=meta)
