"""The drum sequencer as a gymnasium environment.

An episode writes drum voices over one kick pattern of T = bars x steps_per_bar steps.

* Observation: float32 [shape=((1 + V) * T,)] of 0/1: the kick, then each voice's hits so far.
* Actions: ``Discrete(V * T + 1)``; action ``v * T + t`` toggles step t of voice v, action
  ``V * T`` stops (the episode ends, the pattern is kept).
* Reward: ``reward_scale`` x the change of the groove score
  (:class:`~producer.drums.reward.GrooveReward`) the action caused, minus a small ``step_cost``;
  stopping earns 0. Rewards therefore sum to scale x (score(final) - score(start)) - cost x toggles
  (the scale only brings values near 1 for the Q-network): the return is maximised by reaching the best
  pattern by the shortest path and stopping there, and oscillating only costs.
* Truncation after ``max_steps`` toggles.

The kick comes from ``options={"kick": ...}`` in ``reset`` or is drawn by ``kick_sampler`` from
``self.np_random``; the starting pattern is empty unless ``random_start`` > 0 (training) or
``options={"start": ...}``.
"""
from __future__ import annotations

import zlib
from typing import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from producer.drums.prior import StylePrior, load_patterns_json
from producer.drums.reward import GrooveReward, RewardWeights

KickSampler = Callable[[np.random.Generator], np.ndarray]


# ---- kick patterns for training and evaluation ---------------------------------------------------

def is_held_out(kick: np.ndarray) -> bool:
    """True for the fifth of all kick patterns that training never sees (by a CRC of the steps).

    Training samplers reject these; evaluation draws only these, so "unseen kicks" is a property
    of the pattern, not of a random seed.
    """
    return zlib.crc32((np.asarray(kick) > 0).astype(np.uint8).tobytes()) % 5 == 0


_TEXTBOOK_KICKS: list[np.ndarray] | None = None


def _textbook_kicks() -> list[np.ndarray]:
    global _TEXTBOOK_KICKS
    if _TEXTBOOK_KICKS is None:
        _TEXTBOOK_KICKS = [p["kick"] for p in load_patterns_json() if "kick" in p]
    return _TEXTBOOK_KICKS


def random_kick_bar(rng: np.random.Generator, steps_per_bar: int = 16) -> np.ndarray:
    """One bar of kick, uint8 [shape=(steps_per_bar,)]: a mutated textbook kick or a random one."""
    books = _textbook_kicks()
    if steps_per_bar == 16 and rng.random() < 0.4:
        bar = books[rng.integers(len(books))].copy()
        for _ in range(rng.integers(0, 4)):
            bar[rng.integers(16)] ^= 1
    else:
        bar = (rng.random(steps_per_bar) < rng.uniform(0.1, 0.45)).astype(np.uint8)
        if rng.random() < 0.8:
            bar[0] = 1
    if not bar.any():
        bar[0] = 1
    return bar


def random_kick(rng: np.random.Generator, *, steps_per_bar: int = 16, bars: int = 1,
                held_out: bool | None = False) -> np.ndarray:
    """A kick of ``bars`` bars [shape=(bars * steps_per_bar,)] uint8.

    Later bars repeat the first (sometimes with one step changed) or are drawn afresh.
    ``held_out`` False draws only training kicks, True only held-out ones, None either.
    """
    while True:
        out = [random_kick_bar(rng, steps_per_bar)]
        for _ in range(bars - 1):
            r = rng.random()
            if r < 0.5:
                out.append(out[0].copy())
            elif r < 0.75:
                bar = out[0].copy()
                bar[rng.integers(steps_per_bar)] ^= 1
                out.append(bar)
            else:
                out.append(random_kick_bar(rng, steps_per_bar))
        kick = np.concatenate(out)
        if held_out is None or is_held_out(kick) == held_out:
            return kick


# ---- the environment -----------------------------------------------------------------------------

class DrumEnv(gym.Env):
    """Toggle steps of drum voices over a kick; see the module docstring for spaces and reward."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, voices: tuple[str, ...] = ("snare",), *, steps_per_bar: int = 16,
                 bars: int = 1, prior: StylePrior | None = None,
                 weights: RewardWeights | None = None, max_steps: int | None = None,
                 step_cost: float = 0.02, reward_scale: float = 10.0, random_start: float = 0.0,
                 kick_sampler: KickSampler | None = None, render_mode: str | None = None):
        super().__init__()
        self.voices = tuple(voices)
        self.V = len(self.voices)
        self.steps_per_bar = steps_per_bar
        self.bars = bars
        self.T = steps_per_bar * bars
        self.prior = prior or StylePrior.default()
        self.weights = weights or RewardWeights()
        self.max_steps = max_steps or (self.V * self.T) // 2 + 8
        self.step_cost = step_cost
        self.reward_scale = reward_scale
        self.random_start = random_start
        self.kick_sampler = kick_sampler or (
            lambda rng: random_kick(rng, steps_per_bar=steps_per_bar, bars=bars, held_out=False))
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, shape=((1 + self.V) * self.T,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.V * self.T + 1)
        self.stop_action = self.V * self.T
        self.kick = np.zeros(self.T, np.uint8)
        self.hits = np.zeros((self.V, self.T), np.uint8)
        self.reward_fn: GrooveReward | None = None
        self.score = 0.0
        self.n_steps = 0
        self.n_evals = 0

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.kick, self.hits.ravel()]).astype(np.float32)

    def _info(self, stopped: bool = False) -> dict:
        return {"score": self.score, "steps": self.n_steps, "evaluations": self.n_evals,
                "stopped": stopped}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        kick = options.get("kick")
        if kick is None:
            kick = self.kick_sampler(self.np_random)
        kick = (np.asarray(kick) > 0).astype(np.uint8)
        if kick.shape != (self.T,):
            raise ValueError(f"kick shape {kick.shape}, expected ({self.T},)")
        self.kick = kick
        self.reward_fn = GrooveReward(self.voices, kick, steps_per_bar=self.steps_per_bar,
                                      prior=self.prior, weights=self.weights)
        start = options.get("start")
        if start is not None:
            self.hits = (np.asarray(start).reshape(self.V, self.T) > 0).astype(np.uint8)
        elif self.random_start and self.np_random.random() < self.random_start:
            # Random starts teach the policy to remove hits as well as add them.
            dens = self.np_random.uniform(0.05, 0.6)
            self.hits = (self.np_random.random((self.V, self.T)) < dens).astype(np.uint8)
        else:
            self.hits = np.zeros((self.V, self.T), np.uint8)
        self.score = self.reward_fn.score(self.hits)
        self.n_steps = 0
        self.n_evals = 1
        return self._obs(), self._info()

    def step(self, action):
        action = int(action)
        if not 0 <= action <= self.stop_action:
            raise ValueError(f"action {action} outside 0..{self.stop_action}")
        if action == self.stop_action:
            return self._obs(), 0.0, True, False, self._info(stopped=True)
        v, t = divmod(action, self.T)
        self.hits[v, t] ^= 1
        new = self.reward_fn.score(self.hits)
        self.n_evals += 1
        reward = self.reward_scale * float(new - self.score) - self.step_cost
        self.score = new
        self.n_steps += 1
        truncated = self.n_steps >= self.max_steps
        return self._obs(), reward, False, truncated, self._info()

    def render(self):
        if self.render_mode == "ansi":
            from producer.drums.patterns import format_grid
            rows = {"kick": self.kick, **{v: self.hits[i] for i, v in enumerate(self.voices)}}
            return format_grid(rows, steps_per_bar=self.steps_per_bar)
        return None
