"""Training music for the note model, made here: MMA accompaniments + generated melodies rendered
with the TRAINING soundfonts only (FluidR3_GM and TimGM6mb), never MuseScore General (the dev
set's held-out soundfont).

    nice -n 10 .venv/bin/python -m producer.notes.data --out outputs/notes-train --pieces 240 --seed 1

Each piece is made by the dev set's own machinery (``producer.notes.devset``: chord sheet ->
``mma`` -> MIDI, a melody over the chords, half of the parts moved to another program of their
family) from seeds the dev set never uses (``SEED_BASE + seed * 100_000 + i``; the dev set uses
``seed * 1000 + i`` with small seeds), then:

- rendered part by part at 32 kHz with one of the training soundfonts (alternating per piece),
  at a random level (-12 to 0 dB) and pan; with probability 0.3 a piece keeps only a random
  subset of its parts (sparse textures: a melody alone, drums and bass...);
- effect augmentation on the mix (pedalboard, each with its own probability): high-pass, low and
  high shelf EQ (+-6 dB), compressor, saturation (distortion 0-12 dB drive), reverb, a little
  noise; normalised to a random peak of -1 to -6 dBFS;
- stored mono at 16 kHz (``producer.notes.model.SR``) as int16 in ``piece_NNNN.npz`` beside the
  truth from the MIDI: ``notes`` [shape=(n, 5)] (pitch, onset s, offset s, velocity, program) and
  ``drums`` [shape=(m, 3)] (time s, class index in ``DRUM_CLASSES``, velocity).

Generated audio is data: it stays out of git (``outputs/`` is ignored). Same seed, same files
(up to FluidSynth's dither, see ``producer.notes.devset.build_devset``).
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from producer.errors import InputError
from producer.notes.model import DRUM_CLASSES, SR

TRAIN_SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "TimGM6mb.sf2")  # the second from pretty_midi
SEED_BASE = 7_000_000
RENDER_SR = 32000


def soundfont_paths() -> list[Path]:
    """The training soundfonts' files (TimGM6mb ships inside the pretty_midi package)."""
    import pretty_midi

    paths = [Path(TRAIN_SOUNDFONTS[0]), Path(pretty_midi.__file__).parent / TRAIN_SOUNDFONTS[1]]
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: training soundfont not found (Debian fluid-soundfont-gm; pip pretty_midi)")
    return paths


def drum_class(key: int) -> int:
    """GM percussion key -> index in DRUM_CLASSES, or -1 for other percussion."""
    from producer.constants import GM_KEY_VOICE
    from producer.notes.devset import DRUM_CLASSES as VOICE_CLASS

    cls = VOICE_CLASS.get(GM_KEY_VOICE.get(int(key), ""), "other")
    return DRUM_CLASSES.index(cls) if cls in DRUM_CLASSES else -1


