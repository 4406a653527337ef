"""Gymnasium environments of the listening agent: one contract for both tasks.

Both step once per audio block (``block`` samples, 512 by default: 11.6 ms at 44.1 kHz). An
action is the absolute value of every parameter, mapped to [-1, 1] (``producer.agent.params``);
the chain or synth ramps to it over the block. Observations are float32, z-scored descriptors
(``producer.agent.features``, scaled by a ``FeatureScaler`` fitted on the training corpus) clipped
to [-10, 10], followed by the current parameters as actions. Episodes are ``episode_blocks`` long
(truncated, never terminated) and start at a random block of a random clip, drawn with
``self.np_random`` only.

``CrossAdaptiveEnv`` (task ``"cross"``): a control signal and a source; the agent plays the
effect chain (``producer.agent.chain``: gain, low-pass cutoff) on the source.

* observation [shape=(16,)]: control descriptors, dry source descriptors, processed source
  descriptors of the previous block (4 each), the mapping as one-hot (follow, duck), the chain's
  current parameters (2);
* reward: minus the distance of the processed block's loudness and brightness to a target
  that ``mapping`` makes from the control and the dry source (:func:`cross_target`):
  ``-(min(|dL|, 24) / 12 + a * min(|dC|, 3)) / 2`` with dL in dB, dC in octaves of spectral
  centroid, and a = 1 where the dry source is audible (above -60 dBFS), else 0.

``ImitationEnv`` (task ``"imitate"``): an incoming sound and the agent's synth voice.

* observation [shape=(8 + P,)]: incoming descriptors, the synth's descriptors of the previous
  block, its current parameters (P);
* reward: minus the RMSE of the z-scored descriptors of the synth's block and the incoming block.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from producer.agent import params as P
from producer.agent.chain import CHAIN_PARAMS, Chain
from producer.agent.features import DESCRIPTORS, FRAME, SR, BlockAnalyzer, FeatureScaler, block_features
from producer.agent.synth import VOICES, Synth

MAPPINGS = ("follow", "duck")
D = len(DESCRIPTORS)
OBS_CLIP = 10.0
# Duck: the control's level maps to a depth 0..1 between these (dBFS); at full depth the source
# is DUCK_DB quieter and DUCK_OCTAVES darker than it came in.
DUCK_RANGE = (-50.0, -10.0)
DUCK_DB, DUCK_OCTAVES = 24.0, 2.0
AUDIBLE_DB = -60.0


def cross_target(mapping: str, control: np.ndarray, dry: np.ndarray) -> np.ndarray:
    """Target loudness (dB) and centroid (log2 Hz) of the processed source [shape=(m, 2)] from
    control and dry-source descriptors [shape=(m, 4)].

    follow: the source takes the control's loudness and, as far as a low-pass can, its
    brightness (the dry source's centroid is the ceiling): "match a reference" block by block.
    duck: the louder the control, the quieter and darker the source."""
    if mapping == "follow":
        return np.stack([control[:, 0], np.minimum(control[:, 1], dry[:, 1])], axis=1)
    if mapping == "duck":
        depth = np.clip((control[:, 0] - DUCK_RANGE[0]) / (DUCK_RANGE[1] - DUCK_RANGE[0]), 0.0, 1.0)
        return np.stack([dry[:, 0] - DUCK_DB * depth, dry[:, 1] - DUCK_OCTAVES * depth], axis=1)
    raise ValueError(f"unknown mapping {mapping!r} (known: {', '.join(MAPPINGS)})")


def cross_reward(processed: np.ndarray, target: np.ndarray, dry: np.ndarray) -> np.ndarray:
    """Reward per block from processed descriptors [shape=(m, 4)], targets [shape=(m, 2)] and
    dry descriptors [shape=(m, 4)] -> [shape=(m,)] (see the module docstring)."""
    processed, target, dry = np.atleast_2d(processed), np.atleast_2d(target), np.atleast_2d(dry)
    dl = np.minimum(np.abs(processed[:, 0] - target[:, 0]), 24.0) / 12.0
    dc = np.minimum(np.abs(processed[:, 1] - target[:, 1]), 3.0) * (dry[:, 0] > AUDIBLE_DB)
    return -(dl + dc) / 2.0


def _warm_blocks(block: int) -> int:
    return -(-FRAME // block)


class CrossAdaptiveEnv(gym.Env):
    """See the module docstring. ``pairs``: list of (control, source) mono arrays."""

    metadata = {"render_modes": []}
    task = "cross"

    def __init__(self, pairs, *, block: int = 512, episode_blocks: int = 64, mapping: str | None = None,
                 scaler: FeatureScaler | None = None):
        super().__init__()
        if mapping is not None and mapping not in MAPPINGS:
            raise ValueError(f"unknown mapping {mapping!r}")
        self.block = block
        self.episode_blocks = episode_blocks
        self.mapping = mapping
        self.warm = _warm_blocks(block)
        self.clips = []
        for control, source in pairs:
            n = min(len(control), len(source)) // block * block
            if n // block < self.warm + 2:
                continue
            self.clips.append((np.asarray(source[:n], np.float64), block_features(control[:n], block=block),
                               block_features(source[:n], block=block)))
        if not self.clips:
            raise ValueError("no (control, source) pair is long enough")
        self.scaler = scaler or FeatureScaler.fit(np.concatenate([f for _, c, s in self.clips for f in (c, s)]))
        self.params = CHAIN_PARAMS
        self.action_space = spaces.Box(-1.0, 1.0, shape=(len(self.params),), dtype=np.float32)
        self.observation_space = spaces.Box(-OBS_CLIP, OBS_CLIP, shape=(3 * D + len(MAPPINGS) + len(self.params),),
                                            dtype=np.float32)
        self.chain = Chain(SR)
        self.analyzer = BlockAnalyzer(block, SR)

    def _obs(self) -> np.ndarray:
        k = self.k
        z = np.concatenate([self.scaler(self.control[k]), self.scaler(self.dry[k]), self.scaler(self.processed)])
        onehot = np.array([m == self.current_mapping for m in MAPPINGS], dtype=np.float64)
        obs = np.concatenate([np.clip(z, -OBS_CLIP, OBS_CLIP), onehot, self.action])
        return obs.astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        i = options.get("clip", int(self.np_random.integers(len(self.clips))))
        self.source, self.control, self.dry = self.clips[i]
        self.current_mapping = options.get("mapping", self.mapping or MAPPINGS[int(self.np_random.integers(len(MAPPINGS)))])
        m = len(self.control)
        length = min(self.episode_blocks, m - self.warm)
        start = options.get("start", int(self.np_random.integers(self.warm, m - length + 1)))
        self.end = start + length
        self.target = cross_target(self.current_mapping, self.control, self.dry)
        values = P.defaults(self.params)
        self.action = P.actions(self.params, values)
        self.chain.reset()
        self.analyzer.reset()
        # warm the chain and the analyser on the blocks before the episode at the default setting
        for k in range(start - self.warm, start):
            self.processed = self.analyzer.push(self.chain.process(self._block(k), values))
        self.k = start
        return self._obs(), {"clip": i, "mapping": self.current_mapping, "start": start}

    def _block(self, k: int) -> np.ndarray:
        return self.source[k * self.block:(k + 1) * self.block]

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64).ravel(), -1.0, 1.0)
        values = P.values(self.params, a)
        k = self.k
        y = self.chain.process(self._block(k), values)
        self.processed = self.analyzer.push(y)
        reward = float(cross_reward(self.processed, self.target[k], self.dry[k])[0])
        self.action = a
        self.k += 1
        truncated = self.k >= self.end
        if truncated:
            self.k -= 1  # the last observation repeats the last block's input
        return self._obs(), reward, False, truncated, {"values": values}


class ImitationEnv(gym.Env):
    """See the module docstring. ``targets``: list of mono arrays of incoming audio."""

    metadata = {"render_modes": []}
    task = "imitate"

    def __init__(self, targets, *, voice: str = "sine", block: int = 512, episode_blocks: int = 64,
                 scaler: FeatureScaler | None = None):
        super().__init__()
        self.voice = voice
        self.block = block
        self.episode_blocks = episode_blocks
        self.warm = _warm_blocks(block)
        self.params = VOICES[voice]
        self.features = [block_features(t, block=block) for t in targets]
        self.features = [f for f in self.features if len(f) >= self.warm + 2]
        if not self.features:
            raise ValueError("no target is long enough")
        self.scaler = scaler or FeatureScaler.fit(np.concatenate(self.features))
        self.zfeatures = [self.scaler(f) for f in self.features]
        self.action_space = spaces.Box(-1.0, 1.0, shape=(len(self.params),), dtype=np.float32)
        self.observation_space = spaces.Box(-OBS_CLIP, OBS_CLIP, shape=(2 * D + len(self.params),), dtype=np.float32)
        self.synth = Synth(voice, block=block, sr=SR)
        self.analyzer = BlockAnalyzer(block, SR)

    def _obs(self) -> np.ndarray:
        z = np.concatenate([self.target[self.k], self.scaler(self.heard)])
        return np.concatenate([np.clip(z, -OBS_CLIP, OBS_CLIP), self.action]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        i = options.get("clip", int(self.np_random.integers(len(self.zfeatures))))
        self.target = self.zfeatures[i]
        m = len(self.target)
        length = min(self.episode_blocks, m - self.warm)
        start = options.get("start", int(self.np_random.integers(self.warm, m - length + 1)))
        self.end = start + length
        values = P.defaults(self.params)
        self.action = P.actions(self.params, values)
        self.synth.reset()
        self.analyzer.reset()
        for _ in range(self.warm):
            self.heard = self.analyzer.push(self.synth.render(values))
        self.k = start
        return self._obs(), {"clip": i, "start": start}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64).ravel(), -1.0, 1.0)
        values = P.values(self.params, a)
        self.heard = self.analyzer.push(self.synth.render(values))
        err = self.scaler(self.heard) - self.target[self.k]
        rmse = float(np.sqrt(np.mean(err ** 2)))
        self.action = a
        self.k += 1
        truncated = self.k >= self.end
        if truncated:
            self.k -= 1
        return self._obs(), -rmse, False, truncated, {"values": values, "rmse": rmse}
