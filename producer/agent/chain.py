"""The effect chain the cross-adaptive agent plays on the source: gain, then a low-pass filter.

Streaming numpy DSP, one block at a time, with the timing that the saved automation describes
(so a take renders again offline from its ``project.json``, :func:`render_automation`):

* the policy's values for block k are the envelope's breakpoints at the END of block k
  (time ``(k + 1) * block / sr``); the first block's values are also the point at time 0;
* ``gain_db`` is sample accurate: linear in dB between breakpoints, as the project's envelopes are;
* ``cutoff_hz`` is block-wise: a 12 dB/oct biquad low-pass (RBJ cookbook, ``Q`` 0.707, the
  vocabulary's ``lowpass``) whose coefficients change at block boundaries, each block using the
  envelope's value at its end (a filter's coefficients cannot be swept per sample cheaply).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from producer.agent.params import AgentParam
from producer.effects import EFFECTS

_LP = EFFECTS["lowpass"]
CHAIN_PARAMS = (
    AgentParam("gain_db", -40.0, 12.0, 0.0, "dB"),
    # The vocabulary's cutoff range, narrowed to where a block-wise filter is audible and stable.
    AgentParam("cutoff_hz", 100.0, 18000.0, 18000.0, "Hz", log=True),
)
assert _LP.param("cutoff_hz").low <= CHAIN_PARAMS[1].low and CHAIN_PARAMS[1].high <= _LP.param("cutoff_hz").high
LOWPASS_Q = _LP.param("q").default


def lowpass_coefficients(cutoff_hz: float, sr: int, q: float = LOWPASS_Q) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook low-pass biquad (b [shape=(3,)], a [shape=(3,)]), a[0] = 1."""
    w0 = 2.0 * math.pi * min(cutoff_hz, 0.49 * sr) / sr
    alpha = math.sin(w0) / (2.0 * q)
    cw = math.cos(w0)
    a0 = 1.0 + alpha
    b = np.array([(1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0]) / a0
    a = np.array([1.0, -2.0 * cw / a0, (1.0 - alpha) / a0])
    return b, a


class Chain:
    """Stateful chain: ``process(x [shape=(channels, block)], values [shape=(2,)]) -> y``."""

    params = CHAIN_PARAMS

    def __init__(self, sr: int, channels: int = 1):
        self.sr = sr
        self.channels = channels
        self.reset()

    def reset(self, values: np.ndarray | None = None) -> None:
        self.zi = np.zeros((self.channels, 2))
        self.last = None if values is None else np.asarray(values, dtype=np.float64).copy()

    def process(self, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = x.shape[-1]
        values = np.asarray(values, dtype=np.float64)
        start = values if self.last is None else self.last
        # gain ramps from the previous block's end value to this one's, sample by sample
        ramp = start[0] + (values[0] - start[0]) * (np.arange(1, n + 1) / n)
        gain = 10.0 ** (ramp / 20.0)
        b, a = lowpass_coefficients(float(values[1]), self.sr)
        y, self.zi = lfilter(b, a, x * gain, axis=-1, zi=self.zi)
        self.last = values.copy()
        return y


def render_automation(audio: np.ndarray, sr: int, gain_env, cutoff_env, *, block: int) -> np.ndarray:
    """Offline render of the chain from envelopes (``[(time s, value), ...]``, the project's
    breakpoints) on audio [shape=(channels, n)]: gain sample accurate, cutoff block-wise at the
    value each block's end has (see the module docstring)."""
    audio = np.asarray(audio, dtype=np.float64)
    n = audio.shape[1]
    t = np.arange(n + 1) / sr
    gt, gv = np.array(gain_env, dtype=np.float64).T
    gain_db = np.interp(t, gt, gv)
    ct, cv = np.array(cutoff_env, dtype=np.float64).T
    zi = np.zeros((audio.shape[0], 2))
    out = np.empty_like(audio)
    # sample i of the audio sits at time i / sr, but the chain's ramp reaches a breakpoint at the
    # block's LAST sample: sample i carries the envelope's value at time (i + 1) / sr
    gain = 10.0 ** (gain_db[1:] / 20.0)
    for k in range(0, n, block):
        end = min(k + block, n)
        cutoff = float(np.interp((k + block) / sr, ct, cv))
        b, a = lowpass_coefficients(cutoff, sr)
        out[:, k:end], zi = lfilter(b, a, audio[:, k:end] * gain[k:end], axis=-1, zi=zi)
    return out
