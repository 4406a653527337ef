"""Building the default sample library (``samples/``) from a General MIDI soundfont.

Every pitched instrument of :data:`producer.instruments.INSTRUMENTS` gets one-shots at roots spaced
``every`` semitones across its playable range (plus the top note when the spacing leaves it more
than two semitones from a root), so that with ``every=4`` every semitone of the range is within two
semitones of a shipped root: the renderer resamples the nearest root like a sampler. The drum kit
gets one one-shot per :data:`producer.instruments.DRUM_KIT` entry.

The build is reproducible: the same soundfont and options give byte-identical files. FluidSynth's
output depends on its history (dither position, LFO phases), so each note is rendered by a fresh
synth; the manifest holds no timestamps.

Build in a fresh process (the CLI does): a process that has already rendered with DawDreamer
leaves the floating-point state changed, and FluidSynth then renders the quietest tail samples
differently, so an in-process build after a render is not byte-identical to the shipped pack.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.errors import InputError, SampleError
from producer.instruments import DRUM_KIT, INSTRUMENTS, note_name
from producer.weights import sha256_of

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SR = 44100
VELOCITY = 100
HOLD_S = 1.75  # pitched notes: key held this long, then released
DRUM_HOLD_S = 0.25  # drums mostly ignore note-off; this only bounds the event
TAIL_S = 2.0  # rendered after the release, before trimming
PEAK_DBFS = -6.0  # every sample is peak-normalised to this, so loudness is comparable
TRIM_DB = -60.0  # trailing audio quieter than this (relative to the peak) is cut
FADE_S = 0.02  # fade at the cut so it does not click
LONG_FADE_S = 0.25  # when a note still rings at the end of the render window, fade it out gently
SYNTH_GAIN = 1.5  # loudest note renders at about 0.72 peak: no clipping, 9.5 dB above the default's quantisation floor
DEFAULT_EVERY = 4
MAX_SHIFT = 2  # what the renderer may resample a root by (Library.nearest's default)

PITCHED = tuple(name for name, inst in INSTRUMENTS.items() if not inst.is_drums)

# Credit text required by the MIT licence of FluidR3_GM (from /usr/share/doc/fluid-soundfont-gm/copyright).
FLUID_LICENCE = "MIT"
FLUID_CREDIT = "FluidR3_GM soundfont, Copyright (c) 2000-2002, 2008 Frank Wen; Copyright (c) 2008 Toby Smithe"
MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


@dataclass(frozen=True)
class PlannedSample:
    id: str
    file: str  # relative to the library folder
    instrument: str
    pitch: int  # root MIDI note, or GM drum note
    program: int
    drums: bool


def root_notes(low: int, high: int, every: int = DEFAULT_EVERY) -> list[int]:
    """Roots in [low, high]: ``low + every//2``, then every ``every`` semitones; ``high`` is added
    when the last root is more than ``MAX_SHIFT`` below it."""
    if every < 1:
        raise SampleError(f"every must be at least 1 semitone, given {every}")
    first = min(low + every // 2, high)
    roots = list(range(first, high + 1, every))
    if high - roots[-1] > MAX_SHIFT:
        roots.append(high)
    return roots


def plan(instruments: list[str] | None = None, *, every: int = DEFAULT_EVERY) -> list[PlannedSample]:
    """The samples a build writes, in manifest order. ``instruments`` defaults to all (drums included)."""
    names = list(instruments) if instruments else [*PITCHED, "drums"]
    unknown = [n for n in names if n not in INSTRUMENTS]
    if unknown:
        raise SampleError(f"unknown instrument(s) {', '.join(unknown)}; known: {', '.join(INSTRUMENTS)}")
    out: list[PlannedSample] = []
    for name in names:
        inst = INSTRUMENTS[name]
        if inst.is_drums:
            for drum, note in DRUM_KIT.items():
                out.append(PlannedSample(f"drums/{drum}", f"drums/{drum}.flac", "drums", note, 0, True))
            continue
        for pitch in root_notes(inst.low, inst.high, every):
            nn = note_name(pitch)
            # '#' is legal in file names but awkward in shells and URLs.
            out.append(PlannedSample(f"{name}/{nn}", f"{name}/{name}_{nn.replace('#', 's')}.flac",
                                     name, pitch, inst.gm_program, False))
    return out


def render_one(soundfont: Path, item: PlannedSample, *, sr: int = SR) -> np.ndarray:
    """Render, trim, fade and normalise one sample; mono float32 [shape=(n,)], peak PEAK_DBFS."""
    from producer.soundfont import Note, SoundFontSynth

    # Fresh per note (see the module docstring); dynamic loading reads only this preset's samples,
    # which makes a fresh synth cheap. Its output is identical to a fully loaded soundfont's.
    synth = SoundFontSynth(soundfont, sr=sr, gain=SYNTH_GAIN, settings={"synth.dynamic-sample-loading": 1})
    try:
        hold = DRUM_HOLD_S if item.drums else HOLD_S
        y = synth.render([Note(item.pitch, VELOCITY, 0.0, hold)], program=item.program,
                         drums=item.drums, duration=hold + TAIL_S)
    finally:
        synth.close()
    y = y.mean(axis=0)
    return finish(y, sr, name=item.id)


def finish(y: np.ndarray, sr: int, *, name: str = "sample") -> np.ndarray:
    """Trim trailing audio below TRIM_DB re peak, fade the end, normalise to PEAK_DBFS."""
    y = np.asarray(y, dtype=np.float64)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= 1e-6:
        raise SampleError(f"{name}: the soundfont rendered silence")
    loud = np.flatnonzero(np.abs(y) >= peak * 10 ** (TRIM_DB / 20))
    end = min(len(y), int(loud[-1]) + 1 + int(0.005 * sr))
    fade_s = FADE_S if end < len(y) else LONG_FADE_S
    y = y[:end].copy()
    fade = min(int(fade_s * sr), len(y))
    y[len(y) - fade:] *= np.linspace(1.0, 0.0, fade)
    y *= 10 ** (PEAK_DBFS / 20) / peak
    return y.astype(np.float32)


def _preset_names(soundfont: Path) -> dict[tuple[int, int], str]:
    import fluidsynth

    synth = fluidsynth.Synth()
    try:
        sfid = synth.sfload(str(soundfont))
        names = {}
        for bank, program in {(128 if i.is_drums else 0, 0 if i.is_drums else i.gm_program) for i in INSTRUMENTS.values()}:
            name = synth.sfpreset_name(sfid, bank, program)
            names[(bank, program)] = name or f"bank {bank} program {program}"
        return names
    finally:
        synth.delete()


def build_command(instruments: list[str] | None, every: int) -> str:
    cmd = "producer samples build --force"
    if instruments:
        cmd += " --instruments " + ",".join(instruments)
    if every != DEFAULT_EVERY:
        cmd += f" --every {every}"
    return cmd


def build(
    out: str | os.PathLike,
    *,
    soundfont: str | os.PathLike = DEFAULT_SOUNDFONT,
    instruments: list[str] | None = None,
    every: int = DEFAULT_EVERY,
    force: bool = False,
    progress=None,
) -> dict:
    """Build a sample library into ``out`` (staged: ``out`` changes only when all is written).

    Returns the manifest written. ``progress(i, n, sample_id)`` is called before each sample.
    Long because checking, rendering every note and writing the manifest happen in one staged
    folder, and the loop's per-sample trimming and levels feed the manifest directly.
    """
    from producer.audio import rms_dbfs, write_audio
    from producer.output import check_output_dir, staged_output

    soundfont = Path(soundfont)
    if not soundfont.is_file():
        raise InputError(f"{soundfont}: soundfont not found (Debian: apt install fluid-soundfont-gm, "
                         "or give --soundfont PATH)")
    items = plan(instruments, every=every)
    check_output_dir(out, force=force)  # fail before minutes of rendering, not after
    presets = _preset_names(soundfont)
    is_fluid = soundfont.name == "FluidR3_GM.sf2"
    licence = FLUID_LICENCE if is_fluid else "see the soundfont's licence"
    entries = []
    with staged_output(out, force=force) as stage:
        for i, item in enumerate(items):
            if progress:
                progress(i, len(items), item.id)
            y = render_one(soundfont, item)
            path = stage / item.file
            path.parent.mkdir(parents=True, exist_ok=True)
            write_audio(path, y, SR, subtype="PCM_16")
            bank = 128 if item.drums else 0
            preset = presets.get((bank, item.program), "")
            entries.append({
                "id": item.id,
                "file": item.file,
                "instrument": item.instrument,
                "pitch": item.pitch,
                "duration": round(len(y) / SR, 4),
                "loudness_db": round(rms_dbfs(y), 2),
                "source": f"{soundfont.name} bank {bank} program {item.program} ({preset}), velocity {VELOCITY}",
                "licence": licence,
            })
        manifest = {
            "format": "producer-samples",
            "version": 1,
            "source": {
                "soundfont": soundfont.name,
                "sha256": sha256_of(soundfont),
                "credit": FLUID_CREDIT if is_fluid else "",
                "licence": licence,
            },
            "build": {
                "command": build_command(instruments, every),
                "sample_rate": SR, "velocity": VELOCITY, "hold_s": HOLD_S, "drum_hold_s": DRUM_HOLD_S,
                "peak_dbfs": PEAK_DBFS, "trim_db": TRIM_DB, "every": every,
            },
            "samples": entries,
        }
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        (stage / "README.md").write_text(readme(manifest))
    return manifest


def readme(manifest: dict) -> str:
    src = manifest["source"]
    b = manifest["build"]
    counts: dict[str, list[int]] = {}
    for e in manifest["samples"]:
        counts.setdefault(e["instrument"], []).append(e["pitch"])
    rows = "\n".join(
        f"| {name} | {len(p)} | "
        + (", ".join(DRUM_KIT) if name == "drums" else f"{note_name(min(p))}–{note_name(max(p))}") + " |"
        for name, p in counts.items()
    )
    credit = f"\n{src['credit']}\n\n{MIT_TEXT}\n" if src["credit"] else ""
    return f"""# The default sample library

