"""A dev set of our own: multi-instrument pieces rendered from a soundfont the models never trained
on, with the truth beside each piece.

    .venv/bin/python -m producer.notes.devset --out outputs/devset --pieces 20 --seed 0

Each piece (15-30 s) is made in four steps:

1. A chord sheet: a random key (major or minor), a common progression of diatonic chords, one or
   two chords a bar, a tempo and a groove of MMA (Musical MIDI Accompaniment, Debian ``mma``, GPL)
   in 4/4 or 3/4. MMA turns it into a full accompaniment (drums, bass, chords, arpeggios...).
2. A melody over the chords: a rhythm per bar from common figures, chord tones on strong beats,
   steps of the scale between, on a lead instrument (flute, sax, trumpet, violin, choir...).
3. Instruments: half of the accompaniment's parts are moved to another program of the same
   family (a bass stays a bass), so the timbres vary beyond MMA's defaults.
4. Audio: every part rendered with FluidSynth from MuseScore General (``/usr/share/sounds/sf3``,
   Debian ``musescore-general-soundfont``, MIT), at a random level and pan; the mix goes through
   light effects (pedalboard: high-pass, shelving EQ, compressor, reverb) and is normalised to
   -1 dBFS peak.

Files per piece ``piece_NNN``: ``.wav`` (44.1 kHz stereo, 24 bit), ``.mid`` (every part, as
rendered), ``.mma`` (the chord sheet) and ``.json``, the truth:

    {"tempo": BPM, "time_signature": [n, d], "beats": [s], "downbeats": [s], "duration": s,
     "key": "A minor", "groove": "Waltz", "soundfont": file name,
     "notes": [{"pitch", "onset", "offset", "velocity", "program", "family", "instrument", "part"}],
     "drums": [{"time", "key", "voice", "class", "velocity"}], "parts": [{"name", "program", ...}]}

``instrument`` is the nearest instrument of producer's vocabulary (``producer.instruments``);
``family`` the General MIDI family; a drum hit's ``class`` is kick, snare, hihat, tom, cymbal or
other. Same seed, same files. The audio is generated data: keep it out of git (``outputs/``).
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.constants import GM_KEY_VOICE
from producer.errors import InputError

SOUNDFONTS = ("/usr/share/sounds/sf3/MuseScore_General.sf3", "/usr/share/sounds/sf2/MuseScore_General.sf2")
SR = 44100
MIN_SECONDS, MAX_SECONDS = 15.0, 30.0

# MMA grooves (DefGroove names of its standard library) with a tempo range each (BPM, quarter).
GROOVES_44 = {
    "50sRock": (100, 140), "8Beat": (90, 130), "Ballad": (70, 95), "BasicRock": (100, 140),
    "BossaNova": (110, 140), "Blues": (80, 120), "BubbleRock": (100, 135), "BVFunk": (90, 120),
    "CountrySwing": (110, 150), "Folk": (90, 130), "FolkRock": (100, 135), "JazzRock": (100, 140),
    "PopBallad": (70, 95), "R&B": (80, 110), "Rhumba": (100, 130), "Samba": (100, 130),
    "Ska": (110, 150), "SoftRock": (90, 120), "Swing": (110, 160), "Trance": (120, 140), "Twist": (120, 150),
}
GROOVES_34 = {
    "Waltz": (90, 150), "JazzWaltz": (110, 160), "CountryWaltz": (90, 140), "RockWaltz": (90, 130),
    "FrenchWaltz": (110, 160), "LatinWaltz": (100, 140),
}
SHARE_34 = 0.3

NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Chord on each scale degree (0-based): MMA chord suffix.
MAJOR_CHORDS = ("", "m", "m", "", "7", "m", "m7b5")
MINOR_CHORDS = ("m", "m7b5", "", "m", "7", "", "")
PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 0, 4),
                (0, 0, 3, 4), (5, 4, 3, 4))

GM_FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
               "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive",
               "sound effects")
# Programs a part may move to, by family (program // 8): timbres of the same role.
SWAPS = {0: (0, 1, 2, 4, 5, 6), 1: (8, 9, 10, 11, 12, 13), 2: (16, 17, 18, 19), 3: (24, 25, 26, 27, 28, 29),
         4: (32, 33, 34, 35, 36, 38), 5: (40, 41, 42, 48), 6: (48, 49, 50, 51, 52, 53), 7: (56, 57, 60, 61),
         8: (64, 65, 66, 71), 9: (72, 73, 74, 75)}
LEADS = (73, 71, 65, 66, 56, 40, 68, 11, 80, 52, 4, 22)
DRUM_CLASSES = {"kick": "kick", "snare": "snare", "hihat_closed": "hihat", "hihat_open": "hihat",
                "tom_low": "tom", "tom_mid": "tom", "tom_high": "tom", "crash": "cymbal", "ride": "cymbal"}


def instrument_for_program(program: int) -> str:
    """General MIDI program (0-127) -> the nearest instrument of ``producer.instruments``."""
    fam = program // 8
    if program in (24, 25):
        return "acoustic_guitar"
    if program in (42, 43):
        return "cello"
    if program in (64, 65, 66, 67):
        return "saxophone"
    table = {0: "piano", 1: "piano", 2: "organ", 3: "electric_guitar", 4: "bass", 5: "violin", 6: "violin",
             7: "trumpet", 8: "clarinet", 9: "flute", 10: "flute", 11: "organ", 12: "organ", 13: "acoustic_guitar",
             14: "piano", 15: "piano"}
    if fam == 6 and program in (52, 53, 54):
        return "voice"
    return table[fam]


def find_soundfont() -> Path:
    for p in SOUNDFONTS:
        if Path(p).is_file():
            return Path(p)
    raise InputError("MuseScore General soundfont not found (install the Debian package musescore-general-soundfont)")


@dataclass(frozen=True)
class Sheet:
    key: int
    minor: bool
    tempo: int
    beats_per_bar: int
    groove: str
    bars: int
    chords: list[list[tuple[int, str]]]  # per bar: [(root pitch class, suffix)], 1 or 2 per bar

    def mma(self, seed: int) -> str:
        lines = [f"// producer dev set: {NOTE_NAMES[self.key]} {'minor' if self.minor else 'major'}",
                 f"RndSeed {seed}", f"Tempo {self.tempo}", f"Time {self.beats_per_bar}",
                 f"Timesig {self.beats_per_bar} 4", f"Groove {self.groove}"]
        for i, bar in enumerate(self.chords):
            names = [NOTE_NAMES[r] + s for r, s in bar]
            if len(names) == 1:
                lines.append(f"{i + 1} {names[0]}")
            else:  # the second chord on the bar's middle beat (3 of 4, 3 of 3 for a waltz)
                half = self.beats_per_bar // 2 + (self.beats_per_bar % 2)
                cells = [names[0]] + ["/"] * (half - 1) + [names[1]] + ["/"] * (self.beats_per_bar - half - 1)
                lines.append(f"{i + 1} " + " ".join(cells))
        return "\n".join(lines) + "\n"


def make_sheet(rng: np.random.Generator) -> Sheet:
    triple = rng.random() < SHARE_34
    grooves = GROOVES_34 if triple else GROOVES_44
    groove = sorted(grooves)[int(rng.integers(len(grooves)))]
    lo, hi = grooves[groove]
    tempo = int(rng.integers(lo, hi + 1))
    bpb = 3 if triple else 4
    bar_s = bpb * 60.0 / tempo
    length = rng.uniform(MIN_SECONDS + 1.0, MAX_SECONDS - 2.0)
    bars = int(np.clip(round(length / bar_s), np.ceil((MIN_SECONDS + 0.5) / bar_s), np.floor((MAX_SECONDS - 1.5) / bar_s)))
    key, minor = int(rng.integers(12)), bool(rng.random() < 0.35)
    scale, suffixes = (MINOR, MINOR_CHORDS) if minor else (MAJOR, MAJOR_CHORDS)
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    chords = []
    for b in range(bars):
        deg = prog[b % len(prog)]
        bar = [((key + scale[deg]) % 12, suffixes[deg])]
        if rng.random() < 0.2:
            d2 = prog[(b + 1) % len(prog)]
            bar.append(((key + scale[d2]) % 12, suffixes[d2]))
        chords.append(bar)
    return Sheet(key, minor, tempo, bpb, groove, bars, chords)


FIGURES = {4: ((1, 1, 1, 1), (2, 1, 1), (0.5, 0.5, 1, 2), (1.5, 0.5, 1, 1), (1, 0.5, 0.5, 2), (4,), (2, 2),
               (0.5, 0.5, 0.5, 0.5, 1, 1)),
           3: ((1, 1, 1), (2, 1), (1, 0.5, 0.5, 1), (3,), (0.5, 0.5, 2))}


def make_melody(sheet: Sheet, rng: np.random.Generator) -> list[tuple[int, float, float, int]]:
    """(pitch, onset s, offset s, velocity) of a melody over the sheet's chords."""
    scale = MINOR if sheet.minor else MAJOR
    beat = 60.0 / sheet.tempo
    pitches = [p for p in range(60, 86) if (p - sheet.key) % 12 in scale]
    cur = int(rng.integers(3, len(pitches) - 6))
    notes = []
    for b, bar in enumerate(sheet.chords):
        figure = FIGURES[sheet.beats_per_bar][int(rng.integers(len(FIGURES[sheet.beats_per_bar])))]
        pos = 0.0
        for length in figure:
            chord = bar[0] if pos < sheet.beats_per_bar / 2 or len(bar) == 1 else bar[1]
            if rng.random() < 0.12 and pos > 0:  # a rest
                pos += length
                continue
            if pos == int(pos):  # on a beat: the nearest chord tone
                root = chord[0]
                third = 3 if chord[1].startswith("m") else 4
                tones = {root, (root + third) % 12, (root + 7) % 12}
                near = sorted(range(len(pitches)), key=lambda i: (abs(i - cur), i))
                cur = next(i for i in near if pitches[i] % 12 in tones) if rng.random() < 0.8 else cur
            else:
                cur = int(np.clip(cur + rng.choice([-2, -1, 1, 1, 2]), 0, len(pitches) - 1))
            onset = (b * sheet.beats_per_bar + pos) * beat
            notes.append((pitches[cur], onset, onset + 0.9 * length * beat, int(rng.integers(80, 112))))
            pos += length
    return notes


