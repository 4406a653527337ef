"""Per-block search experts: the best setting for one block, found by rendering candidates.

They see the block's reward before choosing, so they run only offline: as the ``search``
baseline of the bench and as the teacher whose choices pre-train a policy (behaviour cloning,
``producer.agent.policies.train`` with ``pretrain_blocks``) before reinforcement learning.

* cross-adaptive: for each of ``CUTOFFS`` low-pass settings, the block is rendered at 0 dB from
  the chain's current state, the gain that puts its loudness on the target is computed (the
  chain's gain is linear in dB after the filter), the block is rendered again at that gain, and
  the setting with the best reward wins (18 renders a block);
* imitation: the hidden parameters of a voice target (known where the target was synthesised),
  else the nearest entry of the voice's descriptor table (``producer.agent.evaluate``).
"""
from __future__ import annotations

import copy

import numpy as np

from producer.agent import params as P
from producer.agent.chain import CHAIN_PARAMS
from producer.agent.envs import CrossAdaptiveEnv, cross_reward

CUTOFFS = 9


def cross_search(env: CrossAdaptiveEnv, cutoffs: int = CUTOFFS) -> np.ndarray:
    """The best action [shape=(2,)] for the env's current block (see the module docstring)."""
    saved_chain, buf = copy.deepcopy(env.chain), env.analyzer.buffer.copy()
    k = env.k
    block = env._block(k)
    gain_p = CHAIN_PARAMS[0]
    best, best_r = None, -np.inf

    def trial(values):
        env.chain, env.analyzer.buffer = copy.deepcopy(saved_chain), buf.copy()
        f = env.analyzer.push(env.chain.process(block, values))
        return f, float(cross_reward(f, env.target[k], env.dry[k])[0])

    for c in np.linspace(-1.0, 1.0, cutoffs):
        cutoff = CHAIN_PARAMS[1].from_action(c)
        f, _ = trial(np.array([0.0, cutoff]))
        gain = float(np.clip(env.target[k, 0] - f[0], gain_p.low, gain_p.high))
        _, r = trial(np.array([gain, cutoff]))
        if r > best_r:
            best, best_r = np.array([gain_p.to_action(gain), c]), r
    env.chain, env.analyzer.buffer = saved_chain, buf
    return best
