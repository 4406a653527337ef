"""A note prior from the note model (``producer.notes``): the notes it transcribes, with their
confidences and instruments, become the notes the search may insert.

Same interface as the spectral prior (``producer.planner.prior.NotePrior``: score and gain per
onset x catalogue note, ``backed``, ``onsets_with_notes``, ``choose_instruments``), so the MCTS,
the ranking and the baselines use it unchanged. Selected by the preset key
``[search] note_model = true``.

- Onsets: the model's note and drum-hit onsets, merged within ``MERGE_S`` (30 ms), are the
  search's onset grid (``model_onsets``), so an inserted note starts where the model heard it.
- Score of catalogue note j at onset k: the model's onset probability of a note of j's pitch
  there, times 1 where j's instrument is the one the model names, ``OTHER_INSTRUMENT`` (0.2)
  where it is another (the search may still choose it when the library lacks the named
  instrument at that pitch). A drum hit backs every sample of its class (hi-hat: closed and
  open...) at 0.2 and names the one the gain fit weights most.
- Gain: non-negative least squares of the onset's spectral change over the attack spectra of the
  whole catalogue (the spectral prior's fit, at onsets with a transcribed event only); a backed
  note that fit leaves at zero takes its weight in a fit over the backed notes alone, and one
  that is zero there too the best gain of its own event.
- Instruments (``choose_instruments``): counted from the named instruments only, one drum track.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from producer.constants import GM_KEY_VOICE
from producer.planner import features as F
from producer.planner.prior import MAX_GAIN_DB, MIN_GAIN_DB, NotePrior, attack_features

MERGE_S = 0.03  # events closer than this share an onset
MATCH_S = 0.05  # an event belongs to the nearest onset within this
OTHER_INSTRUMENT = 0.2
DEFAULT_GAIN_DB = -12.0
MAX_DRUM_TRACKS = 1
# Drum-sample voices (producer.constants.GM_KEY_VOICE) -> the note model's drum classes.
VOICE_CLASS = {"kick": "kick", "snare": "snare", "hihat_closed": "hihat", "hihat_open": "hihat", "tom_low": "tom",
               "tom_mid": "tom", "tom_high": "tom", "crash": "cymbal", "ride": "cymbal"}


def model_onsets(transcription, *, merge: float = MERGE_S) -> np.ndarray:
    """Onset times (s) [shape=(k,)], ascending: every note and drum hit, merged within ``merge``."""
    times = sorted([n.onset for n in transcription.notes] + [h.time for h in transcription.drums])
    out: list[float] = []
    for t in times:
        if out and t - out[-1] < merge:
            continue
        out.append(float(t))
    return np.array(out, np.float64)


@dataclass(frozen=True)
class ModelNotePrior(NotePrior):
    """A NotePrior whose ``named`` [shape=(onsets, notes)] marks the notes of the instrument the
    model named (the others are backed at OTHER_INSTRUMENT of its score)."""

    named: np.ndarray | None = None

    def keep_onsets(self, keep: np.ndarray) -> "ModelNotePrior":
        return ModelNotePrior(score=self.score[keep], gain_db=self.gain_db[keep], instrument=self.instrument,
                              floor_score=self.floor, named=self.named[keep])

    @functools.cached_property
    def _named_prior(self) -> NotePrior:
        return NotePrior(score=np.where(self.named, self.score, 0.0), gain_db=self.gain_db,
                         instrument=self.instrument, floor_score=self.floor)

    def choose_instruments(self, n_tracks: int, *, min_share: float = 0.03, chord: int = 1) -> list[str]:
        """As NotePrior's, from the named notes only, with at most MAX_DRUM_TRACKS drum tracks:
        kick, snare and hi-hat on one beat made three of four tracks drums on the dev set, and
        one pitched track was left for chords, bass and melody (note F1 0 on piece_000)."""
        ranked = self._named_prior.choose_instruments(n_tracks + 16, min_share=min_share, chord=chord)
        drums = [i for i in ranked if i == "drums"][:MAX_DRUM_TRACKS]
        chosen = (drums + [i for i in ranked if i != "drums"])[:n_tracks] if drums else ranked[:n_tracks]
        order = list(dict.fromkeys(i for i in ranked if i in chosen))
        return [i for i in order for _ in range(chosen.count(i))]


def build_model_prior(target, catalogue, transcription, *, deadline: float | None = None) -> ModelNotePrior:
    """The prior of ``transcription`` (``producer.notes.transcribe.Transcription``) on ``target``'s
    onsets and ``catalogue``'s notes. Past ``deadline`` (``time.monotonic()``) the remaining onsets
    keep their scores but take DEFAULT_GAIN_DB instead of a fitted gain.

    Long because matching notes to onsets, naming drum samples and fitting the gains share the
    per-onset score and backing matrices."""
    import time

    from scipy.optimize import nnls

    onsets = np.asarray(target.onsets, np.float64)
    n_on, n = len(onsets), len(catalogue.notes)
    score = np.zeros((n_on, n), np.float32)
    named = np.zeros((n_on, n), bool)
    gain = np.full((n_on, n), MIN_GAIN_DB, np.float32)
    if n_on == 0 or n == 0:
        return ModelNotePrior(score=score, gain_db=gain, instrument=np.asarray(catalogue.instrument), named=named)
    pitch = np.array([nt.pitch for nt in catalogue.notes])
    inst = np.asarray(catalogue.instrument)
    drum_cls = np.array([VOICE_CLASS.get(GM_KEY_VOICE.get(int(p), ""), "") if i == "drums" else ""
                         for p, i in zip(pitch, inst)])
    pitched = inst != "drums"

    def nearest(t: float) -> int | None:
        k = int(np.searchsorted(onsets, t))
        best = min((j for j in (k - 1, k) if 0 <= j < n_on), key=lambda j: abs(onsets[j] - t), default=None)
        return best if best is not None and abs(onsets[best] - t) <= MATCH_S else None

    events: dict[int, list[np.ndarray]] = {}  # onset -> the column sets of its events
    drum_events: list[tuple[int, np.ndarray, float]] = []
    weight = np.zeros((n_on, n))  # the fitted amplitude of each backed note
    for note in transcription.notes:
        k = nearest(note.onset)
        cols = np.flatnonzero(pitched & (pitch == note.pitch))
        if k is None or not len(cols):
            continue
        own = inst[cols] == note.instrument
        s = note.confidence * np.where(own, 1.0, OTHER_INSTRUMENT)
        score[k, cols] = np.maximum(score[k, cols], s)
        named[k, cols[own]] = True
        events.setdefault(k, []).append(cols)
    for hit in transcription.drums:
        k = nearest(hit.time)
        cols = np.flatnonzero(drum_cls == hit.drum)
        if k is None or not len(cols):
            continue
        # Every sample of the class is backed; the one the fit below likes best is the named one.
        score[k, cols] = np.maximum(score[k, cols], hit.confidence * OTHER_INSTRUMENT)
        drum_events.append((k, cols, hit.confidence))
        events.setdefault(k, []).append(cols)

    T = catalogue.templates.astype(np.float64)
    for k, sets in events.items():
        cols = np.unique(np.concatenate(sets))
        if deadline is not None and time.monotonic() > deadline:
            gain[k, cols] = DEFAULT_GAIN_DB
            continue
        f = int(round(onsets[k] * F.SR / F.HOP))
        after, before = attack_features(target.y, 0, f)
        change = np.maximum(after - before, 0.0).astype(np.float64)
        # The fit runs over the whole catalogue, as the spectral prior's: fitted over the backed
        # notes only, the energy of the notes the model missed went to the broadband drum samples
        # (drums too loud: chroma 0.40 against 0.93 on dev piece_000).
        # A backed note the whole fit leaves at zero takes its weight in the fit over the backed
        # notes alone (the model hears it; the whole fit gave its energy to a look-alike).
        if change.any():
            a_all = nnls(T, change, maxiter=10 * n)[0][cols]
            a = np.where(a_all > 0, a_all, nnls(T[:, cols], change, maxiter=20 * len(cols))[0])
        else:
            a = np.zeros(len(cols))
        weight[k, cols] = a
        with np.errstate(divide="ignore"):
            g = np.clip(np.round(20 * np.log10(np.maximum(a, 1e-6))), MIN_GAIN_DB, MAX_GAIN_DB)
        g = dict(zip(cols.tolist(), np.where(a > 0, g, np.nan).tolist()))
        for c in sets:  # a column the fit left at zero: its event's best gain (or the default)
            vals = [g[j] for j in c.tolist() if np.isfinite(g[j])]
            fill = max(vals) if vals else DEFAULT_GAIN_DB
            gain[k, c] = [g[j] if np.isfinite(g[j]) else fill for j in c.tolist()]
    for k, cols, conf in drum_events:  # one sample per hit: a kit voice is one track's note, not three
        best = cols[int(np.argmax(weight[k, cols]))]
        score[k, best] = max(score[k, best], conf)
        named[k, best] = True
    return ModelNotePrior(score=score, gain_db=gain, instrument=inst, named=named)


@functools.lru_cache(maxsize=2)
def _note_model(name: str):
    from producer.notes.transcribe import load_model

    return load_model(name)


def transcribe_target(y: np.ndarray, sr: int = F.SR, *, model: str = "default"):
    """The note model's Transcription of mono audio ``y`` [shape=(n,)] at ``sr`` (the planner's
    22,050 Hz by default); the model is loaded once per process."""
    return _note_model(model).transcribe(y, sr)
