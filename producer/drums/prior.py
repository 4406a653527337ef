"""Style prior: where each drum voice tends to play, learned from one-bar drum patterns.

The prior is a per-voice Bernoulli model of a hit at each position of a 16-step bar, conditioned on
whether the kick plays there: p(hit | voice, position, kick). It also records each voice's typical
density and syncopation. It is fitted from a list of patterns (``dict voice -> levels [16]``), which
come from the shipped textbook set (``data/patterns.json``) or from a folder of drum MIDI files
(:func:`load_midi_folder`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.drums.metrics import lhl_syncopation, metrical_levels
from producer.drums.patterns import parse_pattern
from producer.constants import GM_DRUM_NOTES, GM_KEY_VOICE
from producer.errors import InputError

DATA_DIR = Path(__file__).resolve().parent / "data"
PRIOR_STEPS = 16

# Voice name -> General MIDI percussion key written to drums.mid (channel 10).
GM_NOTES = GM_DRUM_NOTES
VOICES = tuple(GM_NOTES)
ALIASES = {
    "bd": "kick", "sd": "snare", "hihat": "hihat_closed", "hat": "hihat_closed", "hh": "hihat_closed",
    "ch": "hihat_closed", "closed_hat": "hihat_closed", "oh": "hihat_open", "open_hat": "hihat_open",
    "openhat": "hihat_open", "rimshot": "rim", "cp": "clap", "cy": "crash", "rd": "ride",
}
# Reading MIDI: every GM key that maps onto one of our voices.
_NOTE_VOICE = GM_KEY_VOICE


def voice_name(name: str) -> str:
    """Canonical voice name for a user spelling (``hihat`` -> ``hihat_closed``)."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in GM_NOTES:
        raise InputError(f"--voices: unknown voice {name!r} (choose from {', '.join(VOICES)})")
    return key


def load_patterns_json(path: str | os.PathLike | None = None) -> list[dict[str, np.ndarray]]:
    """The shipped textbook patterns (or another file in the same format) as dicts of 0/1 rows."""
    path = Path(path) if path else DATA_DIR / "patterns.json"
    data = json.loads(path.read_text())
    out = []
    for i, p in enumerate(data["patterns"]):
        row = {}
        for voice, text in p.items():
            if voice == "name":
                continue
            row[voice_name(voice)] = (parse_pattern(text, name=f"{path.name} pattern {i} {voice}") > 0).astype(np.uint8)
        out.append(row)
    return out


def load_midi_folder(folder: str | os.PathLike, *, steps_per_bar: int = PRIOR_STEPS,
                     beats_per_bar: int = 4) -> list[dict[str, np.ndarray]]:
    """Cut every ``*.mid``/``*.midi`` under ``folder`` into one-bar patterns on a step grid.

    Notes are mapped to voices by their General MIDI key (any channel) and quantised to the
    nearest step; bars without a kick are skipped (the prior is conditioned on the kick).
    Returns a list of ``dict voice -> uint8 [steps_per_bar]``.
    """
    import mido

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of MIDI files")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise InputError(f"{folder}: no .mid files found")
    out = []
    for f in files:
        try:
            mid = mido.MidiFile(str(f))
        except Exception as exc:
            raise InputError(f"{f}: not a readable MIDI file ({exc})") from None
        step_ticks = mid.ticks_per_beat * beats_per_bar / steps_per_bar
        bars: dict[int, dict[str, np.ndarray]] = {}
        for track in mid.tracks:
            tick = 0
            for msg in track:
                tick += msg.time
                if msg.type != "note_on" or msg.velocity == 0 or msg.note not in _NOTE_VOICE:
                    continue
                step = int(round(tick / step_ticks))
                bar, pos = divmod(step, steps_per_bar)
                row = bars.setdefault(bar, {}).setdefault(
                    _NOTE_VOICE[msg.note], np.zeros(steps_per_bar, np.uint8))
                row[pos] = 1
        out.extend(bars[b] for b in sorted(bars) if "kick" in bars[b])
    return out