def _augment(mix: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    from pedalboard import (Compressor, Distortion, Gain, HighpassFilter, HighShelfFilter, LowShelfFilter,
                            Pedalboard, Reverb)

    chain = []
    if rng.random() < 0.7:
        chain.append(HighpassFilter(cutoff_frequency_hz=float(rng.uniform(20, 120))))
    if rng.random() < 0.8:
        chain.append(LowShelfFilter(cutoff_frequency_hz=float(rng.uniform(100, 400)), gain_db=float(rng.uniform(-6, 6))))
    if rng.random() < 0.8:
        chain.append(HighShelfFilter(cutoff_frequency_hz=float(rng.uniform(3000, 9000)), gain_db=float(rng.uniform(-6, 6))))
    if rng.random() < 0.6:
        chain.append(Compressor(threshold_db=float(rng.uniform(-24, -8)), ratio=float(rng.uniform(1.5, 5)),
                                attack_ms=float(rng.uniform(3, 30)), release_ms=float(rng.uniform(60, 300))))
    if rng.random() < 0.25:
        chain += [Gain(gain_db=-6.0), Distortion(drive_db=float(rng.uniform(0, 12)))]
    if rng.random() < 0.8:
        chain.append(Reverb(room_size=float(rng.uniform(0.1, 0.8)), wet_level=float(rng.uniform(0.03, 0.3)),
                            dry_level=float(rng.uniform(0.7, 1.0)), width=1.0))
    if chain:
        mix = Pedalboard(chain)(mix.astype(np.float32), sr)
    if rng.random() < 0.3:
        mix = mix + rng.normal(0, 10 ** (rng.uniform(-70, -45) / 20), mix.shape).astype(np.float32)
    return mix


def build_piece(out: Path, name: str, seed: int, synth, work: Path) -> dict:
    """Render one training piece into ``out/name.npz``; returns a summary dict.

    Long because the chord sheet, MMA's MIDI, the melody, the program swaps, the render and the
    truth frames are one piece's recipe, each step reading the ones before it."""
    import pretty_midi
    from scipy.signal import resample_poly

    from producer.notes.devset import LEADS, MAX_SECONDS, SWAPS, make_melody, make_sheet
    from producer.soundfont import Note

    rng = np.random.default_rng(seed)
    sheet = make_sheet(rng)
    mma_path, mid_path = work / f"{name}.mma", work / f"{name}.mid"
    mma_path.write_text(sheet.mma(int(rng.integers(1, 10 ** 6))))
    proc = subprocess.run(["mma", "-w", "-f", mid_path.name, mma_path.name], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0 or not mid_path.is_file():
        raise InputError(f"mma failed on {mma_path}")
    midi = pretty_midi.PrettyMIDI(str(mid_path))
    end = sheet.bars * sheet.beats_per_bar * 60.0 / sheet.tempo
    duration = min(MAX_SECONDS, end + 1.0)
    lead = pretty_midi.Instrument(program=int(rng.choice(LEADS)), name="Melody")
    for p, on, off, vel in make_melody(sheet, rng):
        lead.notes.append(pretty_midi.Note(velocity=vel, pitch=p, start=on, end=off))
    midi.instruments.append(lead)
    insts = []
    for inst in midi.instruments:
        if not inst.is_drum and inst.name != "Melody" and rng.random() < 0.5 and inst.program // 8 in SWAPS:
            inst.program = int(rng.choice(SWAPS[inst.program // 8]))
        if not inst.is_drum and rng.random() < 0.15:  # beyond the dev set's swaps: any melodic program
            inst.program = int(rng.integers(0, 96))
        inst.notes = [n for n in inst.notes if n.start < end and (inst.is_drum or 21 <= n.pitch <= 108)]
        for n in inst.notes:
            n.end = min(n.end, duration)
        if inst.notes:
            insts.append(inst)
    if rng.random() < 0.3 and len(insts) > 1:  # a sparse texture
        keep = rng.random(len(insts)) < 0.5
        keep[int(rng.integers(len(insts)))] = True
        insts = [i for i, k in zip(insts, keep) if k]

    n_out = int(round(duration * RENDER_SR))
    mix = np.zeros((2, n_out), np.float32)
    notes, drums = [], []
    for inst in insts:
        gain = 10 ** (rng.uniform(-12, 0) / 20)
        pan = float(rng.uniform(-0.7, 0.7))
        ns = [Note(int(n.pitch), int(n.velocity), float(n.start), float(n.end)) for n in inst.notes]
        y = synth.render(ns, program=inst.program, drums=inst.is_drum, duration=duration)
        lr = np.array([[np.sqrt(0.5 * (1 - pan))], [np.sqrt(0.5 * (1 + pan))]], np.float32) * np.sqrt(2)
        mix += gain * y[:, :n_out] * lr
        for n in inst.notes:
            if inst.is_drum:
                c = drum_class(n.pitch)
                if c >= 0:
                    drums.append((n.start, c, n.velocity))
            else:
                notes.append((n.pitch, n.start, n.end, n.velocity, inst.program))
    mix = _augment(mix, RENDER_SR, rng)
    mono = resample_poly(mix.mean(axis=0), SR, RENDER_SR)
    mono *= 10 ** (-rng.uniform(1, 6) / 20) / max(float(np.max(np.abs(mono))), 1e-9)
    notes_a = np.array(sorted(notes, key=lambda n: (n[1], n[0])), np.float32).reshape(-1, 5)
    drums_a = np.array(sorted(drums), np.float32).reshape(-1, 3)
    np.savez_compressed(out / f"{name}.npz", audio=np.round(mono * 32767).astype(np.int16), sr=np.int32(SR),
                        notes=notes_a, drums=drums_a)
    return {"name": name, "seed": int(seed), "soundfont": synth.path.name, "duration": round(duration, 3),
            "tempo": sheet.tempo, "groove": sheet.groove, "notes": len(notes_a), "drums": len(drums_a)}


def build_training_set(out: str | Path, *, pieces: int = 240, seed: int = 1, start: int = 0, progress=None) -> list[dict]:
    """Build pieces ``start .. start + pieces - 1`` into ``out``; piece i alternates soundfonts (i % 2).
    Writes ``out/index-<start>.json`` listing them."""
    import shutil

    from producer.soundfont import SoundFontSynth

    if shutil.which("mma") is None:
        raise InputError("mma not found (install the Debian package mma)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sfs = soundfont_paths()
    synths = [SoundFontSynth(p, sr=RENDER_SR) for p in sfs]
    rows = []
    try:
        with tempfile.TemporaryDirectory() as work:
            for i in range(int(start), int(start) + int(pieces)):
                row = build_piece(out, f"piece_{i:04d}", SEED_BASE + int(seed) * 100_000 + i, synths[i % 2], Path(work))
                rows.append(row)
                if progress:
                    progress(row)
    finally:
        for s in synths:
            s.close()
    (out / f"index-{int(start)}.json").write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def load_set(folder: str | Path, *, last: int | None = None) -> list[dict]:
    """Every ``piece_*.npz`` of a folder (or the ``last`` ones, in name order) as dicts: audio
    float32 [shape=(n,)] at SR, notes, drums."""
    items = []
    paths = sorted(Path(folder).glob("piece_*.npz"))
    for p in paths[-last:] if last else paths:
        with np.load(p) as z:
            items.append({"name": p.stem, "audio": z["audio"].astype(np.float32) / 32767.0,
                          "notes": z["notes"], "drums": z["drums"]})
    return items


def main(argv=None) -> None:
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m producer.notes.data", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--pieces", type=int, default=240)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="index of the first piece (to build a set in parts)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    build_training_set(args.out, pieces=args.pieces, seed=args.seed, start=args.start,
                       progress=lambda r: print(json.dumps(r), f"{time.perf_counter() - t0:.0f}s", flush=True))


if __name__ == "__main__":
    main()
