"""Target analysis: what the planner tries to rebuild, measured once before the search.

``load_target`` reads and validates the input (any file soundfile or pedalboard reads, any rate,
mono or stereo); ``analyze`` turns mono audio at 22,050 Hz into the features the reward and the
candidate ranking need: onsets and tempo, 1 s segment embeddings, frame chroma and power, and
the embedding of the second after each onset.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from producer.audio import db_to_gain
from producer.errors import InputError
from producer.planner import features as F

# Inputs whose peak is below this are treated as silence (nothing to recreate).
SILENCE_PEAK_DBFS = -60.0
# Default --max-duration (s): the reward arrays and the search budget grow with the length; ten
# minutes keeps analysis under a minute on 2 cores.
MAX_DURATION = 600.0


@dataclass(frozen=True)
class Target:
    """Features of the target on the planner's grid (see ``producer.planner.features``).

    y : float32 [shape=(n,)] mono at ``sr`` (22,050 Hz).
    onsets : float64 [shape=(k,)] detected onset times (s), ascending; the cursor grid.
    windows : int [shape=(T,)] start second of each reward window.
    seg_emb : [shape=(S, D)] unit embeddings of the 1 s segments; seg_db [shape=(S,)] their power.
    frame_chroma : [shape=(Fr, 12)] raw chroma power; frame_db [shape=(Fr,)] frame power (dB);
        frame_mel [shape=(Fr, 64)] mel-band power.
    onset_emb : [shape=(k, D)] embedding of the 1 s after each onset (ranks insert candidates).
    """

    y: np.ndarray
    sr: int
    duration: float
    onsets: np.ndarray
    tempo: float
    window_seconds: int
    hop_seconds: int
    windows: np.ndarray
    seg_emb: np.ndarray
    seg_db: np.ndarray
    frame_chroma: np.ndarray
    frame_db: np.ndarray
    frame_mel: np.ndarray
    onset_emb: np.ndarray
    peak_db: float  # loudest frame (dB); silence thresholds are relative to it
    # The song's time (``producer.rhythm``): beats and downbeats (s) [shape=(b,)], [shape=(d,)];
    # ``tempo`` above is quarter notes per minute, what the project and its exports carry.
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    time_signature: tuple[int, int] = (4, 4)
    # The whole input's length (s) when a small budget had only its first ``duration`` s analysed
    # (``producer.planner.budget``); None when the whole input was.
    input_duration: float | None = None

    def keep_onsets(self, keep: np.ndarray) -> "Target":
        """The same target with only the onsets where ``keep`` [shape=(k,)] is true."""
        from dataclasses import replace

        return replace(self, onsets=self.onsets[keep], onset_emb=self.onset_emb[keep])

    @property
    def n_segments(self) -> int:
        return self.seg_emb.shape[0]

    @property
    def n_frames(self) -> int:
        return self.frame_db.shape[0]


def load_target(path: str | os.PathLike, *, max_duration: float = MAX_DURATION,
                window_seconds: float = 3.0) -> tuple[np.ndarray, int]:
    """Read and validate a target file before any search work.

    Returns (y float32 [shape=(channels, n)] at the file's rate, sr). Raises InputError for a
    missing file, not audio, NaN/inf samples, longer than ``max_duration`` s, shorter than one
    reward window, or silence (peak below -60 dBFS).
    """
    from producer.audio import load_audio

    y, sr = load_audio(path, max_duration=max_duration)
    duration = y.shape[1] / sr
    if duration < window_seconds:
        raise InputError(f"{path}: audio is {duration:.2f} s long, shorter than one reward window "
                         f"({window_seconds:g} s)")
    peak = float(np.max(np.abs(y)))
    if peak <= db_to_gain(SILENCE_PEAK_DBFS):
        peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
        raise InputError(f"{path}: audio is silent (peak {peak_db:.1f} dBFS, below {SILENCE_PEAK_DBFS:g} dBFS)")
    return y, sr


def to_planner_rate(y: np.ndarray, sr: int) -> np.ndarray:
    """Any-rate mono or (channels, n) audio -> float32 mono at 22,050 Hz [shape=(n,)]."""
    from producer.audio import resample, to_mono

    return resample(to_mono(y), sr, F.SR) if sr != F.SR else to_mono(y)


ONSET_HOP = 256  # onset detection's hop (11.6 ms)


def warm_up() -> None:
    """Import what the analysis calls: librosa's onset, beat and feature modules load their
    compiled numba kernels on import (2-4 s on 2 busy cores). A run with a wall-clock budget
    pays this first, so that the time left is known when it chooses how much to analyse."""
    import librosa.beat  # noqa: F401
    import librosa.feature  # noqa: F401
    import librosa.onset  # noqa: F401


def detect_onsets(y: np.ndarray, sr: int = F.SR, *, delta: float = 0.04) -> tuple[np.ndarray, float]:
    """Onset times (s) and tempo (BPM) of mono ``y``: ``onset_times`` and librosa's tempo estimate
    from the same envelope (the planner takes its tempo from ``producer.rhythm`` instead)."""
    import librosa

    onsets, env = _onsets(y, sr, delta)
    try:
        tempo = float(np.atleast_1d(librosa.feature.rhythm.tempo(onset_envelope=env, sr=sr, hop_length=ONSET_HOP))[0])
    except Exception:  # pragma: no cover - librosa fails only on degenerate envelopes
        tempo = 120.0
    if not np.isfinite(tempo) or not 20.0 <= tempo <= 400.0:
        tempo = 120.0
    return onsets, tempo


def onset_times(y: np.ndarray, sr: int = F.SR, *, delta: float = 0.04) -> np.ndarray:
    """Onset times (s) of mono ``y`` [shape=(k,)], ascending.

    Spectral-flux peaks (hop 256, 11.6 ms; a low threshold, since soft attacks under louder notes
    are easy to miss and a spare cursor position costs only a hold), each refined to the steepest
    rise (the first at least half the steepest) of the 3 ms log-energy envelope between the flux
    minimum before the peak and the peak: peak picking alone lands 10-30 ms late, backtracking
    alone up to 40 ms early. An onset at the very start is added when the sound begins before the
    first detected onset. ``delta`` is the peak picker's threshold (librosa's, on the normalised
    flux). The planner calls this, not ``detect_onsets``: the tempo estimate cost 0.3 s a minute.
    """
    return _onsets(y, sr, delta)[0]



def _onsets(y: np.ndarray, sr: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """(onset times (s) as ``onset_times``, the spectral-flux envelope they were picked from)."""
    import librosa

    hop = ONSET_HOP
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    peaks = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=hop, delta=delta, units="frames")
    early = librosa.onset.onset_backtrack(peaks, env) if len(peaks) else peaks
    onsets = np.array(sorted({round(_refine(y, sr, a * hop, p * hop + hop), 4) for a, p in zip(early, peaks)}))
    start = _first_sound(y, sr)
    if len(onsets) == 0 or onsets[0] > start + 0.1:
        onsets = np.concatenate([[start], onsets])
    else:
        onsets[0] = start  # flux cannot peak on the very first frames; the sound starts here
    keep = [onsets[0]]
    for t in onsets[1:]:
        if t - keep[-1] >= 0.03:  # two peaks of one attack
            keep.append(t)
    return np.array(keep).astype(np.float64), env


def _refine(y: np.ndarray, sr: int, a: int, b: int) -> float:
    """Time (s) of the steepest log-energy rise in samples [a, b) (3 ms hop, 6 ms frames)."""
    step, width = 64, 128
    a = max(0, a - 2 * step)
    b = min(len(y), b + width)
    seg = y[a:b]
    if len(seg) < width + 2 * step:
        return a / sr
    frames = np.lib.stride_tricks.sliding_window_view(seg, width)[::step]
    e = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    rise = np.diff(e)
    # The first frame that rises at least half as steeply as the steepest: a note entering under
    # a louder one can rise most steeply a little after its true start.
    # (Where the energy only falls, e.g. an onset found in a decay, the least steep fall.)
    top = float(rise.max())
    i = int(np.argmax(rise)) if top <= 0 else int(np.flatnonzero(rise >= 0.5 * top)[0])
    return (a + (i + 1) * step + width // 2) / sr

def _first_sound(y: np.ndarray, sr: int) -> float:
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    idx = np.flatnonzero(np.abs(y) > peak * 0.01)
    return round(float(idx[0]) / sr, 4) if len(idx) else 0.0


def analyze(y: np.ndarray, model, *, window_seconds: float = 3.0, hop_seconds: float = 1.0,
            onsets: np.ndarray | None = None, tempo: float | None = None, rhythm=None) -> Target:
    """Analyse mono float32 audio at 22,050 Hz [shape=(n,)] for the planner.

    ``model`` is a timbre model (``producer.timbre.load_model``). Windows start every
    ``hop_seconds`` while a whole window fits; audio after the last window's end (under one
    hop) is scored only through the length term of the reward. ``onsets`` replace the detected
    ones when given. Tempo, beats, downbeats and meter come from ``producer.rhythm.analyze_rhythm``
    (``tempo``, BPM, overrides its estimate: the beats are tracked at it), or from ``rhythm`` (a
    ``producer.rhythm.Rhythm``) when given.
    """
    sr = F.SR
    y = np.ascontiguousarray(y, dtype=np.float32)
    duration = len(y) / sr
    win, hop = int(window_seconds), int(hop_seconds)
    if duration < win:
        raise InputError(f"target is {duration:.2f} s long, shorter than one reward window ({win} s)")
    n_windows = 1 + int((duration - win) // hop)
    windows = np.arange(n_windows) * hop
    n_seg = int(windows[-1] + win)
    segs = y[: n_seg * sr].reshape(n_seg, sr)
    seg_emb = model.embed(segs).astype(np.float32)
    seg_db = F.segment_db(segs)
    n_fr = -(-n_seg * sr // F.HOP)  # frames centred inside the scored span
    frame_chroma, frame_db, frame_mel = F.frame_features(y, 0, 0, n_fr, sr=sr)
    if onsets is None:
        onsets = onset_times(y, sr)
    if rhythm is None:
        from producer.rhythm import analyze_rhythm

        rhythm = analyze_rhythm(y, sr, tempo=tempo)
    onsets = onsets[onsets < duration - 0.05]
    starts = (onsets * sr).astype(int)
    after = np.zeros((len(onsets), sr), np.float32)
    for i, s in enumerate(starts):
        piece = y[s:s + sr]
        after[i, :len(piece)] = piece
    onset_emb = model.embed(after).astype(np.float32) if len(onsets) else np.zeros((0, seg_emb.shape[1]), np.float32)
    return Target(y=y, sr=sr, duration=duration, onsets=onsets, tempo=round(rhythm.project_tempo, 2),
                  beats=rhythm.beats, downbeats=rhythm.downbeats, time_signature=tuple(rhythm.time_signature),
                  window_seconds=win,
                  hop_seconds=hop, windows=windows, seg_emb=seg_emb, seg_db=seg_db,
                  frame_chroma=frame_chroma, frame_db=frame_db, frame_mel=frame_mel, onset_emb=onset_emb,
                  peak_db=float(frame_db.max()))
