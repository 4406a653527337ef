"""The note prior: which library notes start at each onset of the target, and how loud.

At an onset the target's magnitude spectrum just after it, minus what was already sounding just
before it (the positive spectral change: the notes that start there), is explained as a
non-negative sum of the library notes' attack spectra (non-negative least squares). Each note's
template is the same pair of spectra taken from the note rendered alone at 0 dB:

    frames [0, 4) after the onset (the attack, 0-70 ms) and [4, 12) (the body, 90-280 ms),
    magnitudes of the planner's STFT (n_fft 2048, hop 512 at 22,050 Hz), averaged per block.

A note's weight ``a`` is the amplitude it would need (its gain is ``20 log10 a`` dB) and
``a * |template|`` is how much of the change it explains (its score). Magnitudes of notes with
different partials add, so a chord or a drum hit under a bass note splits into its notes; a
note a semitone away or an octave away explains a different set of partials and scores low.

Measured with a first version of this code on the benchmark's self-recreation targets (4
targets, 55 onsets, 91 notes; library of 552 notes; true onsets): the true notes were the
top-scored ones for 92 % of the notes, and among the top (notes + 2) for 96 %; about 20 ms
per onset.

The planner uses the prior (``producer.planner.problem``, ``.mcts``, ``.state``) to keep the
onset candidates where a note starts, to choose the tracks' instruments before the search
(``choose_instruments``: a track is never spent on the instrument that happened to sound
first), to offer each track only the notes the prior hears at its cursor (best first, at the
prior's gain), and to let a track finish only once the prior hears no more of its notes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from producer.constants import CLIP_GAIN_MAX_DB, CLIP_GAIN_MIN_DB
from producer.planner import features as F

BLOCKS = ((0, 4), (4, 12))  # frame ranges after the onset frame
BEFORE = (-3, -1)  # frames just before the onset: what was already sounding
MIN_GAIN_DB, MAX_GAIN_DB = CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB


def attack_features(y: np.ndarray, offset: int, onset_frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(after [shape=(2 * 1025,)], before [shape=(2 * 1025,)]) block-mean magnitudes at a frame.

    y holds the timeline from absolute sample ``offset`` (zeros elsewhere), as for
    ``features.frame_features``."""
    lo = onset_frame + min(BEFORE[0], BLOCKS[0][0])
    hi = onset_frame + max(BLOCKS[-1][1], BEFORE[1])
    mag = F.frame_magnitude(y, offset, lo, hi)
    at = lambda a, b: mag[onset_frame + a - lo:onset_frame + b - lo].mean(axis=0)  # noqa: E731
    after = np.concatenate([at(a, b) for a, b in BLOCKS])
    before = np.concatenate([at(*BEFORE)] * len(BLOCKS))
    return after.astype(np.float32), before.astype(np.float32)


