"""External metrics: figures the search does not optimise, to judge recreations fairly.

All take mono float audio at one rate ``sr`` [shape=(n,)]; the shorter signal is zero-padded to
the longer one's length (a recreation that is too short or too long is penalised).

- ``mrstft_distance``: multi-resolution STFT distance (spectral convergence + mean |log-magnitude|
  difference, averaged over FFT sizes 512, 1024, 2048; lower is better).
- ``mfcc_distance``: mean Euclidean distance of 20 MFCCs per frame (lower is better).
- ``chroma_similarity``: mean cosine similarity of STFT chroma frames, frames silent in both
  skipped (higher is better).
- ``onset_f_measure``: F-measure of onsets detected in the recreation against onsets detected in
  the target, 50 ms tolerance (mir_eval; higher is better).
- ``note_f1``: arrangement against a known truth arrangement: a note matches when the instrument
  and MIDI pitch agree and the onsets are within 50 ms (one-to-one, mir_eval matching).
"""
from __future__ import annotations

import numpy as np


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    n = max(len(a), len(b))
    return np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b)))


def mrstft_distance(target: np.ndarray, output: np.ndarray, sr: int, *, ffts=(512, 1024, 2048)) -> float:
    from producer.framing import stft_magnitude

    # In double precision: a bench figure, where librosa's STFT (also float64 inside) stood before.
    x, y = (a.astype(np.float64) for a in _pair(target, output))
    total = 0.0
    for n_fft in ffts:
        X = stft_magnitude(x, n_fft=n_fft, hop_length=n_fft // 4)
        Y = stft_magnitude(y, n_fft=n_fft, hop_length=n_fft // 4)
        sc = np.linalg.norm(X - Y) / max(np.linalg.norm(X), 1e-9)
        mag = np.mean(np.abs(np.log(X + 1e-5) - np.log(Y + 1e-5)))
        total += sc + mag
    return float(total / len(ffts))


def mfcc_distance(target: np.ndarray, output: np.ndarray, sr: int) -> float:
    import librosa

    x, y = _pair(target, output)
    A = librosa.feature.mfcc(y=x, sr=sr, n_mfcc=20)
    B = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    return float(np.mean(np.linalg.norm(A - B, axis=0)))


def chroma_similarity(target: np.ndarray, output: np.ndarray, sr: int) -> float:
    import librosa

    x, y = _pair(target, output)
    A = librosa.feature.chroma_stft(y=x, sr=sr, tuning=0.0)
    B = librosa.feature.chroma_stft(y=y, sr=sr, tuning=0.0)
    ea = librosa.feature.rms(y=x)[0][: A.shape[1]]
    eb = librosa.feature.rms(y=y)[0][: B.shape[1]]
    thr = 1e-3 * max(float(ea.max()), 1e-12)
    keep = (ea > thr) | (eb > thr)
    if not keep.any():
        return 1.0
    na = np.linalg.norm(A, axis=0)
    nb = np.linalg.norm(B, axis=0)
    cos = np.sum(A * B, axis=0) / np.maximum(na * nb, 1e-12)
    cos = np.where((ea > thr) & (eb > thr), cos, 0.0)
    return float(np.mean(cos[keep]))


def detect_onsets(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=np.asarray(y, np.float32), sr=sr, units="time", backtrack=True)


def onset_f_measure(target: np.ndarray, output: np.ndarray, sr: int, *, window: float = 0.05) -> float:
    import mir_eval

    ref = detect_onsets(target, sr)
    est = detect_onsets(output, sr)
    if len(ref) == 0 and len(est) == 0:
        return 1.0
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    f, _, _ = mir_eval.onset.f_measure(ref, est, window=window)
    return float(f)


def all_metrics(target: np.ndarray, output: np.ndarray, sr: int) -> dict[str, float]:
    """The four external metrics in one dict."""
    return {
        "mrstft": mrstft_distance(target, output, sr),
        "mfcc": mfcc_distance(target, output, sr),
        "chroma": chroma_similarity(target, output, sr),
        "onset_f": onset_f_measure(target, output, sr),
    }


def project_notes(project) -> list[tuple[str, int, float]]:
    """(instrument, MIDI pitch, onset s) of every clip of a project."""
    return [(t.instrument, int(c.pitch), float(c.start)) for t in project.tracks for c in t.clips]


def note_f1(truth, estimate, *, tolerance: float = 0.05) -> dict[str, float]:
    """Precision, recall and F1 of the estimate's notes against the truth's (see module doc)."""
    import mir_eval

    ref = project_notes(truth)
    est = project_notes(estimate)
    matched = 0
    for key in {(i, p) for i, p, _ in ref} & {(i, p) for i, p, _ in est}:
        r = np.array(sorted(t for i, p, t in ref if (i, p) == key))
        e = np.array(sorted(t for i, p, t in est if (i, p) == key))
        matched += len(mir_eval.util.match_events(r, e, tolerance))
    precision = matched / len(est) if est else 0.0
    recall = matched / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "matched": matched,
            "truth_notes": len(ref), "estimated_notes": len(est)}
