"""The drum sequencer as a gymnasium environment: one bar, voices chosen step by step.

An episode writes the policy voices (snare, closed and open hi-hat, ride) over one kick bar of
T steps in one meter (T = 16 in 4/4, 12 in 3/4, 6/8 and 12/8).

* Observation: float32 [shape=(T + 2 V T + 2 V,)]: the kick (0/1), each voice's hits so far
  (0/1), the one-step reward of toggling each voice and step as far as the reward's per-step
  terms go (:meth:`GrooveReward.local_gains` x reward_scale / 10: learned style,
  complementarity, metrical weight, density, hi-hat choke; not syncopation), then each voice's
  target density (hits per step) and target syncopation (LHL per bar / 8). The style reaches
  the policy through these gains, so one policy serves every family of its meter.
* Actions: ``Discrete(V * T + 1)``; action ``v * T + t`` toggles step t of voice v, action
  ``V * T`` stops (the episode ends, the pattern is kept).
* Reward: ``reward_scale`` x the change of the groove score (:class:`~producer.drums.reward.GrooveReward`)
  the action caused, minus a small ``step_cost``; stopping earns 0. Rewards therefore sum to
  scale x (score(final) - score(start)) - cost x toggles: the return is maximised by reaching the
  best pattern by the shortest path and stopping there.
* Truncation after ``max_steps`` toggles.

``reset(options={"kick": bar, "terms": StyleTerms})`` sets the task; without options a training
bar is drawn from the corpus (:meth:`DrumEnv.sample_task`), never from a held-out style file.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from producer.drums.corpus import METERS
from producer.drums.reward import GrooveReward, RewardWeights, StyleTerms
from producer.drums.style import POLICY_VOICES, StyleModel, style_model


class DrumEnv(gym.Env):
    """Toggle steps of drum voices over one kick bar; see the module docstring."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, meter: str = "4/4", *, voices: tuple[str, ...] = POLICY_VOICES,
                 model: StyleModel | None = None, weights: RewardWeights | None = None,
                 max_steps: int | None = None, step_cost: float = 0.02,
                 reward_scale: float = 10.0, random_start: float = 0.0,
                 render_mode: str | None = None):
        super().__init__()
        self.meter = meter
        self.voices = tuple(voices)
        self.V = len(self.voices)
        self.T = METERS[meter][0]
        self.model = model or style_model()
        self.weights = weights or RewardWeights()
        self.max_steps = max_steps or (self.V * self.T) // 2 + 8
        self.step_cost = step_cost
        self.reward_scale = reward_scale
        self.random_start = random_start
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-10.0, 10.0, shape=(self.T + 2 * self.V * self.T
                                                              + 2 * self.V,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.V * self.T + 1)
        self.stop_action = self.V * self.T
        self._tasks = [(g.family, bar["kick"] > 0) for g in self.model.grooves
                       if g.meter == meter for bar in g.bars if "kick" in bar]
        self.kick = np.zeros(self.T, np.uint8)
        self.hits = np.zeros((self.V, self.T), np.uint8)
        self.style_obs = np.zeros(2 * self.V, np.float32)
        self.reward_fn: GrooveReward | None = None
        self.score = 0.0
        self.n_steps = 0
        self.n_evals = 0

    def sample_task(self, rng: np.random.Generator) -> tuple[np.ndarray, StyleTerms]:
        """A training bar: a corpus kick (sometimes with a step or two flipped) and a family of
        the meter (the bar's own four times in five); some voices are switched off at times,
        as the generator does for families that do not play them."""
        fam, kick = self._tasks[rng.integers(len(self._tasks))]
        kick = kick.astype(np.uint8).copy()
        for _ in range(rng.integers(0, 3) if rng.random() < 0.3 else 0):
            kick[rng.integers(self.T)] ^= 1
        if not kick.any():
            kick[0] = 1
        if rng.random() < 0.2:
            fams = self.model.families(self.meter)
            fam = fams[rng.integers(len(fams))]
        enabled = None
        if rng.random() < 0.3:
            enabled = tuple(v for v in self.voices if rng.random() < 0.7)
        return kick, self.model.terms(fam, self.meter, self.voices, kick, enabled)

    def _obs(self) -> np.ndarray:
        gains = self.reward_fn.local_gains(self.hits) * (self.reward_scale / 10.0)
        return np.concatenate([self.kick, self.hits.ravel(), np.clip(gains.ravel(), -10, 10),
                               self.style_obs]).astype(np.float32)

    def _info(self, stopped: bool = False) -> dict:
        return {"score": self.score, "steps": self.n_steps, "evaluations": self.n_evals,
                "stopped": stopped}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "kick" in options:
            kick, terms = options["kick"], options["terms"]
        else:
            kick, terms = self.sample_task(self.np_random)
        kick = (np.asarray(kick) > 0).astype(np.uint8)
        if kick.shape != (self.T,):
            raise ValueError(f"kick shape {kick.shape}, expected ({self.T},)")
        self.kick = kick
        self.reward_fn = GrooveReward(self.voices, kick, terms, meter=self.meter,
                                      weights=self.weights)
        self.style_obs = np.concatenate([
            np.asarray(terms.density, np.float32),
            np.clip(np.asarray(terms.syncopation, np.float32) / 8.0, 0.0, 1.0)])
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
            return format_grid(rows, steps_per_bar=self.T)
        return None