def note_templates(segments: np.ndarray) -> np.ndarray:
    """Notes rendered alone from their start [shape=(n, samples)] -> templates [shape=(2 * 1025, n)]."""
    cols = [attack_features(seg, 0, 0)[0] for seg in segments]
    return np.stack(cols, axis=1) if cols else np.zeros((2 * (F.N_FFT // 2 + 1), 0), np.float32)


@dataclass(frozen=True)
class NotePrior:
    """score [shape=(onsets, notes)]: change explained by each note at each onset (0: none);
    gain_db [shape=(onsets, notes)]: the note's gain there (meaningful where score > 0)."""

    score: np.ndarray
    gain_db: np.ndarray
    instrument: np.ndarray  # [shape=(notes,)] instrument of each catalogue note
    floor_score: float | None = None  # see ``floor``; None: from this prior's scores

    def backed(self, onset: int, share: float = 0.1) -> np.ndarray:
        """Bool [shape=(notes,)]: notes the prior says may start at this onset (score at least
        ``share`` of the onset's best). Small weights are fitting noise and the residue of
        louder notes, not notes: on the benchmark targets every true note scored >= 0.11."""
        row = self.score[onset]
        top = row.max() if row.size else 0.0
        return row > max(1e-9, share * top, self.floor)

    @functools.cached_property
    def floor(self) -> float:
        """Score below which nothing is a note anywhere: a tenth (-20 dB) of the loudest note's.
        What a held note's vibrato or sustain loop leaves in the spectral change fits as
        quiet notes (gains near -30 dB where true notes sat at -3 to -19 dB, measured). The
        cost: a true note that quiet is dropped too (a soft hi-hat beside a loud melody).
        Cached: ``backed`` asks at every onset, and the maximum over all scores grew with the
        square of the onsets (5 s for the 7,600 candidates of 10 minutes of noise)."""
        if self.floor_score is not None:
            return self.floor_score
        return 0.1 * float(self.score.max()) if self.score.size else 0.0

    @functools.cached_property
    def backed_all(self) -> np.ndarray:
        """Bool [shape=(onsets, notes)]: ``backed`` at every onset (the search asks often)."""
        rows = [self.backed(t) for t in range(len(self.score))]
        return np.stack(rows) if rows else np.zeros(self.score.shape, bool)

    @functools.cached_property
    def _last_onset(self) -> dict[str, int]:
        """Instrument -> the last onset where the prior hears one of its notes (-1: none)."""
        out = {}
        for inst in dict.fromkeys(self.instrument.tolist()):
            hits = np.flatnonzero(self.backed_all[:, self.instrument == inst].any(axis=1))
            out[inst] = int(hits[-1]) if len(hits) else -1
        return out

    def onsets_with_notes(self) -> np.ndarray:
        """Bool [shape=(onsets,)]: onsets where the prior hears at least one note start."""
        return self.backed_all.any(axis=1)

    def keep_onsets(self, keep: np.ndarray) -> "NotePrior":
        """The prior of the onsets where ``keep`` is true (the floor stays that of all onsets)."""
        return NotePrior(score=self.score[keep], gain_db=self.gain_db[keep], instrument=self.instrument,
                         floor_score=self.floor)

    def backed_after(self, onset: int, instrument: str) -> bool:
        """Whether the prior hears a note of ``instrument`` start at any onset after ``onset``."""
        return self._last_onset.get(instrument, -1) > onset

    def choose_instruments(self, n_tracks: int, *, min_share: float = 0.03, chord: int = 1) -> list[str]:
        """Instruments for up to ``n_tracks`` tracks that strike up to ``chord`` notes at once,
        most needed first.

        An instrument's mass is the change its backed notes explain over all onsets; its k-th track
        is worth its mass times the share of its onsets where it starts more than (k - 1) * chord
        notes at once (the first: its whole mass). Tracks worth less than ``min_share`` of the total
        are not made."""
        if self.score.size == 0 or not self.score.any():
            return []
        backed = self.backed_all
        total = float(self.score[backed].sum())
        # Notes at once: counted among the clearly present (a quarter of the onset's best).
        clear = np.stack([self.backed(t, 0.25) for t in range(len(self.score))])
        options = []
        for inst in dict.fromkeys(self.instrument.tolist()):
            cols = self.instrument == inst
            mass = float(self.score[:, cols][backed[:, cols]].sum())
            counts = clear[:, cols].sum(axis=1)
            for k in range(1, max(1, -(-int(counts.max()) // chord)) + 1):
                share = float(np.sum(counts > (k - 1) * chord)) / max(1, int(np.sum(counts >= 1)))
                options.append((mass * share, k, inst))
        options.sort(key=lambda o: (-o[0], o[1], o[2]))
        chosen = [inst for value, _, inst in options if value >= min_share * total][:n_tracks]
        # Keep copies of one instrument together, in order of first choice.
        order = list(dict.fromkeys(chosen))
        return [inst for inst in order for _ in range(chosen.count(inst))]


def build_prior(target, catalogue, *, deadline: float | None = None) -> NotePrior:
    """Solve the non-negative least squares at every onset of ``target`` (see the module doc).

    Past ``deadline`` (a ``time.monotonic()`` value) the remaining onsets are left without notes,
    so a run's time budget holds however many onsets a long or noisy input has (each solve costs
    about 50 ms on 2 cores).
    """
    import time

    from scipy.optimize import nnls

    T = catalogue.templates.astype(np.float64)
    norms = np.linalg.norm(T, axis=0)
    n_on, n = len(target.onsets), T.shape[1]
    score = np.zeros((n_on, n), np.float32)
    gain = np.full((n_on, n), MIN_GAIN_DB, np.float32)
    for k, t in enumerate(target.onsets):
        if deadline is not None and time.monotonic() > deadline:
            break
        f = int(round(t * F.SR / F.HOP))
        after, before = attack_features(target.y, 0, f)
        change = np.maximum(after - before, 0.0).astype(np.float64)
        if not change.any():
            continue
        a, _ = nnls(T, change, maxiter=10 * n)
        score[k] = a * norms
        with np.errstate(divide="ignore"):
            gain[k] = np.clip(np.round(20 * np.log10(np.maximum(a, 1e-6))), MIN_GAIN_DB, MAX_GAIN_DB)
    return NotePrior(score=score, gain_db=gain, instrument=np.asarray(catalogue.instrument))
