"""The kick a part answers: from pattern text, a MIDI file or audio, on a meter's step grid.

Every reader returns levels uint8 [shape=(bars * steps_per_bar,)]: 0 rest, 1 hit, 2 accent.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producer.drums.corpus import METERS
from producer.drums.patterns import ACCENT, HIT, parse_pattern
from producer.errors import InputError

# General MIDI percussion keys that count as a kick drum (Acoustic Bass Drum, Bass Drum 1).
KICK_NOTES = (35, 36)
AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")
MIDI_SUFFIXES = (".mid", ".midi")
# Kick band of the audio reader (Hz) and how loud a low-band onset must be against the loudest
# one (dB) to count as a kick rather than bleed from a bass line or a tom.
KICK_BAND_HZ = 150.0
KICK_FLOOR_DB = -20.0
MAX_AUDIO_S = 600.0


@dataclass
class Kick:
    """A kick on a grid: ``levels`` uint8 [shape=(bars * steps_per_bar,)], where it came from,
    and the tempo found in audio (None for text and MIDI)."""

    levels: np.ndarray
    source: str
    bpm: float | None = None


def read_kick(text: str, *, meter: str = "4/4") -> Kick:
    """``--kick`` value -> Kick: a ``.mid`` file, an audio file, or pattern text."""
    if meter not in METERS:
        raise InputError(f"--meter {meter}: not supported (choose from {', '.join(METERS)})")
    low = text.lower()
    if low.endswith(MIDI_SUFFIXES):
        return Kick(kick_from_midi(text, meter=meter), "midi")
    if low.endswith(AUDIO_SUFFIXES):
        levels, bpm = kick_from_audio(text, meter=meter)
        return Kick(levels, "audio", bpm)
    levels = parse_pattern(text, name="--kick")
    steps_per_bar = METERS[meter][0]
    if len(levels) > MAX_KICK_BARS * steps_per_bar:
        raise InputError(f"--kick: {len(levels)} steps, over the limit of {MAX_KICK_BARS} bars "
                         f"({MAX_KICK_BARS * steps_per_bar} steps in {meter})")
    return Kick(levels, "pattern")


# A kick pattern longer than this is refused: parts are at most 16 bars, and a longer kick would
# only be cut (its parsing and grids grow with its length).
MAX_KICK_BARS = 64


def kick_from_midi(path: str | os.PathLike, *, meter: str = "4/4") -> np.ndarray:
    """Quantise the kick notes (GM 35/36) of a MIDI file to the meter's step grid.

    Velocity >= 100 becomes an accent; the length is rounded up to whole bars. Raises InputError
    when the file is missing, unreadable or holds no kick.
    """
    import mido

    path = Path(path)
    if not path.is_file():
        raise InputError(f"--kick {path}: no such MIDI file")
    try:
        mid = mido.MidiFile(str(path))
    except Exception as exc:  # mido raises several types for corrupt files
        raise InputError(f"--kick {path}: not a readable MIDI file ({exc})") from None
    steps_per_bar, quarters_per_step = METERS[meter]
    ticks_per_step = mid.ticks_per_beat * quarters_per_step
    onsets: list[tuple[int, int]] = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.note in KICK_NOTES:
                onsets.append((int(round(tick / ticks_per_step)), msg.velocity))
    if not onsets:
        raise InputError(f"--kick {path}: no kick notes (GM 35 or 36) in the file")
    return _grid(onsets, steps_per_bar)


def _grid(onsets: list[tuple[int, int]], steps_per_bar: int) -> np.ndarray:
    last = max(step for step, _ in onsets)
    out = np.zeros((last // steps_per_bar + 1) * steps_per_bar, np.uint8)
    for step, vel in onsets:
        out[step] = max(out[step], ACCENT if vel >= 100 else HIT)
    return out


def kick_from_audio(path: str | os.PathLike, *, meter: str = "4/4",
                    max_bars: int = 16) -> tuple[np.ndarray, float]:
    """Kick onsets of a drum loop or a song placed on the grid at the detected tempo.

    The signal's band below KICK_BAND_HZ gives an RMS envelope (6 ms hops); peaks of its rise
    are onsets, and those within KICK_FLOOR_DB of the loudest one are kicks. librosa's beat
    tracker gives the tempo (quarter notes per minute); the first kick starts bar 1 (a loop
    starts on its downbeat). The
    strongest onsets (top fifth by low-band level) become accents. Returns (levels, bpm);
    at most ``max_bars`` bars. Raises InputError for unreadable audio or no kick.
    """
    import librosa
    from scipy.signal import butter, sosfiltfilt

    from producer.audio import load_audio

    y, sr = load_audio(path, mono=True, max_duration=MAX_AUDIO_S)
    if len(y) < sr // 4:
        raise InputError(f"--kick {path}: audio is shorter than a quarter of a second")
    sos = butter(4, KICK_BAND_HZ, btype="low", fs=sr, output="sos")
    # Silence in front, so a kick on the very first sample still rises from nothing.
    pad = 1024
    low = np.concatenate([np.zeros(pad), sosfiltfilt(sos, y)])
    hop, frame = 128, 512
    rms = librosa.feature.rms(y=low, frame_length=frame, hop_length=hop,
                              center=False)[0].astype(np.float64)
    rise = np.maximum(0.0, np.diff(rms, prepend=0.0))
    full = float(np.max(np.abs(y))) or 1.0
    frames = np.zeros(0, int)
    if rise.max() > 0:
        frames = librosa.util.peak_pick(rise, pre_max=3, post_max=3, pre_avg=8, post_avg=8,
                                        delta=float(0.1 * rise.max()),
                                        wait=int(0.06 * sr / hop))
    if len(frames):
        # Level of each onset: the low band's peak RMS in the 50 ms after it.
        span = max(1, int(0.05 * sr / hop))
        level = np.array([rms[f:f + span].max() for f in frames])
        loud = level.max()
        keep = (level >= loud * 10 ** (KICK_FLOOR_DB / 20)) & (loud >= 0.02 * full)
        frames, level = frames[keep], level[keep]
    if len(frames) == 0:
        raise InputError(f"--kick {path}: no kick found (no onsets below {KICK_BAND_HZ:g} Hz)")
    tempo, _ = librosa.beat.beat_track(y=y, sr=sr, hop_length=256, units="time")
    bpm = float(np.atleast_1d(tempo)[0])
    if not 40 <= bpm <= 250:
        raise InputError(f"--kick {path}: no steady tempo found ({bpm:.0f} bpm)")
    steps_per_bar, quarters_per_step = METERS[meter]
    step_s = 60.0 / bpm * quarters_per_step
    times = (frames * hop + frame // 2 - pad) / sr
    origin = float(times[0])
    steps = np.round((times - origin) / step_s).astype(int)
    steps = steps[steps < max_bars * steps_per_bar]
    accent = np.quantile(level, 0.8) if len(level) > 4 else np.inf
    onsets = [(int(s), 100 if lv >= accent else 90) for s, lv in zip(steps, level)]
    return _grid(onsets, steps_per_bar), round(bpm, 2)
