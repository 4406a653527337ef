"""`producer drums` as plain functions: answer a kick with a whole drum part and write its files.

``generate_drums`` builds the part bar by bar:

1. the style: the one asked for, or the family whose kicks best match the kick (style.py);
2. snare, closed and open hi-hat and ride: the meter's RL policy, one bar at a time, with the
   learned style terms of that bar's kick (voices the family rarely plays are switched off);
3. variation: in every second bar of a phrase one extra hit drawn (seeded) from the steps the
   style finds likely but below the playing threshold: a ghost snare, an open hat, a ride bell;
4. a fill in the last beat of each phrase (the last two beats at the end of a part of 8 bars or
   more): snare and toms drawn from the corpus's fill grooves of the meter, toms falling high to
   low; the cymbals rest under it;
5. a crash on the first step of each phrase after the first (and of bar 1 in parts of 2+ bars);
6. velocities from the style's mean velocity at each step (accents, ghost notes), the kick's
   own accents; ``humanize`` adds seeded velocity spread and micro-timing.

``write_drum_files`` writes ``drums.mid`` (through producer.export.midi, the house MIDI writer),
``drums.wav`` (the library's kit through the project renderer) and ``pattern.json``.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from producer.constants import GM_DRUM_NOTES
from producer.drums.corpus import BEAT_STEPS, METER_DIVISIONS, METERS
from producer.drums.metrics import pulse_template
from producer.drums.patterns import ACCENT, fit_bars, format_grid, format_pattern
from producer.drums.style import HIT_THRESHOLD, POLICY_VOICES
from producer.errors import InputError, ModelError

ALL_VOICES = ("snare", "hihat_closed", "hihat_open", "ride", "crash", "tom_high", "tom_mid",
              "tom_low")
PHRASE_BARS = 4
MAX_BARS = 16
# User spellings of voices (``--voices hat,oh``).
ALIASES = {"sd": "snare", "hihat": "hihat_closed", "hat": "hihat_closed", "hh": "hihat_closed",
           "ch": "hihat_closed", "closed_hat": "hihat_closed", "oh": "hihat_open",
           "open_hat": "hihat_open", "openhat": "hihat_open", "cy": "crash", "rd": "ride",
           "toms": "tom_high,tom_mid,tom_low"}


def parse_voices(text: str | None) -> tuple[str, ...] | None:
    """``--voices`` text -> canonical voice names (None: all); InputError for unknown ones."""
    if text is None:
        return None
    names = []
    for item in text.split(","):
        key = item.strip().lower().replace("-", "_")
        if not key:
            continue
        for name in ALIASES.get(key, key).split(","):
            if name not in ALL_VOICES:
                raise InputError(f"--voices: unknown voice {item.strip()!r} "
                                 f"(choose from {', '.join(ALL_VOICES)}; the kick is the input)")
            names.append(name)
    if not names:
        raise InputError("--voices: no voices given")
    return tuple(dict.fromkeys(names))


# Loudness of each voice at the style's average velocity (MIDI), before accents and ghosts.
BASE_VELOCITY = {"kick": 104, "snare": 100, "hihat_closed": 78, "hihat_open": 86, "ride": 84,
                 "crash": 112, "tom_high": 96, "tom_mid": 96, "tom_low": 98}
GHOST_VELOCITY = 38
TOM_SHARE = 0.5
# Humanize 1.0: velocity spread (s.d., MIDI units) and timing spread (s.d., seconds).
HUMAN_VELOCITY_SD, HUMAN_TIMING_SD = 7.0, 0.010


@dataclass
class DrumPart:
    """A finished drum part of ``bars`` bars in ``meter``.

    ``velocity``: voice -> MIDI velocity int [shape=(T,)] (0 = rest; T = bars x steps_per_bar),
    kick first; ``offset_s``: voice -> timing offset in seconds [shape=(T,)] (humanize);
    ``bar_notes``: per bar, what was added beyond the policy (variation, fill, crash).
    """

    velocity: dict[str, np.ndarray]
    offset_s: dict[str, np.ndarray]
    meter: str
    steps_per_bar: int
    bars: int
    bpm: float
    swing: float
    humanize: float
    seed: int
    style: str
    style_source: str
    policy: str
    score: float
    chunks: list = field(default_factory=list)
    bar_notes: list = field(default_factory=list)

    @property
    def hits(self) -> dict[str, np.ndarray]:
        return {v: (vel > 0).astype(np.uint8) for v, vel in self.velocity.items()}

    def grid(self) -> str:
        rows = {v: np.where(vel > 0, np.where(vel >= 100, ACCENT, 1), 0).astype(np.uint8)
                for v, vel in self.velocity.items() if vel.any()}
        return format_grid(rows, steps_per_bar=self.steps_per_bar,
                           beat_steps=BEAT_STEPS[self.meter])


def check_settings(*, meter: str, bpm: float, swing: float, humanize: float, bars: int | None,
                   voices: tuple[str, ...] | None) -> None:
    """Validate the part's settings; InputError naming the field and its range."""
    if meter not in METERS:
        raise InputError(f"--meter {meter}: not supported (choose from {', '.join(METERS)})")
    if not 20 <= bpm <= 400:
        raise InputError(f"--bpm {bpm:g}: must be between 20 and 400")
    if not 0.0 <= swing <= 0.5:
        raise InputError(f"--swing {swing:g}: must be between 0 and 0.5")
    if swing and meter == "12/8":
        raise InputError(f"--swing {swing:g}: 12/8 is already a triplet feel; use --swing 0")
    if not 0.0 <= humanize <= 1.0:
        raise InputError(f"--humanize {humanize:g}: must be between 0 and 1")
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise InputError(f"--bars {bars}: must be 1..{MAX_BARS}")
    for v in voices or ():
        if v not in ALL_VOICES:
            raise InputError(f"--voices: {v!r} is not a voice the part writes "
                             f"(choose from {', '.join(ALL_VOICES)})")


