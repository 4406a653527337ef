"""Training data for the timbre CNN: the IRMAS layout, and a corpus rendered from soundfonts.

IRMAS (Bosch et al. 2012; CC BY-NC-SA 3.0, never committed here):

- training: one folder per class (``cel cla flu gac gel org pia sax tru vio voi``) of 3 s clips
  named with bracket tags, ``[inst][genre]NNNN__N.wav`` or ``[inst][dru|nod][genre]NNNN__N.wav``
  (the released files carry a numeric prefix, e.g. ``008__[cel][nod][cla]0058__1.wav``);
- testing: ``*.wav`` excerpts (5-20 s) each with a ``*.txt`` holding one class per line (lines may
  end with tabs), in one or more folders (``IRMAS-TestingData-Part1..3``).

The soundfont corpus is written in the IRMAS training layout (22,050 Hz mono, 16-bit), with the
soundfont's short name as the genre tag, so ``train --corpus`` and ``train --irmas`` share one
loader. Each clip: 3 s, a predominant instrument playing a random phrase (tempo, scale, range,
rhythm, articulation and dynamics drawn per clip), 0-2 quieter parts from other classes and
sometimes a drum kit, then random EQ, compression and reverb.
"""
from __future__ import annotations

import csv
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.errors import InputError

CLASSES = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
CLIP_SECONDS = 3.0
CORPUS_SR = 22050
_TAG = re.compile(r"\[([^\]]+)\]")


# --------------------------------------------------------------------------- IRMAS layout


@dataclass(frozen=True)
class Clip:
    """One labelled audio file: path, set of class names, genre tag, drums (True/False/None)."""

    path: Path
    labels: tuple[str, ...]
    genre: str = ""
    drums: bool | None = None


def parse_training_name(name: str) -> tuple[str, bool | None, str]:
    """IRMAS training file name -> (instrument, drums, genre).

    ``'[cel][nod][cla]0058__1.wav'`` -> ``('cel', False, 'cla')``; ``'[gel][pop_roc]0001__2.wav'``
    -> ``('gel', None, 'pop_roc')``. Raises InputError when the tags are not there.
    """
    tags = _TAG.findall(Path(name).name)
    if not tags or tags[0] not in CLASSES:
        raise InputError(f"{name}: not an IRMAS training file name ([inst][genre]NNNN__N.wav)")
    inst, rest = tags[0], tags[1:]
    drums = None
    if rest and rest[0] in ("dru", "nod"):
        drums = rest[0] == "dru"
        rest = rest[1:]
    return inst, drums, rest[0] if rest else ""