One-shot samples used by `producer` to render projects: {len(manifest['samples'])} samples, mono,
{b['sample_rate']} Hz, 16-bit FLAC. `manifest.json` lists each sample's id, file, instrument, root
pitch (MIDI; for drums the General MIDI drum note), duration (s), loudness (RMS dBFS), source and
licence. `producer samples list` summarises it.

| instrument | samples | roots (drums: kit pieces, General MIDI notes) |
|---|---|---|
{rows}

Pitched roots are {b['every']} semitones apart (plus the top of the range), so every note of an
instrument's playable range (`producer/instruments.py`) is within two semitones of a root; the
renderer resamples the nearest root.

## How it was made

Rendered offline with FluidSynth from `{src['soundfont']}` (Debian package `fluid-soundfont-gm`; sha256
`{src['sha256']}`), synth reverb and chorus off, velocity {b['velocity']}. Pitched notes are held
{b['hold_s']} s and then released; drum hits are triggered for {b['drum_hold_s']} s. Each sample is
mixed to mono, trimmed where its tail falls below {b['trim_db']:g} dB re its peak, faded over the last
20 ms (250 ms where it still rings at the end of the 2 s render window after release) and
peak-normalised to {b['peak_dbfs']:g} dBFS. The build is reproducible: the same soundfont gives
byte-identical files. To rebuild, from the repository root:

    {b['command']}

(`--soundfont PATH` for another soundfont; `--out DIR` to write elsewhere.)

## Licence

The samples are derived from the FluidR3_GM soundfont by Frank Wen, released under the MIT licence
(licence: {src['licence']}).
{credit}"""
