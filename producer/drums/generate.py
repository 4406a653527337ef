"""`producer drums` as plain functions: answer a kick with a drum part and write its files.

``generate_drums`` runs a trained policy over the kick; ``write_drum_files`` writes ``drums.mid``,
``drums.wav`` (the library's drum kit through the project renderer) and ``pattern.json``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from producer.drums.metrics import pulse_template
from producer.drums.patterns import ACCENT, format_grid, format_pattern
from producer.drums.prior import GM_NOTES
from producer.errors import InputError, ModelError

# Base MIDI velocity per voice; strong metrical positions get up to +20 on top.
_BASE_VELOCITY = {"kick": 100, "snare": 96, "clap": 96, "rim": 84, "hihat_closed": 72,
                  "hihat_open": 84, "ride": 76, "crash": 100, "tom_low": 92, "tom_mid": 92,
                  "tom_high": 92}


@dataclass
class DrumPart:
    """A finished drum part over ``bars`` bars of ``steps_per_bar`` steps.

    ``hits``: voice -> uint8 [shape=(T,)] 0/1 (kick included, first); ``velocity``: voice ->
    MIDI velocities [shape=(T,)] (0 = rest). ``chunks``: one record per policy run.
    """

    hits: dict[str, np.ndarray]
    velocity: dict[str, np.ndarray]
    steps_per_bar: int
    bars: int
    bpm: float
    swing: float
    seed: int
    policy: str
    score: float
    measures: dict = field(default_factory=dict)
    chunks: list = field(default_factory=list)

    def grid(self) -> str:
        return format_grid(self.hits, steps_per_bar=self.steps_per_bar)


def choose_policy(voices: tuple[str, ...], steps_per_bar: int, bars: int,
                  policy_path: str | os.PathLike | None = None):
    """Load the policy for these voices/grid: ``policy_path`` if given, else a shipped one whose
    bar count divides ``bars`` or is a multiple of it. Raises ModelError naming what exists."""
    from producer.drums.agent import POLICY_DIR, DrumPolicy, policy_name, shipped_policies

    if policy_path is not None:
        pol = DrumPolicy.load(policy_path)
        c = pol.config
        if c.voices != voices or c.steps_per_bar != steps_per_bar:
            raise ModelError(f"--policy {policy_path}: trained for voices {','.join(c.voices)} on "
                             f"{c.steps_per_bar}-step bars, not {','.join(voices)} on {steps_per_bar}")
        if bars % c.bars and c.bars % bars:
            raise ModelError(f"--policy {policy_path}: its {c.bars} bars do not fit --bars {bars}")
        return pol
    candidates = []
    for b in range(1, 65):
        stem = POLICY_DIR / policy_name(voices, steps_per_bar, b)
        if stem.with_suffix(".zip").is_file() and (bars % b == 0 or b % bars == 0):
            # Prefer the policy that covers the request in one run, then the longest chunk.
            candidates.append((b != bars, -b, stem))
    if not candidates:
        have = ", ".join(shipped_policies()) or "none"
        raise ModelError(
            f"no trained policy for voices {','.join(voices)} on {steps_per_bar}-step bars x {bars} "
            f"(shipped: {have}); train one with `producer drums train --voices {','.join(voices)} "
            f"--steps-per-bar {steps_per_bar} --bars {bars} --policy-out DIR` and pass --policy DIR/"
            f"{policy_name(voices, steps_per_bar, bars)}")
    return DrumPolicy.load(sorted(candidates)[0][2])


def generate_drums(kick: np.ndarray, *, voices: tuple[str, ...], steps_per_bar: int = 16,
                   bpm: float = 120.0, swing: float = 0.0, seed: int = 0,
                   policy_path: str | os.PathLike | None = None) -> DrumPart:
    """Answer ``kick`` (levels uint8 [shape=(bars * steps_per_bar,)], 2 = accent) with ``voices``.

    The policy runs greedily from an empty pattern; a kick longer than the policy's grid is
    answered chunk by chunk, a shorter one is looped to the policy's length and cut back.
    ``seed`` only drives the velocity humanisation (+-4), so it never changes which steps play.
    """
    if not 20 <= bpm <= 400:
        raise InputError(f"--bpm {bpm:g}: must be between 20 and 400")
    if not 0.0 <= swing <= 0.5:
        raise InputError(f"--swing {swing:g}: must be between 0 and 0.5")
    if "kick" in voices:
        raise InputError("--voices: the kick is the input; list the other voices")
    if len(set(voices)) != len(voices):
        raise InputError(f"--voices {','.join(voices)}: a voice is listed twice")
    T = len(kick)
    bars = T // steps_per_bar
    pol = choose_policy(voices, steps_per_bar, bars, policy_path)
    L = pol.config.bars * steps_per_bar
    env = pol.make_env()
    hits = np.zeros((len(voices), T), np.uint8)
    chunks = []
    if T >= L:
        for start in range(0, T, L):
            ep = pol.generate(kick[start:start + L] > 0, env=env)
            hits[:, start:start + L] = ep.hits
            chunks.append({"bars": [start // steps_per_bar + 1, (start + L) // steps_per_bar],
                           "toggles": ep.steps, "stopped": ep.stopped,
                           "stopped_by": ep.stopped_by})
    else:
        looped = np.tile(kick > 0, L // T)
        ep = pol.generate(looped, env=env)
        hits[:] = ep.hits[:, :T]
        chunks.append({"bars": [1, bars], "toggles": ep.steps, "stopped": ep.stopped,
                       "stopped_by": ep.stopped_by, "kick_looped_to_bars": pol.config.bars})

    from producer.drums.reward import GrooveReward
    reward = GrooveReward(voices, kick > 0, steps_per_bar=steps_per_bar, prior=pol.prior,
                          weights=pol.config.weights)
    rng = np.random.default_rng(seed)
    pulse = pulse_template(steps_per_bar, bars)
    rows = {"kick": (kick > 0).astype(np.uint8), **{v: hits[i] for i, v in enumerate(voices)}}
    velocity = {}
    for v, row in rows.items():
        vel = _BASE_VELOCITY.get(v, 90) - 10 + 20 * pulse + rng.integers(-4, 5, size=T)
        if v == "kick":
            vel = np.where(kick >= ACCENT, 124, vel)
        velocity[v] = np.where(row > 0, np.clip(np.round(vel), 1, 127), 0).astype(np.int64)
    return DrumPart(hits=rows, velocity=velocity, steps_per_bar=steps_per_bar, bars=bars, bpm=bpm,
                    swing=swing, seed=seed, policy=pol.meta.get("name", "custom"),
                    score=float(reward.score(hits)), measures=reward.measures(hits), chunks=chunks)


def part_to_project(part: DrumPart, library):
    """A Project with one drum track whose clips are the part's hits (times in s)."""
    from producer.drums.midi import step_times
    from producer.project import Clip, Project, Track

    times = step_times(part.bars * part.steps_per_bar, steps_per_bar=part.steps_per_bar,
                       bpm=part.bpm, swing=part.swing)
    clips = []
    for voice, vel in part.velocity.items():
        info = library.get(f"drums/{voice}")
        for t in np.flatnonzero(vel):
            gain = 20.0 * np.log10(vel[t] / 127.0)
            clips.append(Clip(sample=info.id, start=round(float(times[t]), 6),
                              hold=round(float(info.duration), 6), pitch=GM_NOTES[voice],
                              gain_db=round(float(gain), 3)))
    clips.sort(key=lambda c: (c.start, c.pitch))
    track = Track(name="drums", instrument="drums", clips=tuple(clips))
    return Project(tempo=float(part.bpm), tracks=(track,))


