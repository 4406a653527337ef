"""Offline rendering of notes from a General MIDI soundfont (sf2/sf3) with FluidSynth.

Used to build the default sample library and the timbre training corpus; nothing at run time
needs a soundfont. Needs the system library libfluidsynth (Debian: libfluidsynth3).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.constants import DRUM_CHANNEL
from producer.errors import InputError



@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch, velocity 1-127, start and end in seconds."""

    pitch: int
    velocity: int
    start: float
    end: float


class SoundFontSynth:
    """A FluidSynth instance with one soundfont loaded; renders note lists to stereo float32."""

    def __init__(self, path: str | os.PathLike, *, sr: int = 44100, gain: float = 0.5,
                 settings: dict[str, int | float | str] | None = None):
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: soundfont not found")
        try:
            import fluidsynth
        except (ImportError, OSError) as exc:
            raise InputError(f"FluidSynth is not available ({exc}); install libfluidsynth3") from None
        self.path = path
        self.sr = int(sr)
        self._synth = fluidsynth.Synth(samplerate=float(sr), gain=gain)
        # Effects of the synth itself are off: the library and corpus add their own, explicitly.
        self._synth.setting("synth.reverb.active", 0)
        self._synth.setting("synth.chorus.active", 0)
        # Extra FluidSynth settings, applied before the soundfont loads; e.g.
        # {"synth.dynamic-sample-loading": 1} makes a short-lived synth ~6x quicker to start.
        for key, value in (settings or {}).items():
            self._synth.setting(key, value)
        self._sfid = self._synth.sfload(str(path))
        if self._sfid < 0:
            raise InputError(f"{path}: not a soundfont FluidSynth can load")

    def render(
        self,
        notes: list[Note],
        *,
        program: int = 0,
        drums: bool = False,
        duration: float | None = None,
        channel: int | None = None,
    ) -> np.ndarray:
        """Render notes with one GM program (or the drum kit); returns float32 [shape=(2, n)]."""
        return self.render_parts([(notes, program, drums)], duration=duration)

    def render_parts(
        self, parts: list[tuple[list[Note], int, bool]], *, duration: float | None = None
    ) -> np.ndarray:
        """Render several (notes, program, is_drums) parts together on separate channels."""
        synth = self._synth
        events: list[tuple[int, int, int, int, int]] = []  # (sample, order, channel, pitch, vel)
        channel_ids = [c for c in range(16) if c != DRUM_CHANNEL]
        for i, (notes, program, drums) in enumerate(parts):
            chan = DRUM_CHANNEL if drums else channel_ids[i % len(channel_ids)]
            synth.program_select(chan, self._sfid, 128 if drums else 0, 0 if drums else int(program))
            for n in notes:
                events.append((int(round(n.start * self.sr)), 1, chan, n.pitch, n.velocity))
                events.append((int(round(n.end * self.sr)), 0, chan, n.pitch, 0))
        end = max((e[0] for e in events), default=0)
        total = int(round(duration * self.sr)) if duration is not None else end + self.sr
        events.sort()
        chunks = []
        pos = 0
        for when, kind, chan, pitch, vel in events:
            when = min(when, total)
            if when > pos:
                chunks.append(synth.get_samples(when - pos))
                pos = when
            if kind:
                synth.noteon(chan, pitch, vel)
            else:
                synth.noteoff(chan, pitch)
        if total > pos:
            chunks.append(synth.get_samples(total - pos))
        # Silence every voice and reset controllers before the next render. This does not make a
        # reused synth bit-identical (its dither position and LFO phases carry over): where
        # identical output matters (the sample library build), use a fresh synth per render.
        for chan in range(16):
            synth.all_sounds_off(chan)
        synth.system_reset()
        synth.get_samples(self.sr)
        raw = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        return (raw.reshape(-1, 2).T.astype(np.float32) / 32768.0)[:, :total]

    def close(self) -> None:
        self._synth.delete()