def find_training_root(root: str | os.PathLike) -> Path:
    """The folder holding the 11 class folders: ``root`` itself or one level below it."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    for cand in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if sum((cand / c).is_dir() for c in CLASSES) == len(CLASSES):
            return cand
    raise InputError(f"{root}: no IRMAS training folders ({' '.join(CLASSES)}) here or one level below")


def load_training(root: str | os.PathLike) -> list[Clip]:
    """All training clips under an IRMAS-layout training folder (or its parent), sorted by path."""
    troot = find_training_root(root)
    clips = []
    for cls in CLASSES:
        for path in sorted((troot / cls).glob("*.wav")):
            inst, drums, genre = parse_training_name(path.name)
            if inst != cls:
                raise InputError(f"{path}: file tagged [{inst}] lies in folder {cls}/")
            clips.append(Clip(path, (cls,), genre, drums))
    if not clips:
        raise InputError(f"{troot}: the class folders hold no .wav files")
    return clips


def read_label_file(path: str | os.PathLike) -> tuple[str, ...]:
    """IRMAS testing label file: one class per line, whitespace (tabs) stripped, blanks skipped."""
    labels = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        lab = line.strip()
        if not lab:
            continue
        if lab not in CLASSES:
            raise InputError(f"{path}: unknown instrument label {lab!r} (known: {' '.join(CLASSES)})")
        if lab not in labels:
            labels.append(lab)
    if not labels:
        raise InputError(f"{path}: label file holds no labels")
    return tuple(labels)


def load_testing(root: str | os.PathLike) -> list[Clip]:
    """Every ``*.wav`` with a same-named ``*.txt`` anywhere under ``root`` (IRMAS testing parts)."""
    root = Path(root)
    clips = []
    for wav in sorted(root.rglob("*.wav")):
        txt = wav.with_suffix(".txt")
        if txt.is_file():
            clips.append(Clip(wav, read_label_file(txt)))
    return clips


def find_irmas(root: str | os.PathLike) -> tuple[list[Clip], list[Clip]]:
    """IRMAS root (holding ``IRMAS-TrainingData`` and ``IRMAS-TestingData-Part*``, or the
    training class folders directly) -> (training clips, testing clips; may be empty)."""
    root = Path(root)
    train = load_training(root)
    troot = find_training_root(root)
    test = []
    for cand in sorted(p for p in root.iterdir() if p.is_dir() and p != troot and p.name not in CLASSES):
        test += load_testing(cand)
    return train, test


# --------------------------------------------------------------------------- soundfont corpus

# GM programs (0-based) standing in for each IRMAS class; repeats weight the draw.
PROGRAMS: dict[str, tuple[int, ...]] = {
    "cel": (42,),
    "cla": (71,),
    "flu": (73, 73, 72),
    "gac": (24, 25),
    "gel": (26, 27, 28, 29, 30),
    "org": (16, 17, 18, 19, 20),
    "pia": (0, 0, 1, 2, 3),
    "sax": (64, 65, 66, 67),
    "tru": (56, 56, 59),
    "vio": (40,),
    "voi": (52, 53, 54),
}
# Playable MIDI range per class (low, high).
RANGES: dict[str, tuple[int, int]] = {
    "cel": (36, 72), "cla": (52, 86), "flu": (60, 93), "gac": (40, 79), "gel": (40, 84),
    "org": (36, 84), "pia": (33, 96), "sax": (44, 81), "tru": (55, 82), "vio": (55, 96),
    "voi": (48, 79),
}
POLYPHONIC = {"gac", "gel", "org", "pia"}
SUSTAINED = {"cel", "cla", "flu", "org", "sax", "tru", "vio", "voi"}
_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10), (0, 2, 3, 5, 7, 9, 10))


def _scale_pitches(rng, lo: int, hi: int) -> np.ndarray:
    root = int(rng.integers(0, 12))
    scale = _SCALES[int(rng.integers(len(_SCALES)))]
    return np.array([p for p in range(lo, hi + 1) if (p - root) % 12 in scale])


def make_phrase(rng: np.random.Generator, cls: str, *, seconds: float = CLIP_SECONDS, role: str = "lead"):
    """A random phrase for class ``cls``: list of soundfont ``Note`` (pitch, velocity, start, end s).

    role 'lead': a melody (or chords/arpeggios for polyphonic classes) across the class range with a
    dynamic contour; role 'accomp': sustained chords or a slow line, for the quieter parts.
    """
    from producer.soundfont import Note

    lo, hi = RANGES[cls]
    # A register inside the range, so phrases cover low, middle and high parts of the instrument.
    span = int(rng.integers(10, 20))
    base = int(rng.integers(lo, max(lo + 1, hi - span)))
    pitches = _scale_pitches(rng, base, min(hi, base + span))
    if pitches.size == 0:
        pitches = np.arange(base, base + 12)
    beat = 60.0 / float(rng.uniform(70, 170))
    dyn = float(rng.uniform(35, 120))           # clip-level dynamic (pp..ff as MIDI velocity)
    slope = float(rng.uniform(-25, 25))         # crescendo / diminuendo over the clip
    notes = []
    t = float(rng.uniform(0.0, 0.15))
    idx = int(rng.integers(pitches.size))
    if role == "accomp":
        choices, probs = (2.0, 4.0, 1.0), (0.4, 0.4, 0.2)
    elif cls in SUSTAINED:
        choices, probs = (0.5, 1.0, 2.0, 0.25, 3.0), (0.3, 0.3, 0.2, 0.1, 0.1)
    else:
        choices, probs = (0.25, 0.5, 1.0, 2.0), (0.25, 0.35, 0.25, 0.15)
    legato = float(rng.uniform(0.5, 1.05))  # staccato .. legato
    chordy = role == "accomp" or (cls in POLYPHONIC and rng.random() < 0.5)
    while t < seconds:
        dur = float(rng.choice(choices, p=probs)) * beat
        if notes and rng.random() < 0.08 and role == "lead":   # a rest (never before the first note)
            t += dur
            continue
        idx = int(np.clip(idx + rng.integers(-3, 4), 0, pitches.size - 1))
        vel = int(np.clip(dyn + slope * (t / seconds - 0.5) + rng.normal(0, 6), 15, 127))
        chord = [idx]
        if chordy:
            chord += [i for i in (idx + 2, idx + 4) if i < pitches.size and rng.random() < 0.8]
        for k, i in enumerate(chord):
            start = t + (k * float(rng.uniform(0.0, 0.04)) if cls in ("gac", "gel") else 0.0)
            notes.append(Note(int(pitches[i]), vel, start, start + max(0.05, dur * legato)))
        t += dur
    return notes


def make_drums(rng: np.random.Generator, *, seconds: float = CLIP_SECONDS):
    """A simple GM drum groove (kick 36, snare 38, hats 42/46, ride 51) as Note list."""
    from producer.soundfont import Note

    beat = 60.0 / float(rng.uniform(80, 160))
    step = beat / 2
    hat = int(rng.choice([42, 46, 51]))
    notes = []
    for i in range(int(seconds / step) + 1):
        t = i * step
        vel = int(rng.integers(60, 115))
        notes.append(Note(hat, max(20, vel - 25), t, t + 0.05))
        if i % 4 == 0 or rng.random() < 0.12:
            notes.append(Note(36, vel, t, t + 0.1))
        if i % 4 == 2:
            notes.append(Note(38, vel, t, t + 0.1))
    return notes


def _rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)) + 1e-12))


def _effects(rng: np.random.Generator, y: np.ndarray, sr: int) -> tuple[np.ndarray, list[str]]:
    """Random EQ, compression and reverb on mono y [shape=(n,)]; returns (y, names applied)."""
    import pedalboard as pb

    chain, names = [], []
    if rng.random() < 0.7:
        chain.append(pb.LowShelfFilter(cutoff_frequency_hz=float(rng.uniform(80, 400)), gain_db=float(rng.uniform(-8, 8))))
        chain.append(pb.HighShelfFilter(cutoff_frequency_hz=float(rng.uniform(2000, 8000)), gain_db=float(rng.uniform(-10, 6))))
        chain.append(pb.PeakFilter(cutoff_frequency_hz=float(np.exp(rng.uniform(np.log(200), np.log(5000)))),
                                   gain_db=float(rng.uniform(-8, 8)), q=float(rng.uniform(0.5, 3))))
        names.append("eq")
    if rng.random() < 0.5:
        chain.append(pb.Compressor(threshold_db=float(rng.uniform(-30, -10)), ratio=float(rng.uniform(2, 8)),
                                   attack_ms=float(rng.uniform(1, 30)), release_ms=float(rng.uniform(50, 300))))
        names.append("comp")
    if rng.random() < 0.6:
        wet = float(rng.uniform(0.05, 0.4))
        chain.append(pb.Reverb(room_size=float(rng.uniform(0.1, 0.9)), damping=float(rng.uniform(0.1, 0.9)),
                               wet_level=wet, dry_level=1.0 - wet / 2, width=1.0))
        names.append("reverb")
    if not chain:
        return y, names
    out = pb.Pedalboard(chain)(y[None, :].astype(np.float32), sr)[0]
    return out[: y.size].astype(np.float32), names


def render_clip(synth, rng: np.random.Generator, cls: str, *, seconds: float = CLIP_SECONDS,
                effects: bool = True) -> tuple[np.ndarray, dict]:
    """One corpus clip: mono float32 [shape=(round(seconds * synth.sr),)], peak 0.9, and its recipe.

    ``synth`` is a ``SoundFontSynth``; the predominant part is program-drawn from PROGRAMS[cls],
    accompaniment parts sit 8-20 dB (RMS) below it, drums 8-18 dB. (A first corpus with parts
    6-18 dB below the lead gave a predominant instrument too often buried by 2 parts + drums.)
    """
    n = int(round(seconds * synth.sr))
    program = int(rng.choice(PROGRAMS[cls]))
    lead = synth.render(make_phrase(rng, cls, seconds=seconds), program=program, duration=seconds).mean(axis=0)
    lead = lead[:n]
    recipe = {"class": cls, "program": program, "accomp": [], "drums": False}
    if _rms(lead) < 1e-5:
        raise InputError(f"{synth.path}: program {program} rendered silence")
    mix = lead / _rms(lead)
    others = [c for c in CLASSES if c != cls]
    n_acc = int(rng.choice([0, 1, 2], p=[0.25, 0.45, 0.3]))
    for acc in rng.choice(others, size=n_acc, replace=False):
        acc = str(acc)
        prog = int(rng.choice(PROGRAMS[acc]))
        part = synth.render(make_phrase(rng, acc, seconds=seconds, role="accomp"), program=prog, duration=seconds).mean(axis=0)[:n]
        if _rms(part) < 1e-5:
            continue
        db = float(rng.uniform(-20, -8))
        mix = mix + part / _rms(part) * 10 ** (db / 20)
        recipe["accomp"].append([acc, prog, round(db, 1)])
    if rng.random() < 0.4:
        part = synth.render(make_drums(rng, seconds=seconds), drums=True, duration=seconds).mean(axis=0)[:n]
        if _rms(part) > 1e-5:
            db = float(rng.uniform(-18, -8))
            mix = mix + part / _rms(part) * 10 ** (db / 20)
            recipe["drums"] = True
    if effects:
        mix, names = _effects(rng, mix.astype(np.float32), synth.sr)
        recipe["effects"] = names
    peak = float(np.max(np.abs(mix)))
    mix = (mix / peak * 0.9) if peak > 0 else mix
    return mix.astype(np.float32), recipe


def soundfont_tag(path: str | os.PathLike) -> str:
    """Short lowercase name for a soundfont file, used as the corpus 'genre' tag."""
    return re.sub(r"[^a-z0-9]", "", Path(path).stem.lower())[:16] or "sf"


_SYNTHS: dict[str, object] = {}


def _worker_render(job: tuple[str, int, int, int, int, str]) -> list[dict]:
    """Render clips [start, stop) of one (soundfont, class) into out; returns manifest rows."""
    from producer.audio import write_audio
    from producer.soundfont import SoundFontSynth

    sf_path, seed, cls_idx, start, stop, out = job
    if sf_path not in _SYNTHS:
        _SYNTHS[sf_path] = SoundFontSynth(sf_path, sr=CORPUS_SR)
    synth = _SYNTHS[sf_path]
    cls = CLASSES[cls_idx]
    tag = soundfont_tag(sf_path)
    sf_key = int.from_bytes(tag.encode()[:8].ljust(8, b"\0"), "little")
    rows = []
    for i in range(start, stop):
        rng = np.random.default_rng([seed, sf_key, cls_idx, i])
        y, recipe = render_clip(synth, rng, cls)
        drums = "dru" if recipe["drums"] else "nod"
        name = f"[{cls}][{drums}][{tag}]{i:04d}__1.wav"
        write_audio(Path(out) / cls / name, y, CORPUS_SR, subtype="PCM_16")
        rows.append({"file": f"{cls}/{name}", "soundfont": Path(sf_path).name, "class": cls,
                     "program": recipe["program"], "accomp": ";".join(f"{a}:{p}:{d}" for a, p, d in recipe["accomp"]),
                     "drums": int(recipe["drums"]), "effects": "+".join(recipe.get("effects", []))})
    return rows


def build_corpus(soundfonts: list[str | os.PathLike], out: str | os.PathLike, *, clips_per_class: int = 300,
                 seed: int = 0, workers: int = 2, log=None) -> int:
    """Render ``clips_per_class`` clips per class per soundfont into ``out`` (IRMAS training layout).

    Writes ``out/<class>/[cls][dru|nod][sftag]NNNN__1.wav`` and ``out/manifest.csv``; returns the
    number of clips. Clip i of (soundfont, class) is drawn from its own RNG seeded by
    (seed, soundfont tag, class, i). FluidSynth keeps a little state between renders, so a re-run
    gives the same recipes (programs, notes, levels, effects) but audio that can differ in the
    last bits; the corpus statistics do not change.
    """
    out = Path(out)
    for cls in CLASSES:
        (out / cls).mkdir(parents=True, exist_ok=True)
    chunk = 25
    jobs = [(str(sf), int(seed), ci, s, min(s + chunk, clips_per_class), str(out))
            for sf in soundfonts for ci in range(len(CLASSES)) for s in range(0, clips_per_class, chunk)]
    rows: list[dict] = []
    if workers <= 1:
        for j in jobs:
            rows += _worker_render(j)
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for k, r in enumerate(ex.map(_worker_render, jobs)):
                rows += r
                if log and (k + 1) % 10 == 0:
                    log(f"corpus: {len(rows)} / {len(jobs) * chunk} clips")
    rows.sort(key=lambda r: r["file"])
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return len(rows)
