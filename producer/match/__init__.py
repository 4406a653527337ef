"""``producer match``: an effect chain (and, in follow mode, automation) that makes one sound take
on another's character. Computes a Track and figures; writes nothing (``api.match`` writes).

    result = match_track(track, reference, sr, renderer=renderer, mode="static", renders=400, seed=0)

``track`` plays the source (one clip, no effects); ``reference`` is [shape=(channels, n)] at
``sr``. The result's track carries the chain found, its gain and any automation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from producer.match.features import (FRAME_HOP, SpectralTarget, centroid_curve, fit_length, integrated_loudness,
                                     loudness_curve)
from producer.match.search import Scorer, fit_fader, follow, search_static
from producer.match.space import STAGES, ChainSpace, Stage, choose_stages
from producer.project import Track

MODES = ("static", "follow")


@dataclass
class MatchResult:
    track: Track  # the source clip with the chain, gain and automation found
    mode: str
    renders: int
    seconds: float
    figures: dict  # distances (MR-STFT) and loudness (LUFS) of the unprocessed, static, final results
    history: list[tuple[int, float]] = field(default_factory=list)


def measure(y: np.ndarray, target: SpectralTarget, sr: int, ref_lufs: float) -> dict:
    """MR-STFT distance and loudness error (LU) of ``y`` against the reference."""
    y = fit_length(np.asarray(y), target.n)
    lufs = integrated_loudness(y, sr)
    return {"mr_stft": round(target.distance(y), 4), "lufs": round(lufs, 2), "loudness_error_lu": round(abs(lufs - ref_lufs), 2)}


def match_track(track: Track, reference: np.ndarray, sr: int, *, renderer, mode: str = "static", renders: int = 400,
                seed: int = 0, stages: tuple[Stage, ...] = STAGES, deadline: float | None = None) -> MatchResult:
    t0 = time.monotonic()
    space = ChainSpace(stages)
    dry = renderer.dry_track(track, sr)
    scorer = Scorer(dry, reference, sr, space, follow=mode == "follow")
    before = measure(np.stack([dry, dry]), scorer.target, sr, scorer.ref_lufs)
    static = search_static(scorer, renders=renders, seed=seed, method="cma", deadline=deadline)

    # Written chain: neutral stages left out, unless leaving them out costs (the full chain is kept).
    full = replace(track, effects=static.effects)
    full = replace(full, gain_db=scorer.gain_for(fit_length(renderer.stem(full, sr), scorer.target.n)))
    pruned = replace(track, effects=space.written_chain(static.vector))
    pruned = replace(pruned, gain_db=scorer.gain_for(fit_length(renderer.stem(replace(pruned, gain_db=0.0), sr), scorer.target.n)))
    d_full = scorer.target.distance(renderer.stem(full, sr))
    d_pruned = scorer.target.distance(renderer.stem(pruned, sr))
    chosen = pruned if d_pruned <= d_full * 1.01 else full
    static_figures = measure(renderer.stem(chosen, sr), scorer.target, sr, scorer.ref_lufs)
    used = static.renders + 3
    figures = {"unprocessed": before, "static": static_figures, "reference_lufs": round(scorer.ref_lufs, 2)}
    if mode == "follow":
        found = follow(scorer, static, renderer=renderer, track=chosen)
        used += found.renders
        clip = replace(chosen.clips[0], gain_db=found.clip_gain_db)
        chosen = replace(chosen, clips=(clip,) + chosen.clips[1:], automation=(("gain_db", found.gain_envelope),))
        if found.cutoff_envelope is not None:
            from producer.project import Effect

            effects = list(chosen.effects)
            i = next((k for k, e in enumerate(effects) if e.kind == "lowpass"), None)
            base = effects[i] if i is not None else Effect.make("lowpass", cutoff_hz=20000.0)
            lp = Effect.make("lowpass", automation={"cutoff_hz": found.cutoff_envelope}, **dict(base.params))
            if i is None:
                effects.append(lp)
            else:
                effects[i] = lp
            chosen = replace(chosen, effects=tuple(effects))
        # The frame-wise envelope matches loudness moment by moment; one offset then matches the
        # integrated loudness too (gain is after the chain, so the offset adds exactly).
        offset = scorer.ref_lufs - integrated_loudness(fit_length(renderer.stem(chosen, sr), scorer.target.n), sr)
        chosen, envelope = fit_fader(chosen, [(t, v + offset) for t, v in found.gain_envelope])
        chosen = replace(chosen, automation=(("gain_db", envelope),))
        used += 1
        figures["follow"] = measure(renderer.stem(chosen, sr), scorer.target, sr, scorer.ref_lufs)
    elif mode != "static":
        raise ValueError(f"unknown mode {mode!r}")
    final = fit_length(renderer.stem(chosen, sr), scorer.target.n)
    figures["final"] = measure(final, scorer.target, sr, scorer.ref_lufs)
    figures["loudness_envelope_correlation"] = round(_corr(final, reference, sr), 4)
    return MatchResult(track=chosen, mode=mode, renders=used, seconds=time.monotonic() - t0, figures=figures,
                       history=static.history)


def envelopes(signals: dict[str, np.ndarray], sr: int, *, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What follow mode matches, every FRAME_HOP s, of each signal [shape=(channels, m)] or (m,) cut
    to its first ``n`` samples: {name: (K-weighted loudness dB, spectral centroid Hz, 0 when silent)}."""
    return {name: (loudness_curve(y[..., :n], sr), centroid_curve(y[..., :n], sr)) for name, y in signals.items()}


def _corr(y: np.ndarray, reference: np.ndarray, sr: int) -> float:
    from producer.match.features import envelope_correlation

    return envelope_correlation(loudness_curve(y, sr), loudness_curve(reference, sr))


__all__ = ["FRAME_HOP", "MODES", "MatchResult", "STAGES", "choose_stages", "envelopes", "match_track", "measure"]
