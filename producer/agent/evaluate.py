"""Figures of the listening agent on held-out material, with the baselines beside it.

Cross-adaptive (mean reward per block over whole clips, higher is better; 0 is a perfect match):
the policy; ``unprocessed`` (the chain at its defaults: 0 dB, cutoff 18 kHz); ``fixed`` (one
constant chain setting per mapping, the best on training pairs by grid search); ``search`` (per
block, the best of 9 cutoffs each at the gain that puts the block on the target loudness, rendered
from the chain's actual state: a greedy per-file search that sees each block's reward before
choosing, run offline; ``producer.agent.experts``).

Imitation (descriptor RMSE per block, z-scored with the policy's corpus statistics, lower is
better): the policy; ``default`` (the voice at its default setting); ``table`` (per block, the
nearest entry of a precomputed descriptor table over the voice's parameter grid, i.e. the best
a steady setting reaches; ``table_gap`` is how far the table's descriptors are from rendering
that setting live, block by block, after the previous one).
"""
from __future__ import annotations

import itertools

import numpy as np

from producer.agent import params as P
from producer.agent.chain import CHAIN_PARAMS
from producer.agent.envs import MAPPINGS, CrossAdaptiveEnv, ImitationEnv
from producer.agent.experts import cross_search
from producer.agent.features import BlockAnalyzer, FeatureScaler
from producer.agent.synth import VOICES, Synth


def _constant(action):
    a = np.asarray(action, dtype=np.float64)
    return lambda obs: a


def cross_episode(env: CrossAdaptiveEnv, clip: int, mapping: str, actor=None, *, search: bool = False) -> np.ndarray:
    """Rewards per block [shape=(m,)] over a whole clip; ``actor(obs) -> action`` or, with
    ``search``, the per-block search (``producer.agent.experts.cross_search``)."""
    obs, _ = env.reset(options={"clip": clip, "mapping": mapping, "start": env.warm})
    rewards = []
    while True:
        if search:
            action = cross_search(env)
        else:
            action = actor(obs)
        obs, r, _, truncated, _ = env.step(action)
        rewards.append(r)
        if truncated:
            return np.array(rewards)


def action_grid(gains: int = 9, cutoffs: int = 7) -> np.ndarray:
    return np.array(list(itertools.product(np.linspace(-1, 1, gains), np.linspace(-1, 1, cutoffs))))


def best_fixed(pairs, *, scaler: FeatureScaler, block: int = 512, grid: np.ndarray | None = None) -> dict:
    """Per mapping, the constant action with the best mean reward on ``pairs``."""
    env = CrossAdaptiveEnv(pairs, block=block, episode_blocks=10**9, scaler=scaler)
    grid = action_grid(5, 5) if grid is None else grid
    out = {}
    for m in MAPPINGS:
        scores = [np.mean(np.concatenate([cross_episode(env, i, m, _constant(a)) for i in range(len(env.clips))]))
                  for a in grid]
        out[m] = grid[int(np.argmax(scores))]
    return out


def evaluate_cross(policy, pairs, *, fixed: dict | None = None, search: bool = False) -> dict:
    """Mean reward per block by mapping and method on ``pairs`` (see the module docstring)."""
    env = CrossAdaptiveEnv(pairs, block=policy.config.block, episode_blocks=10**9, scaler=policy.scaler)
    unprocessed = P.actions(CHAIN_PARAMS, P.defaults(CHAIN_PARAMS))
    out = {}
    for m in MAPPINGS:
        rows = {"policy": [], "unprocessed": []}
        if fixed is not None:
            rows["fixed"] = []
        if search:
            rows["search"] = []
        for i in range(len(env.clips)):
            rows["policy"].append(cross_episode(env, i, m, policy.act))
            rows["unprocessed"].append(cross_episode(env, i, m, _constant(unprocessed)))
            if fixed is not None:
                rows["fixed"].append(cross_episode(env, i, m, _constant(fixed[m])))
            if search:
                rows["search"].append(cross_episode(env, i, m, search=True))
        out[m] = {k: float(np.mean(np.concatenate(v))) for k, v in rows.items()}
    return out


def imitation_episode(env: ImitationEnv, clip: int, actor) -> np.ndarray:
    """RMSE per block [shape=(m,)] over a whole target."""
    obs, _ = env.reset(options={"clip": clip, "start": env.warm})
    errs = []
    while True:
        obs, _, _, truncated, info = env.step(actor(obs))
        errs.append(info["rmse"])
        if truncated:
            return np.array(errs)


def descriptor_table(voice: str, *, block: int, sr: int, steps: tuple[int, ...] | None = None):
    """Parameter grid [shape=(G, P)] and steady-state descriptors [shape=(G, 4)] of a voice."""
    params = VOICES[voice]
    steps = steps or ((49, 13) if voice == "sine" else (25, 7, 9, 8))
    axes = [p.from_action(np.linspace(-1, 1, s)) for p, s in zip(params, steps)]
    grid = np.array(list(itertools.product(*axes)))
    feats = np.empty((len(grid), 4))
    an = BlockAnalyzer(block, sr)
    synth = Synth(voice, block=block, sr=sr)
    warm = -(-2048 // block)
    for g, v in enumerate(grid):
        synth.reset()
        an.reset()
        for _ in range(warm):
            f = an.push(synth.render(v))
        feats[g] = f
    return grid, feats


def evaluate_imitation(policy, targets, *, table: bool = False) -> dict:
    """Mean descriptor RMSE per block on ``targets`` for the policy, the default setting and
    (with ``table``) the nearest-table-entry oracle with its gap to live rendering."""
    c = policy.config
    env = ImitationEnv(targets, voice=c.voice, block=c.block, episode_blocks=10**9, scaler=policy.scaler)
    params = VOICES[c.voice]
    default = _constant(P.actions(params, P.defaults(params)))
    rows = {"policy": [], "default": []}
    for i in range(len(env.zfeatures)):
        rows["policy"].append(imitation_episode(env, i, policy.act))
        rows["default"].append(imitation_episode(env, i, default))
    out = {k: float(np.mean(np.concatenate(v))) for k, v in rows.items()}
    if table:
        grid, feats = descriptor_table(c.voice, block=c.block, sr=44100)
        zt = policy.scaler(feats)
        table_rmse, gaps = [], []
        for i in range(len(env.zfeatures)):
            zf = env.zfeatures[i][env.warm:]
            d = np.sqrt(((zf[:, None, :] - zt[None, :, :]) ** 2).mean(axis=2))
            nearest = d.argmin(axis=1)
            table_rmse.append(d[np.arange(len(zf)), nearest])
            # the same choices rendered live: the voice moves from one setting to the next
            errs = imitation_episode(env, i, iter_actor(P.actions(params, grid[j]) for j in nearest))
            gaps.append(errs - d[np.arange(len(zf)), nearest])
        out["table"] = float(np.mean(np.concatenate(table_rmse)))
        out["table_live"] = float(np.mean(np.concatenate(table_rmse)) + np.mean(np.concatenate(gaps)))
        out["table_gap"] = float(np.mean(np.abs(np.concatenate(gaps))))
    return out


def iter_actor(actions):
    it = iter(list(actions))
    return lambda obs: next(it)