def _to_prior_grid(steps_per_bar: int, bars: int) -> np.ndarray:
    """Index of the 16-step prior position for each step of another grid (by phase in the bar)."""
    t = np.arange(steps_per_bar * bars) % steps_per_bar
    return (t * PRIOR_STEPS) // steps_per_bar


@dataclass(frozen=True)
class StylePrior:
    """p(hit | voice, position, kick) on a 16-step bar plus per-voice density and syncopation.

    ``p[voice]`` is float [shape=(2, 16)]: row 0 where the kick rests, row 1 where it plays.
    ``density[voice]`` is hits per step; ``syncopation[voice]`` the mean LHL syncopation per bar of
    kick + voice together.
    """

    p: dict[str, np.ndarray]
    density: dict[str, float]
    syncopation: dict[str, float]
    n_patterns: int

    @classmethod
    def fit(cls, patterns: list[dict[str, np.ndarray]], *, smoothing: float = 2.0) -> "StylePrior":
        """Fit from one-bar 16-step patterns; a voice is learnt only from patterns that use it.

        Counts are smoothed towards the voice's per-position rate, which is itself smoothed
        towards its overall rate, so a handful of patterns gives usable probabilities.
        """
        if not patterns:
            raise InputError("style prior: no patterns to learn from")
        levels = metrical_levels(PRIOR_STEPS)
        p, dens, sync = {}, {}, {}
        for voice in VOICES:
            if voice == "kick":
                continue
            rows = [(pat[voice], pat.get("kick", np.zeros(PRIOR_STEPS, np.uint8)))
                    for pat in patterns if voice in pat and len(pat[voice]) == PRIOR_STEPS]
            if not rows:
                # Unknown voice: a flat, sparse prior that prefers nothing.
                p[voice] = np.full((2, PRIOR_STEPS), 0.1)
                dens[voice] = 0.1
                sync[voice] = 0.0
                continue
            h = np.array([r[0] for r in rows], dtype=float)
            k = np.array([r[1] for r in rows], dtype=float)
            overall = (h.sum() + 1.0) / (h.size + 2.0)
            pos_rate = (h.sum(0) + smoothing * overall) / (len(h) + smoothing)
            cond = np.empty((2, PRIOR_STEPS))
            for kv in (0, 1):
                mask = (k == kv)
                cond[kv] = ((h * mask).sum(0) + smoothing * pos_rate) / (mask.sum(0) + smoothing)
            p[voice] = np.clip(cond, 0.02, 0.98)
            dens[voice] = float(h.mean())
            both = np.maximum(h, k)
            sync[voice] = float(np.mean(lhl_syncopation(both, levels)))
        return cls(p=p, density=dens, syncopation=sync, n_patterns=len(patterns))

    @classmethod
    def default(cls) -> "StylePrior":
        """The prior fitted from the shipped textbook patterns."""
        return cls.fit(load_patterns_json())

    def log_odds(self, voice: str, kick: np.ndarray, *, steps_per_bar: int = 16) -> np.ndarray:
        """log p/(1-p) of a hit at every step, given the kick [shape=(steps,)] -> [shape=(steps,)]."""
        kick = np.asarray(kick) > 0
        bars = len(kick) // steps_per_bar
        pos = _to_prior_grid(steps_per_bar, bars)
        prob = self.p[voice][kick.astype(int), pos]
        return np.log(prob) - np.log1p(-prob)

    def to_dict(self) -> dict:
        """JSON-ready form (stored with a trained policy so it scores with its own prior)."""
        return {"p": {v: np.round(a, 6).tolist() for v, a in self.p.items()},
                "density": self.density, "syncopation": self.syncopation,
                "n_patterns": self.n_patterns}

    @classmethod
    def from_dict(cls, d: dict) -> "StylePrior":
        return cls(p={v: np.asarray(a, dtype=float) for v, a in d["p"].items()},
                   density={k: float(x) for k, x in d["density"].items()},
                   syncopation={k: float(x) for k, x in d["syncopation"].items()},
                   n_patterns=int(d["n_patterns"]))
