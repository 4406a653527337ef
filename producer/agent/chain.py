"""The effect chain the cross-adaptive agent plays on the source: a low-pass filter, then gain.

Streaming numpy DSP, one block at a time, that reproduces exactly what the project renderer
(``producer.render.engine``) plays for the automation a take is saved as, so a live take renders
again from its ``project.json`` (measured: within float32 rounding, about -110 dB):

* the policy's values for block k (decided after hearing block k) are breakpoints at block k's
  LAST sample (time ``((k + 1) * block - 1) / sr``); the first block's values are also the point
  at time 0. Between breakpoints the envelope is linear, so every parameter ramps across a block
  from the previous block's value to the new one, sample by sample;
* ``cutoff_hz`` drives a 12 dB/oct biquad low-pass (the vocabulary's ``lowpass`` at its default
  ``q``; DawDreamer's built-in filter is this RBJ-cookbook biquad) whose coefficients are set at
  every multiple of ``AUTOMATION_BLOCK`` samples (64) from the envelope's value there, as
  DawDreamer reads automation once per processing block;
* ``gain_db`` is the track's gain, sample accurate, after the filter (as the renderer applies the
  track gain after the effect chain). The renderer's centre pan (-3 dB a channel) comes after
  both: the stem of a take is ``pan_gains(0) * chain output``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from producer.agent.params import AgentParam
from producer.effects import EFFECTS
from producer.render.engine import AUTOMATION_BLOCK, envelope_samples

_LP = EFFECTS["lowpass"]
CHAIN_PARAMS = (
    AgentParam("gain_db", -40.0, 12.0, 0.0, "dB"),
    # The vocabulary's cutoff range, narrowed to where a sweep is audible.
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


def _filter(x: np.ndarray, cutoff: np.ndarray, start: int, sr: int, zi: np.ndarray, coef):
    """Low-pass x [shape=(n,)] whose first sample is global sample ``start``; coefficients are
    renewed at global multiples of AUTOMATION_BLOCK from ``cutoff`` [shape=(n,)] (float32, as
    DawDreamer reads automation). Returns (y, zi, coef)."""
    n = len(x)
    y = np.empty(n)
    i = 0
    while i < n:
        g = start + i
        if g % AUTOMATION_BLOCK == 0 or coef is None:
            coef = lowpass_coefficients(float(np.float32(cutoff[i])), sr)
        end = min(n, i + AUTOMATION_BLOCK - g % AUTOMATION_BLOCK)
        y[i:end], zi = lfilter(coef[0], coef[1], x[i:end], zi=zi)
        i = end
    return y, zi, coef


class Chain:
    """Stateful chain: ``process(x [shape=(block,)] mono, values [shape=(2,)]) -> y [shape=(block,)]``."""

    params = CHAIN_PARAMS

    def __init__(self, sr: int):
        self.sr = sr
        self.reset()

    def reset(self) -> None:
        self.zi = np.zeros(2)
        self.last: np.ndarray | None = None
        self.position = 0  # global sample index of the next block
        self.coef = None

    def process(self, x: np.ndarray, values: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = len(x)
        values = np.asarray(values, dtype=np.float64)
        start = values if self.last is None else self.last
        frac = np.arange(1, n + 1) / n
        gain_db = start[0] + (values[0] - start[0]) * frac
        cutoff = start[1] + (values[1] - start[1]) * frac
        y, self.zi, self.coef = _filter(x, cutoff, self.position, self.sr, self.zi, self.coef)
        self.last = values.copy()
        self.position += n
        return y * 10.0 ** (gain_db / 20.0)


def breakpoints(values: np.ndarray, *, block: int, sr: int) -> list[tuple[float, float]]:
    """One parameter's per-block values [shape=(K,)] as envelope breakpoints (the timing above)."""
    return [(0.0, float(values[0]))] + [(((k + 1) * block - 1) / sr, float(v)) for k, v in enumerate(values)]


def render_automation(x: np.ndarray, sr: int, gain_env, cutoff_env) -> np.ndarray:
    """Offline numpy render of the chain from envelopes (``[(time s, value), ...]``) on mono x
    [shape=(n,)]: the reference the renderer's DawDreamer path is checked against."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    cutoff = envelope_samples(cutoff_env, n, sr)
    y, _, _ = _filter(x, cutoff, 0, sr, np.zeros(2), None)
    return y * 10.0 ** (envelope_samples(gain_env, n, sr) / 20.0)