def part_to_dict(part: DrumPart) -> dict:
    return {
        "format": "producer-drums", "version": 1,
        "steps_per_bar": part.steps_per_bar, "bars": part.bars, "bpm": part.bpm,
        "swing": part.swing, "seed": part.seed, "policy": part.policy,
        "gm_notes": {v: GM_NOTES[v] for v in part.hits},
        "pattern": {v: format_pattern(np.where(part.hits[v] > 0, 1, 0), steps_per_bar=part.steps_per_bar)
                    for v in part.hits},
        "velocity": {v: part.velocity[v].tolist() for v in part.velocity},
        "score": round(part.score, 6),
        "measures": {v: {k: round(float(x), 6) for k, x in m.items()} for v, m in part.measures.items()},
        "chunks": part.chunks,
    }


def write_drum_files(part: DrumPart, folder: str | os.PathLike, *, library=None,
                     audio: bool = True) -> list[Path]:
    """Write drums.mid, drums.wav (unless ``audio`` is false) and pattern.json into ``folder``."""
    from producer.drums.midi import write_drum_midi

    folder = Path(folder)
    written = []
    mid = folder / "drums.mid"
    write_drum_midi(mid, part.velocity, steps_per_bar=part.steps_per_bar, bpm=part.bpm,
                    swing=part.swing)
    written.append(mid)
    if audio:
        from producer.audio import write_audio
        from producer.render import render_project
        from producer.samples import Library

        library = library or Library.default()
        result = render_project(part_to_project(part, library), library)
        wav = folder / "drums.wav"
        write_audio(wav, result.mix, result.sr)
        written.append(wav)
    js = folder / "pattern.json"
    js.write_text(json.dumps(part_to_dict(part), indent=2) + "\n")
    written.append(js)
    return written
