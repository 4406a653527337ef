"""The imitation agent's voices: phase-continuous numpy oscillators rendered block by block.

* ``sine``: ``pitch`` (MIDI note, fractional) and ``level_db``;
* ``fm``: two-operator FM (one modulator on the carrier's phase): ``pitch``, ``level_db``,
  ``index`` (peak phase deviation, radians) and ``ratio`` (modulator / carrier frequency).

Within a block every parameter ramps linearly from the previous block's value to the new one
(no zipper noise, and the same breakpoint timing as the effect chain's automation).
"""
from __future__ import annotations

import math

import numpy as np

from producer.agent.params import AgentParam

_PITCH = AgentParam("pitch", 36.0, 96.0, 60.0, "MIDI")
_LEVEL = AgentParam("level_db", -60.0, 0.0, -20.0, "dB")
VOICES: dict[str, tuple[AgentParam, ...]] = {
    "sine": (_PITCH, _LEVEL),
    "fm": (_PITCH, _LEVEL, AgentParam("index", 0.0, 8.0, 1.0), AgentParam("ratio", 0.5, 4.0, 1.0)),
}


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


class Synth:
    """``render(values [shape=(P,)]) -> block [shape=(block,)]`` for one voice, stateful."""

    def __init__(self, voice: str, *, block: int, sr: int):
        if voice not in VOICES:
            raise ValueError(f"unknown voice {voice!r} (known: {', '.join(VOICES)})")
        self.voice = voice
        self.params = VOICES[voice]
        self.block = block
        self.sr = sr
        self._ramp = np.arange(1, block + 1) / block
        self.reset()

    def reset(self) -> None:
        self.phase = 0.0
        self.mod_phase = 0.0
        self.last: np.ndarray | None = None

    def render(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        start = v if self.last is None else self.last
        ramp = start[:, None] + (v - start)[:, None] * self._ramp[None, :]
        self.last = v.copy()
        f = midi_to_hz(ramp[0])
        amp = 10.0 ** (ramp[1] / 20.0)
        w = 2.0 * math.pi * f / self.sr
        ph = self.phase + np.cumsum(w)
        self.phase = float(ph[-1] % (2.0 * math.pi))
        if self.voice == "sine":
            return amp * np.sin(ph)
        wm = w * ramp[3]
        mph = self.mod_phase + np.cumsum(wm)
        self.mod_phase = float(mph[-1] % (2.0 * math.pi))
        return amp * np.sin(ph + ramp[2] * np.sin(mph))