def load_policy(meter: str, policy_path: str | os.PathLike | None = None):
    """The policy for ``meter``: ``policy_path`` if given, else the shipped one."""
    from producer.drums.agent import POLICY_DIR, DrumPolicy, policy_name, shipped_policies

    if policy_path is not None:
        pol = DrumPolicy.load(policy_path)
        if pol.config.meter != meter:
            raise ModelError(f"--policy {policy_path}: trained for {pol.config.meter}, not {meter}")
        return pol
    stem = POLICY_DIR / policy_name(meter)
    if not stem.with_suffix(".zip").is_file():
        have = ", ".join(shipped_policies()) or "none"
        raise ModelError(f"--meter {meter}: no trained policy (shipped: {have}); train one with "
                         f"`producer drums train --meter {meter}`")
    return DrumPolicy.load(stem)


def generate_drums(kick: np.ndarray, *, meter: str = "4/4", style: str | None = None,
                   bars: int | None = None, bpm: float = 120.0, swing: float = 0.0,
                   humanize: float = 0.0, seed: int = 0, voices: tuple[str, ...] | None = None,
                   policy_path: str | os.PathLike | None = None) -> DrumPart:
    """Answer ``kick`` (levels uint8 [shape=(n,)], 2 = accent, on the meter's grid) with a part.

    A kick shorter than ``bars`` bars is looped; ``voices`` limits the voices written (default
    all of ALL_VOICES the style plays). Same arguments, same part.

    Long because every bar's choice (policy, variation, fill, crash, velocities, feel)
    reads the same phrase position and grid; split, each step would need them all.
    """
    from producer.drums.style import style_model

    check_settings(meter=meter, bpm=bpm, swing=swing, humanize=humanize, bars=bars, voices=voices)
    T = METERS[meter][0]
    kick = fit_bars(np.asarray(kick, np.uint8), steps_per_bar=T, bars=bars)
    if not kick.any():
        raise InputError("--kick: the pattern has no kick hits")
    n_bars = len(kick) // T
    if n_bars > MAX_BARS:
        raise InputError(f"--kick: {n_bars} bars, more than {MAX_BARS}; pass --bars")
    model = style_model()
    kick_bars = (kick.reshape(n_bars, T) > 0).astype(np.uint8)
    if style is None:
        style, source = model.best_family(kick_bars, meter), "matched to the kick"
    else:
        model.get(style, meter)  # unknown style / meter -> InputError
        source = "asked"
    fam = model.get(style, meter)
    wanted = set(voices) if voices else set(ALL_VOICES)
    enabled = tuple(v for v in model.voices_played(style, meter) if v in wanted)
    if "hihat_closed" in enabled and "ride" in enabled:
        # One hand keeps time: the cymbal the family plays more often.
        drop = min(("hihat_closed", "ride"), key=lambda v: fam.usage[fam.index(v)])
        enabled = tuple(v for v in enabled if v != drop)
    pol = load_policy(meter, policy_path)
    env = pol.make_env()
    rng = np.random.default_rng(seed)

    hits = {v: np.zeros(n_bars * T, np.uint8) for v in ALL_VOICES}
    ghost = np.zeros(n_bars * T, bool)
    chunks, notes, score, cache = [], [], 0.0, {}
    for b in range(n_bars):
        kb = kick_bars[b]
        terms = model.terms(style, meter, POLICY_VOICES, kb, enabled)
        key = kb.tobytes()
        if key not in cache:
            cache[key] = pol.generate(kb, terms, env=env)
        ep = cache[key]
        score += ep.score
        chunks.append({"bar": b + 1, "toggles": ep.steps, "stopped_by": ep.stopped_by})
        sl = slice(b * T, (b + 1) * T)
        for i, v in enumerate(POLICY_VOICES):
            hits[v][sl] = ep.hits[i] if v in enabled else 0
        note = []
        pos = b % PHRASE_BARS
        if pos % 2 == 1:
            note += _variation(model, style, meter, kb, enabled, hits, ghost, b, T, rng)
        phrase_end = (pos == PHRASE_BARS - 1 or b == n_bars - 1) and n_bars >= 2
        if phrase_end:
            beats = 2 if (b == n_bars - 1 and n_bars >= 8) else 1
            note.append(_fill(model.fill_p[meter], meter, hits, b, T, beats, wanted, rng))
        if pos == 0 and n_bars >= 2 and "crash" in wanted:
            hits["crash"][b * T] = 1
            for v in ("hihat_closed", "hihat_open", "ride"):
                hits[v][b * T] = 0
            note.append("crash")
        notes.append(note)

    velocity = _velocities(kick, hits, ghost, fam, meter, n_bars, T, humanize, rng)
    offsets = {v: np.zeros(n_bars * T) for v in velocity}
    if humanize:
        for v in velocity:
            off = rng.normal(0.0, HUMAN_TIMING_SD * humanize, n_bars * T)
            offsets[v] = np.where(velocity[v] > 0, np.clip(off, -2.5 * HUMAN_TIMING_SD,
                                                           2.5 * HUMAN_TIMING_SD), 0.0)
            offsets[v][0] = max(0.0, offsets[v][0])  # nothing before the part starts
    return DrumPart(velocity=velocity, offset_s=offsets, meter=meter, steps_per_bar=T,
                    bars=n_bars, bpm=bpm, swing=swing, humanize=humanize, seed=seed, style=style,
                    style_source=source, policy=pol.meta.get("name", "custom"),
                    score=score / n_bars, chunks=chunks, bar_notes=notes)


