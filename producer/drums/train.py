"""`producer drums train`: the shipped policies' settings and the one function that reproduces
them (``train_policy``), saving staged (see DrumPolicy.save)."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from producer.drums.corpus import METERS
from producer.errors import InputError

# Settings of the shipped policies, by meter: the defaults of `producer drums train`.
# 12-step meters have fewer actions (49 against 65) and learn in fewer steps. Sized to train
# all four in well under an hour on 2 shared cores (see the policies' json for the real times).
SHIPPED_SETTINGS = {"4/4": {"timesteps": 40_000, "pretrain_states": 8_000},
                    "3/4": {"timesteps": 15_000, "pretrain_states": 5_000},
                    "6/8": {"timesteps": 15_000, "pretrain_states": 5_000},
                    "12/8": {"timesteps": 15_000, "pretrain_states": 5_000}}
DEFAULT_OUT = Path("outputs/drums-policy")


def train_policy(*, meter: str = "4/4", timesteps: int | None = None, seed: int = 0,
                 out: str | os.PathLike | None = None):
    """Train the meter's policy with its shipped settings (``timesteps`` overrides the DQN
    steps) and save it as ``out/drums-<meter>.{zip,json}``; returns (policy, zip path)."""
    from producer.drums.agent import TrainConfig, policy_name, train
    from producer.output import check_seed

    if meter not in METERS:
        raise InputError(f"--meter {meter}: not supported (choose from {', '.join(METERS)})")
    check_seed(seed)
    settings = SHIPPED_SETTINGS[meter]
    steps = settings["timesteps"] if timesteps is None else timesteps
    if steps < 0:
        raise InputError(f"--timesteps {steps}: must be >= 0 (0: imitation pre-training only)")
    cfg = TrainConfig(meter=meter, timesteps=steps, seed=seed,
                      pretrain_states=settings["pretrain_states"])
    if timesteps is not None and steps < 20 * cfg.learning_starts:
        # Tiny runs (tests, smoke checks) would otherwise spend everything before learning starts.
        cfg = replace(cfg, learning_starts=max(100, steps // 20), buffer_size=max(1000, steps),
                      pretrain_states=min(cfg.pretrain_states, max(200, steps)),
                      check_bars=min(cfg.check_bars, 5))
    pol = train(cfg)
    name = policy_name(meter)
    pol.meta["name"] = name
    pol.meta["command"] = (f"producer drums train --meter {meter} --seed {seed}"
                           + (f" --timesteps {timesteps}" if timesteps is not None else ""))
    zpath = pol.save(Path(out or DEFAULT_OUT) / name)
    return pol, zpath
