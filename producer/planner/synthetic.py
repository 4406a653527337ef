"""Synthetic sample libraries and known arrangements, for tests and benchmarks.

``write_synthetic_library(folder)`` writes a small one-shot pack (decaying harmonic tones for
pitched instruments, noise and sweeps for drums) with its ``manifest.json``.
``random_arrangement(library, ...)`` builds a known project of monophonic tracks whose notes sit
on a shared grid, the kind of target the self-recreation benchmark rebuilds.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from producer.instruments import DRUM_KIT, INSTRUMENTS
from producer.project import Clip, Project, Track

SR = 22050


def _tone(pitch: int, seconds: float, harmonics: list[float], decay: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    y = sum(a * np.sin(2 * np.pi * f0 * (h + 1) * t) for h, a in enumerate(harmonics) if f0 * (h + 1) < sr / 2)
    env = np.exp(-t / decay) * np.minimum(1.0, t / 0.005)
    return (0.5 * y * env / max(1e-9, np.max(np.abs(y)))).astype(np.float32)


def _drum(name: str, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.5 * sr)) / sr
    if name == "kick":
        f = 50 + 100 * np.exp(-t / 0.03)
        y = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)
    elif name == "snare":
        y = 0.6 * rng.standard_normal(len(t)) * np.exp(-t / 0.07) + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    else:
        n = rng.standard_normal(len(t))
        y = np.diff(n, prepend=0.0) * np.exp(-t / 0.03)
    return (0.6 * y / np.max(np.abs(y))).astype(np.float32)


# instrument -> (harmonic amplitudes, decay seconds)
VOICES = {
    "piano": ([1.0, 0.5, 0.3, 0.2, 0.1], 0.6),
    "bass": ([1.0, 0.7, 0.5, 0.3], 0.9),
    "flute": ([1.0, 0.1, 0.05], 2.0),
}


def write_synthetic_library(folder: str | Path, *, instruments=("piano", "bass", "flute"),
                            root_step: int = 4, drums=("kick", "snare", "hihat_closed")) -> Path:
    """Write a small pack and its manifest into ``folder``; returns the folder.

    Pitched instruments get a root every ``root_step`` semitones across the middle of their range
    (every pitch is then within 2 semitones of a root).
    """
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for inst in instruments:
        spec = INSTRUMENTS[inst]
        harm, decay = VOICES[inst]
        lo = max(spec.low, {"bass": 36, "piano": 48, "flute": 60}.get(inst, spec.low))
        hi = min(spec.high, lo + 24)
        (folder / inst).mkdir(exist_ok=True)
        for p in range(lo, hi + 1, root_step):
            y = _tone(p, 1.5, harm, decay)
            path = folder / inst / f"{inst}_{p}.wav"
            sf.write(str(path), y, SR)
            entries.append({"id": f"{inst}/{p}", "file": f"{inst}/{path.name}", "instrument": inst,
                            "pitch": p, "duration": len(y) / SR, "source": "synthetic", "licence": "CC0"})
    if drums:
        (folder / "drums").mkdir(exist_ok=True)
        for i, name in enumerate(drums):
            y = _drum(name, seed=i)
            path = folder / "drums" / f"{name}.wav"
            sf.write(str(path), y, SR)
            entries.append({"id": f"drums/{name}", "file": f"drums/{name}.wav", "instrument": "drums",
                            "pitch": DRUM_KIT[name], "duration": len(y) / SR, "source": "synthetic",
                            "licence": "CC0"})
    (folder / "manifest.json").write_text(json.dumps({"format": "producer-samples", "version": 1,
                                                      "samples": entries}, indent=1))
    return folder


def random_arrangement(library, *, seconds: float = 10.0, n_notes: int = 24, instruments=None,
                       step: float = 0.5, seed: int = 0, sample_rate: int = 44100) -> Project:
    """A known project: one monophonic track per instrument, ``n_notes`` notes in all, each on a
    grid of ``step`` seconds, pitches drawn from the notes the library plays natively
    (within 2 semitones of a root). Notes ring until the track's next note.
    """
    rng = np.random.default_rng(seed)
    instruments = list(instruments or library.instruments)
    slots = np.arange(0.0, seconds - 1.0, step)
    per = [n_notes // len(instruments) + (1 if i < n_notes % len(instruments) else 0)
           for i in range(len(instruments))]
    tracks = []
    for inst, count in zip(instruments, per):
        samples = library.by_instrument(inst)
        starts = np.sort(rng.choice(slots, size=min(count, len(slots)), replace=False))
        clips = []
        for j, s in enumerate(starts):
            info = samples[int(rng.integers(len(samples)))]
            if inst == "drums":
                pitch = info.pitch
            else:
                pitch = int(info.pitch + rng.integers(-2, 3))
                spec = INSTRUMENTS[inst]
                pitch = int(np.clip(pitch, spec.low, spec.high))
                # The sample a sampler would use for this pitch: the nearest root (as the planner).
                info = min((x for x in samples if x.pitch is not None), key=lambda x: (abs(x.pitch - pitch), x.pitch))
            nxt = starts[j + 1] if j + 1 < len(starts) else seconds
            hold = float(min(nxt - s, info.duration if info.duration else nxt - s))
            clips.append(Clip(sample=info.id, start=float(round(s, 4)), hold=round(max(hold, 0.05), 4),
                              pitch=pitch, gain_db=float(rng.choice([-6.0, -3.0, 0.0]))))
        tracks.append(Track(name=inst.capitalize(), instrument=inst, clips=tuple(clips)))
    return Project(sample_rate=sample_rate, tracks=tuple(tracks))
