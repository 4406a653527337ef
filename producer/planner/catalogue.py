"""The library as notes: every (sample, pitch) the library can play, with the features that rank
insert candidates (timbre embedding, attack chroma, mel patch, power) and the attack spectra the
note prior fits. ``Catalogue.build`` renders and embeds the library once per search problem.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from producer.constants import CLIP_GAIN_MAX_DB, CLIP_GAIN_MIN_DB
from producer.instruments import INSTRUMENTS
from producer.planner import features as F
from producer.planner.target import Target
from producer.project import Clip


@dataclass(frozen=True)
class Note:
    sample: str
    instrument: str
    pitch: int
    seconds: float  # how long the transposed sample lasts (inf: a sustained instrument, loops)


class Catalogue:
    """Every note the library can play (sample, pitch), with the features that rank candidates.

    Pitched samples play every pitch of their instrument's range within ``max_shift`` semitones
    of a sample root (the nearest root wins); drum samples play at their own note.
    emb [shape=(n, D)], chroma [shape=(n, 12)] (mean raw chroma of the first 0.3 s),
    power [shape=(n,)] (mean frame power of the first 0.3 s at 0 dB gain).
    """

    ATTACK_FRAMES = 13  # 0.3 s of frames: the part of a note the ranking compares

    def __init__(self, notes: list[Note], *, emb: np.ndarray, templates: np.ndarray, chroma: np.ndarray,
                 mel: np.ndarray, power: np.ndarray):
        self.notes = notes
        self.emb = emb
        self.templates = templates  # attack spectra for the note prior
        self.chroma = chroma
        self.mel = mel
        self.power = power
        self.instrument = np.array([n.instrument for n in notes])
        self.index = {(n.sample, n.pitch): i for i, n in enumerate(notes)}

    @classmethod
    def build(cls, library, renderer, model, *, max_shift: int = 2,
              instruments: list[str] | None = None) -> "Catalogue":
        """Render every playable note of ``library`` (1 s at 22,050 Hz), embed it with ``model``
        and measure its attack. The expensive step of a search problem: done once."""
        notes: list[Note] = []
        audio = []
        sr = F.SR
        for inst in (instruments or library.instruments):
            group = [s for s in library.by_instrument(inst)]
            if not group:
                continue
            if inst == "drums" or inst not in INSTRUMENTS:
                plays = [(s, s.pitch if s.pitch is not None else 60) for s in group]
            else:
                rooted = [s for s in group if s.pitch is not None]
                spec = INSTRUMENTS[inst]
                plays = []
                for p in range(spec.low, spec.high + 1):
                    best = min(rooted, key=lambda s: (abs(s.pitch - p), s.pitch), default=None)
                    if best is not None and abs(best.pitch - p) <= max_shift:
                        plays.append((best, p))
            spec = INSTRUMENTS.get(inst)
            for info, pitch in plays:
                clip = Clip(sample=info.id, start=0.0, hold=1.0, pitch=int(pitch))
                y = renderer.clip_audio(clip, sr)
                if spec is not None and spec.sustains:
                    seconds = math.inf  # the sampler loops a held note: it lasts as long as the clip
                else:
                    own = len(library.load(info, sr)) / sr
                    shift = 0 if (info.pitch is None or inst == "drums") else pitch - info.pitch
                    seconds = own * 2.0 ** (-shift / 12.0)
                notes.append(Note(info.id, inst, int(pitch), seconds))
                seg = np.zeros(sr, np.float32)
                seg[:min(sr, len(y))] = y[:sr]
                audio.append(seg)
        if not notes:
            from producer.errors import SampleError

            raise SampleError(f"sample library {library.root} holds no playable samples")
        segs = np.stack(audio)
        from producer.planner.prior import note_templates

        chroma, power, mel = [], [], []
        for seg in segs:
            c, db, m = F.frame_features(seg, 0, 0, cls.ATTACK_FRAMES)
            chroma.append(c.mean(axis=0))
            power.append(np.mean(10 ** (db / 10)))
            mel.append(np.sqrt(m).ravel())
        return cls(notes, emb=model.embed(segs).astype(np.float32), templates=note_templates(segs),
                   chroma=np.stack(chroma).astype(np.float32), mel=np.stack(mel).astype(np.float32),
                   power=np.maximum(np.array(power, np.float64), 1e-12))

    def __len__(self) -> int:
        return len(self.notes)

    def timbre_floor(self, percentile: float = 5.0) -> float:
        """Cosine similarity that two unrelated library notes reach (the ``percentile``-th of all
        pairs); the reward rescales timbre similarity from it (see ``producer.planner.reward``)."""
        n = len(self.emb)
        if n < 2:
            return 0.0
        rng = np.random.default_rng(0)
        idx = rng.choice(n, size=min(n, 400), replace=False)
        c = self.emb[idx] @ self.emb[idx].T
        pairs = c[np.triu_indices(len(idx), k=1)]
        return float(min(np.percentile(pairs, percentile), 0.999))

    def rank(self, target: Target, evaluation, onset_index: int, *, instrument: str | None,
             k: int, timbre_weight: float = 0.5, chroma_weight: float = 0.5, spectrum_weight: float = 1.0,
             output_mel: np.ndarray | None = None, prior=None) -> list[tuple[int, float, bool]]:
        """The ``k`` best notes to insert at onset ``onset_index``: [(note index, gain dB, prior-backed)].

        With a note prior (``producer.planner.prior``), only the notes it backs at this onset,
        by its score and with its gain (the score below is not needed then).

        Score = timbre_weight * cos(note embedding, target embedding after the onset)
              + chroma_weight * cos(note chroma, residual chroma at the onset)
              + spectrum_weight * cos(note mel patch, residual mel patch at the onset),
        where the residual is what the target's frames hold beyond the recreation's
        (``evaluation``; ``output_mel`` [shape=(frames, 64)] its mel power from the onset) and a
        mel patch is the square-rooted mel power of the first 0.3 s, time and bands flattened
        (it tells octaves, tone colours and attack shapes apart). The gain makes the note's power
        match the residual power (1 dB steps, -30..+6 dB).
        """
        if prior is not None:
            return self._rank_backed(prior, onset_index, instrument, k)
        t0 = target.onsets[onset_index]
        f0 = int(round(t0 * F.SR / F.HOP))
        f1 = min(target.n_frames, f0 + self.ATTACK_FRAMES)
        if f1 <= f0:
            f0 = max(0, target.n_frames - 1)
            f1 = target.n_frames
        t_chroma = target.frame_chroma[f0:f1]
        o_chroma = evaluation.frame_chroma[f0:f1]
        residual = np.maximum(t_chroma - o_chroma, 0.0).mean(axis=0)
        t_pow = np.mean(10 ** (target.frame_db[f0:f1] / 10))
        o_pow = np.mean(10 ** (evaluation.frame_db[f0:f1] / 10))
        res_pow = max(t_pow - o_pow, t_pow * 0.05)
        score = timbre_weight * (self.emb @ target.onset_emb[onset_index])
        score = score + chroma_weight * F.cosine_rows(self.chroma, residual[None, :])
        if spectrum_weight > 0:
            res_mel = target.frame_mel[f0:f1]
            if output_mel is not None:
                res_mel = np.maximum(res_mel - output_mel[:f1 - f0], 0.0)
            patch = np.zeros((self.ATTACK_FRAMES, F.N_MELS), np.float32)
            patch[:f1 - f0] = np.sqrt(res_mel)
            score = score + spectrum_weight * F.cosine_rows(self.mel, patch.ravel()[None, :])
        if instrument is not None:
            score = np.where(self.instrument == instrument, score, -np.inf)
            order = np.argsort(-score, kind="stable")[:k]
        else:
            # A slot without an instrument yet: deal candidates round-robin over the instruments
            # (each instrument's best first), so every instrument gets a hearing from the reward
            # instead of one family filling the list.
            order = self._round_robin(score, k)
        out = []
        for i in order:
            if not np.isfinite(score[i]):
                break
            gain = 10 * math.log10(res_pow / self.power[i])
            out.append((int(i), float(np.clip(round(gain), CLIP_GAIN_MIN_DB, CLIP_GAIN_MAX_DB)), False))
        return out

    def _rank_backed(self, prior, onset_index: int, instrument: str | None, k: int) -> list[tuple[int, float, bool]]:
        """``rank`` with a note prior: the notes it backs here (of ``instrument``), best first."""
        ok = prior.backed_all[onset_index]
        if instrument is not None:
            ok = ok & (self.instrument == instrument)
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(-prior.score[onset_index, idx], kind="stable")][:k]
        return [(int(i), float(prior.gain_db[onset_index, i]), True) for i in order]

    def _round_robin(self, score: np.ndarray, k: int) -> np.ndarray:
        by_inst: dict[str, list[int]] = {}
        for i in np.argsort(-score, kind="stable"):
            by_inst.setdefault(str(self.instrument[i]), []).append(int(i))
        queues = sorted(by_inst.values(), key=lambda q: -score[q[0]])
        out: list[int] = []
        depth = 0
        while len(out) < k and any(depth < len(q) for q in queues):
            out += [q[depth] for q in queues if depth < len(q)][: k - len(out)]
            depth += 1
        return np.array(out, dtype=int)
