"""Continuous parameters an agent plays, and their mapping to the policy's action range [-1, 1].

A frequency-like parameter (``log=True``) is mapped on a log scale, so equal action steps are
equal musical intervals; the others linearly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AgentParam:
    name: str
    low: float
    high: float
    default: float
    unit: str = ""
    log: bool = False

    def from_action(self, a: float | np.ndarray) -> float | np.ndarray:
        """Action in [-1, 1] (clipped) -> value in [low, high]."""
        u = (np.clip(a, -1.0, 1.0) + 1.0) / 2.0
        if self.log:
            return self.low * (self.high / self.low) ** u
        return self.low + (self.high - self.low) * u

    def to_action(self, v: float | np.ndarray) -> float | np.ndarray:
        """Value -> action in [-1, 1]."""
        v = np.clip(v, self.low, self.high)
        if self.log:
            u = np.log(v / self.low) / math.log(self.high / self.low)
        else:
            u = (v - self.low) / (self.high - self.low)
        return 2.0 * u - 1.0


def values(params: tuple[AgentParam, ...], action: np.ndarray) -> np.ndarray:
    """Actions [shape=(P,)] -> parameter values [shape=(P,)]."""
    return np.array([p.from_action(float(a)) for p, a in zip(params, np.asarray(action).ravel())])


def actions(params: tuple[AgentParam, ...], vals: np.ndarray) -> np.ndarray:
    return np.array([p.to_action(float(v)) for p, v in zip(params, np.asarray(vals).ravel())])


def defaults(params: tuple[AgentParam, ...]) -> np.ndarray:
    return np.array([p.default for p in params])