def _variation(model, style, meter, kb, enabled, hits, ghost, b, T, rng) -> list[str]:
    """One extra hit in bar ``b`` from the steps the style finds likely but not likely enough."""
    options = []
    for v in ("snare", "hihat_open", "ride"):
        if v not in enabled:
            continue
        p = model.prob(style, meter, v, kb)
        row = hits[v][b * T:(b + 1) * T]
        for t in np.flatnonzero((p >= 0.12) & (p < HIT_THRESHOLD) & (row == 0)):
            options.append((v, int(t), float(p[t])))
    if not options:
        return []
    w = np.array([o[2] for o in options])
    v, t, _ = options[int(rng.choice(len(options), p=w / w.sum()))]
    hits[v][b * T + t] = 1
    if v == "snare":
        ghost[b * T + t] = True
    if v == "hihat_open":
        hits["hihat_closed"][b * T + t] = 0  # one hi-hat
    return [f"variation {v} step {t + 1}"]


def _fill(fill_p: np.ndarray, meter: str, hits, b, T, beats, wanted, rng) -> str:
    """Snare and toms over the last ``beats`` beats of bar ``b``; cymbals rest under them."""
    span = BEAT_STEPS[meter] * beats
    start = b * T + T - span
    toms_ok = [v for v in ("tom_high", "tom_mid", "tom_low") if v in wanted]
    if "snare" not in wanted and not toms_ok:
        return "no fill (no snare or toms)"
    snare_p, tom_p = fill_p[0, T - span:], fill_p[1:4, T - span:].sum(0)
    # MMA's fills are mostly snare rolls; a tom takes at least TOM_SHARE of the fill's hits,
    # so the kit moves round as a drummer's fill does.
    tom_share = np.clip(tom_p / np.maximum(snare_p + tom_p, 1e-9), TOM_SHARE, 1.0)
    played = []
    for j in range(span):
        busy = 1.0 - (1.0 - snare_p[j]) * (1.0 - tom_p[j])
        # Every other step at least: a fill is a run, even where the corpus is sparse.
        if busy >= 0.25 or j % 2 == 0:
            use_tom = toms_ok and ("snare" not in wanted or rng.random() < tom_share[j])
            played.append((j, "tom" if use_tom else "snare"))
    # Toms fall from high to low across the fill, as a drummer moves round the kit.
    n_toms = sum(k == "tom" for _, k in played)
    # Spread the fill's tom hits over the toms there are, highest first.
    toms = [toms_ok[min(len(toms_ok) - 1, i * len(toms_ok) // max(1, n_toms))]
            for i in range(n_toms)]
    it = iter(toms)
    for v in ("hihat_closed", "hihat_open", "ride", "snare", "tom_high", "tom_mid", "tom_low"):
        hits[v][start:start + span] = 0
    for j, k in played:
        hits[next(it) if k == "tom" else k][start + j] = 1
    return f"fill {beats} beat{'s' if beats > 1 else ''}"


def _velocities(kick, hits, ghost, fam, meter, n_bars, T, humanize, rng) -> dict[str, np.ndarray]:
    """MIDI velocities per voice [shape=(n_bars * T,)]; kick first, then voices that play."""
    pulse = np.tile(pulse_template(T, 1, METER_DIVISIONS[meter]), n_bars)
    out = {}
    kick_vel = np.where(kick >= ACCENT, 124, np.round(96 + 14 * pulse))
    out["kick"] = np.where(kick > 0, kick_vel, 0).astype(np.int64)
    for v in ALL_VOICES:
        row = hits[v]
        if not row.any():
            continue
        base = BASE_VELOCITY[v]
        style_vel = np.tile(fam.velocity[fam.index(v)], n_bars)
        mean = float(fam.velocity[fam.index(v)].mean()) or 90.0
        vel = base * style_vel / mean + 6 * pulse
        if v == "snare":
            # Ghost notes: soft where the style plays the snare softly, and the variations.
            vel = np.where((style_vel < 0.75 * mean) | ghost, GHOST_VELOCITY + 10 * pulse, vel)
        if humanize:
            vel = vel + rng.normal(0.0, HUMAN_VELOCITY_SD * humanize, len(vel))
        out[v] = np.where(row > 0, np.clip(np.round(vel), 1, 127), 0).astype(np.int64)
    return out


# ---- files ---------------------------------------------------------------------------------

def step_times(n_steps: int, *, meter: str, bpm: float, swing: float = 0.0) -> np.ndarray:
    """Onset time (s) of every step [shape=(n_steps,)].

    ``swing`` in [0, 0.5] delays every second step (the off-beat 16ths) by that fraction of a
    step: 0 straight, 1/3 a triplet shuffle, 0.5 a dotted feel.
    """
    step_s = 60.0 / bpm * METERS[meter][1]
    t = np.arange(n_steps) * step_s
    t[1::2] += swing * step_s
    return t


TIME_SIGNATURES = {"4/4": (4, 4), "3/4": (3, 4), "6/8": (6, 8), "12/8": (12, 8)}


def part_to_project(part: DrumPart, library=None):
    """A Project with one drum track whose clips are the part's hits (times in s, swing and
    humanize applied; clip gain carries the velocity as the MIDI writer reads it back)."""
    from producer.export.midi import gain_for_velocity
    from producer.project import Clip, Project, Track

    times = step_times(part.bars * part.steps_per_bar, meter=part.meter, bpm=part.bpm,
                       swing=part.swing)
    step_s = 60.0 / part.bpm * METERS[part.meter][1]
    clips = []
    for voice, vel in part.velocity.items():
        sample = library.get(f"drums/{voice}") if library is not None else None
        hold = float(sample.duration) if sample is not None else step_s / 2
        for t in np.flatnonzero(vel):
            clips.append(Clip(sample=sample.id if sample is not None else f"drums/{voice}",
                              start=round(max(0.0, float(times[t] + part.offset_s[voice][t])), 6),
                              hold=round(min(hold, 4.0), 6), pitch=GM_DRUM_NOTES[voice],
                              gain_db=round(gain_for_velocity(int(vel[t])), 4)))
    track = Track(name="drums", instrument="drums", clips=tuple(clips))
    return Project(tempo=float(part.bpm), time_signature=TIME_SIGNATURES[part.meter],
                   tracks=(track,))


def part_to_dict(part: DrumPart) -> dict:
    T = part.steps_per_bar
    return {
        "format": "producer-drums", "version": 2,
        "meter": part.meter, "steps_per_bar": T, "bars": part.bars, "bpm": part.bpm,
        "swing": part.swing, "humanize": part.humanize, "seed": part.seed,
        "style": part.style, "style_source": part.style_source, "policy": part.policy,
        "gm_notes": {v: GM_DRUM_NOTES[v] for v in part.velocity},
        "pattern": {v: format_pattern(np.where(vel > 0, 1, 0), steps_per_bar=T)
                    for v, vel in part.velocity.items()},
        "velocity": {v: vel.tolist() for v, vel in part.velocity.items()},
        "offset_ms": {v: np.round(o * 1e3, 2).tolist() for v, o in part.offset_s.items()
                      if o.any()},
        "score_per_bar": round(part.score, 6),
        "bars_added": part.bar_notes,
        "chunks": part.chunks,
    }


def write_drum_files(part: DrumPart, folder: str | os.PathLike, *, library=None,
                     audio: bool = True) -> list[Path]:
    """Write drums.mid, drums.wav (unless ``audio`` is false) and pattern.json into ``folder``."""
    from producer.export.midi import write_midi

    folder = Path(folder)
    written = []
    if audio:
        from producer.samples import Library

        library = library or Library.default()
    # The MIDI notes last half a step; the audio lets each sample ring out.
    written.append(write_midi(part_to_project(part), folder / "drums.mid"))
    if audio:
        from producer.audio import write_audio
        from producer.render import render_project

        result = render_project(part_to_project(part, library), library)
        wav = folder / "drums.wav"
        write_audio(wav, result.mix, result.sr)
        written.append(wav)
    js = folder / "pattern.json"
    js.write_text(json.dumps(part_to_dict(part), indent=2) + "\n")
    written.append(js)
    return written


def default_out(kick: np.ndarray, *, seed: int, force: bool = False) -> Path:
    """``outputs/drums-<crc32 of the kick>-s<seed>``, numbered (-2, -3 ...) past existing ones
    unless ``force``: the same request lands in the same place."""
    tag = zlib.crc32(format_pattern(np.asarray(kick)).encode()) & 0xFFFFFFFF
    base = Path("outputs") / f"drums-{tag:08x}-s{seed}"
    out, n = base, 2
    while out.exists() and not force:
        out = base.with_name(f"{base.name}-{n}")
        n += 1
    return out


def _names_a_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # pattern text longer than a file name may be
        return False


def make_drums(*, kick: str, out: str | os.PathLike | None = None, force: bool = False,
               meter: str = "4/4", style: str | None = None, bars: int | None = None,
               bpm: float | None = None, swing: float = 0.0, humanize: float = 0.0,
               seed: int = 0, voices: str | None = None,
               policy_path: str | os.PathLike | None = None,
               audio: bool = True) -> tuple[DrumPart, Path, list[Path]]:
    """The whole `producer drums` run: read ``kick`` (pattern text, .mid or audio), check every
    setting and ``out`` before any work, generate, and write the files through a staged folder.

    ``bpm`` None takes the tempo found in audio, else 120; ``voices`` is ``--voices`` text.
    Returns (part, folder, files written).
    """
    from producer.drums.kick import read_kick
    from producer.output import check_output_dir, check_seed, staged_output

    check_seed(seed)
    voices = parse_voices(voices)
    check_settings(meter=meter, bpm=bpm or 120.0, swing=swing, humanize=humanize, bars=bars,
                   voices=voices)
    if out is not None:
        check_output_dir(out, force=force, inputs=[kick] if _names_a_file(kick) else [])
    k = read_kick(kick, meter=meter)
    tempo = bpm or k.bpm or 120.0
    part = generate_drums(k.levels, meter=meter, style=style, bars=bars, bpm=tempo, swing=swing,
                          humanize=humanize, seed=seed, voices=voices, policy_path=policy_path)
    if out is None:
        out = default_out(k.levels, seed=seed, force=force)
    with staged_output(out, force=force) as stage:
        written = write_drum_files(part, stage, audio=audio)
    final = Path(getattr(stage, "final", None) or out)
    return part, final, [final / p.name for p in written]