def build_piece(out: Path, name: str, seed: int, synth) -> dict:
    """Write ``name``.mma/.mid/.wav/.json into ``out`` (an existing folder); returns the truth.

    ``synth`` is a ``SoundFontSynth`` with every sample loaded (dynamic sample loading made
    renders differ from run to run, at -64 dB: a note can start before its sample is in).

    Long because the sheet, MMA's MIDI, the melody, the render, the effects and the truth are one
    piece's recipe, each step reading the ones before it."""
    import pretty_midi
    from pedalboard import (Compressor, HighpassFilter, HighShelfFilter, LowShelfFilter, Pedalboard,
                            Reverb)

    from producer.audio import write_audio
    from producer.soundfont import Note

    rng = np.random.default_rng(seed)
    sheet = make_sheet(rng)
    mma_path, mid_path = out / f"{name}.mma", out / f"{name}.mid"
    mma_path.write_text(sheet.mma(int(rng.integers(1, 10 ** 6))))
    proc = subprocess.run(["mma", "-w", "-f", mid_path.name, mma_path.name], cwd=out,
                          capture_output=True, text=True)
    if proc.returncode != 0 or not mid_path.is_file():
        raise InputError(f"mma failed on {mma_path}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    midi = pretty_midi.PrettyMIDI(str(mid_path))
    bar_s = sheet.beats_per_bar * 60.0 / sheet.tempo
    end = sheet.bars * bar_s
    duration = min(MAX_SECONDS, end + 1.0)  # a second of release after the last bar

    lead = pretty_midi.Instrument(program=int(rng.choice(LEADS)), name="Melody")
    for p, on, off, vel in make_melody(sheet, rng):
        lead.notes.append(pretty_midi.Note(velocity=vel, pitch=p, start=on, end=off))
    midi.instruments.append(lead)
    parts = []
    for inst in midi.instruments:
        if not inst.is_drum and inst.name != "Melody" and rng.random() < 0.5 and inst.program // 8 in SWAPS:
            inst.program = int(rng.choice(SWAPS[inst.program // 8]))
        inst.notes = [n for n in inst.notes if n.start < end]
        for n in inst.notes:
            n.end = min(n.end, duration)
    midi.instruments = [i for i in midi.instruments if i.notes]
    midi.write(str(mid_path))

    mix = np.zeros((2, int(round(duration * SR))), np.float32)
    notes, drums = [], []
    for k, inst in enumerate(midi.instruments):
        role_db = -1.0 if inst.name == "Melody" else (-3.0 if inst.is_drum else -5.0)
        gain = 10 ** ((role_db + rng.uniform(-3, 0)) / 20)
        pan = 0.0 if inst.is_drum or inst.program // 8 == 4 else float(rng.uniform(-0.6, 0.6))
        ns = [Note(int(n.pitch), int(n.velocity), float(n.start), float(n.end)) for n in inst.notes]
        y = synth.render(ns, program=inst.program, drums=inst.is_drum, duration=duration)
        lr = np.array([[np.sqrt(0.5 * (1 - pan))], [np.sqrt(0.5 * (1 + pan))]], np.float32) * np.sqrt(2)
        mix += gain * y[:, :mix.shape[1]] * lr
        part = inst.name or f"part {k}"
        parts.append({"name": part, "program": int(inst.program), "is_drum": bool(inst.is_drum),
                      "gain_db": round(20 * np.log10(gain), 2), "pan": round(pan, 3)})
        for n in inst.notes:
            if inst.is_drum:
                voice = GM_KEY_VOICE.get(int(n.pitch), "other")
                drums.append({"time": round(float(n.start), 5), "key": int(n.pitch), "voice": voice,
                              "class": DRUM_CLASSES.get(voice, "other"), "velocity": int(n.velocity)})
            else:
                notes.append({"pitch": int(n.pitch), "onset": round(float(n.start), 5),
                              "offset": round(float(n.end), 5), "velocity": int(n.velocity),
                              "program": int(inst.program), "family": GM_FAMILIES[inst.program // 8],
                              "instrument": instrument_for_program(int(inst.program)), "part": part})
    board = Pedalboard([
        HighpassFilter(cutoff_frequency_hz=30.0),
        LowShelfFilter(cutoff_frequency_hz=200.0, gain_db=float(rng.uniform(-3, 3))),
        HighShelfFilter(cutoff_frequency_hz=6000.0, gain_db=float(rng.uniform(-3, 3))),
        Compressor(threshold_db=float(rng.uniform(-20, -10)), ratio=float(rng.uniform(2, 4)),
                   attack_ms=10.0, release_ms=150.0),
        Reverb(room_size=float(rng.uniform(0.2, 0.6)), wet_level=float(rng.uniform(0.08, 0.22)),
               dry_level=0.85, width=1.0),
    ])
    mix = board(mix, SR)
    mix *= 10 ** (-1 / 20) / max(float(np.max(np.abs(mix))), 1e-9)
    write_audio(out / f"{name}.wav", mix, SR)

    beat = 60.0 / sheet.tempo
    beats = np.arange(0, int(round(end / beat))) * beat
    truth = {
        "audio": f"{name}.wav", "midi": f"{name}.mid", "sample_rate": SR, "duration": round(duration, 5),
        "tempo": float(sheet.tempo), "time_signature": [sheet.beats_per_bar, 4],
        "beats": [round(float(t), 5) for t in beats],
        "downbeats": [round(float(t), 5) for t in beats[::sheet.beats_per_bar]],
        "key": f"{NOTE_NAMES[sheet.key]} {'minor' if sheet.minor else 'major'}", "groove": sheet.groove,
        "chords": [[NOTE_NAMES[r] + s for r, s in bar] for bar in sheet.chords],
        "soundfont": synth.path.name, "seed": int(seed), "parts": parts,
        "notes": sorted(notes, key=lambda n: (n["onset"], n["pitch"])),
        "drums": sorted(drums, key=lambda d: (d["time"], d["key"])),
    }
    (out / f"{name}.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def build_devset(out: str | Path, *, pieces: int = 20, seed: int = 0, soundfont: str | Path | None = None,
                 progress=None) -> list[Path]:
    """Build ``pieces`` pieces into the folder ``out`` (created; files of the same names replaced).

    Piece i uses the seed ``seed * 1000 + i``. Returns the truth JSON paths; ``out/index.json`` lists
    them with the settings."""
    import shutil

    if shutil.which("mma") is None:
        raise InputError("mma not found (install the Debian package mma)")
    if not 1 <= int(pieces) <= 1000:
        raise InputError(f"--pieces: {pieces} is outside 1-1000")
    sf = Path(soundfont) if soundfont else find_soundfont()
    if not sf.is_file():
        raise InputError(f"{sf}: soundfont not found")
    from producer.soundfont import SoundFontSynth

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    # One synth for the whole set (loading MuseScore General takes ~15 s): piece i depends on the
    # pieces before it only through FluidSynth's dither position, so a piece is bit-identical when
    # the same seed builds the same number of pieces before it.
    synth = SoundFontSynth(sf, sr=SR)
    try:
        for i in range(int(pieces)):
            name = f"piece_{i:03d}"
            truth = build_piece(out, name, int(seed) * 1000 + i, synth)
            paths.append(out / f"{name}.json")
            if progress:
                progress(i, truth)
    finally:
        synth.close()
    (out / "index.json").write_text(json.dumps({"pieces": [p.name for p in paths], "seed": int(seed),
                                                "soundfont": str(sf)}, indent=1) + "\n")
    return paths


def load_piece(path: str | Path) -> dict:
    """A piece's truth (its JSON) with ``"audio_path"`` resolved beside it."""
    path = Path(path)
    truth = json.loads(path.read_text())
    truth["audio_path"] = str(path.parent / truth["audio"])
    return truth


def main(argv=None) -> None:
    import argparse
    import sys
    import time

    ap = argparse.ArgumentParser(prog="python -m producer.notes.devset", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the pieces (e.g. outputs/devset)")
    ap.add_argument("--pieces", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--soundfont", help="sf2/sf3 to render with (default: MuseScore General)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    def show(i, truth):
        print(f"{truth['audio']}: {truth['groove']} {truth['tempo']:g} BPM "
              f"{truth['time_signature'][0]}/{truth['time_signature'][1]} {truth['key']}, {truth['duration']:.1f} s, "
              f"{len(truth['notes'])} notes, {len(truth['drums'])} drum hits "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)

    try:
        build_devset(args.out, pieces=args.pieces, seed=args.seed, soundfont=args.soundfont, progress=show)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
