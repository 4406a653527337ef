"""The note prior: which library notes start at each onset, found by non-negative least squares."""
import numpy as np
import pytest

from producer.config import config_from_dict
from producer.planner import features as F
from producer.planner.metrics import project_notes
from producer.planner.prior import attack_features, build_prior, note_templates
from producer.planner.problem import build_problem
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.planner.target import to_planner_rate
from producer.render.engine import Renderer
from producer.samples import Library
from producer.timbre import load_model

SECONDS = 6.0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    lib = Library.from_manifest(write_synthetic_library(tmp_path_factory.mktemp("lib"),
                                                        instruments=("piano", "bass", "flute"),
                                                        drums=("kick", "snare", "hihat_closed")))
    renderer = Renderer(lib)
    truth = random_arrangement(lib, seconds=SECONDS, n_notes=12, instruments=["bass", "drums", "flute"],
                               step=0.5, seed=3)
    y = to_planner_rate(renderer.render(truth).mix, truth.sample_rate)
    n = int(SECONDS * F.SR)
    y = np.pad(y, (0, max(0, n - len(y))))[:n]
    cfg = config_from_dict({"search": {"tracks": 4}, "effects": {"enabled": False}})
    # The true onsets, so that the prior is judged alone (onset detection has its own tests).
    onsets = np.array(sorted({c.start for t in truth.tracks for c in t.clips}))
    problem = build_problem(y, lib, load_model("tiny"), cfg, renderer=renderer, onsets=onsets)
    return truth, problem


def test_templates_are_attack_spectra():
    sr = F.SR
    t = np.arange(sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    tpl = note_templates(np.stack([tone, 0.5 * tone]))
    half = tpl.shape[0] // 2
    assert tpl.shape == (2 * (F.N_FFT // 2 + 1), 2)
    # Magnitudes: half the amplitude, half the template; the peak sits at 440 Hz in both blocks.
    np.testing.assert_allclose(tpl[:, 1], 0.5 * tpl[:, 0], rtol=1e-5, atol=1e-6)
    bin_440 = round(440.0 * F.N_FFT / sr)
    assert abs(int(np.argmax(tpl[:half, 0])) - bin_440) <= 1 and abs(int(np.argmax(tpl[half:, 0])) - bin_440) <= 1
    # Before a note that starts on the onset frame there is nothing; after it, the tone.
    y = np.concatenate([np.zeros(43 * F.HOP, np.float32), tone])
    after, before = attack_features(y, 0, 43)
    assert before.max() < 1e-6 * after.max()
    np.testing.assert_allclose(after, tpl[:, 0], rtol=1e-4, atol=1e-4)


def test_true_notes_score_highest(world):
    truth, problem = world
    prior, cat = problem.prior, problem.catalogue
    hits = total = 0
    gains = []
    for k, t in enumerate(problem.target.onsets):
        true = [(cat.index[(c.sample, c.pitch)], c.gain_db) for tr in truth.tracks for c in tr.clips
                if abs(c.start - t) < 1e-6]
        top = set(np.argsort(-prior.score[k])[:len(true)].tolist())
        for j, gain in true:
            total += 1
            if j in top:
                hits += 1
                gains.append(float(prior.gain_db[k, j]) - gain)
    assert total == 12 and hits / total >= 0.8
    # The gains agree with the truth's up to one constant (the mono downmix of a centred pan),
    # within a few dB (a note entering over a sounding one reads quieter).
    gains = np.array(gains)
    assert np.abs(gains - np.median(gains)).max() <= 4.0


def test_instruments_chosen_from_the_target(world):
    truth, problem = world
    # The truth's three come first (most mass); a fourth track may go to a look-alike.
    assert sorted(problem.space.instruments[:3]) == sorted(t.instrument for t in truth.tracks)
    assert [s.instrument for s in problem.space.initial().slots] == problem.space.instruments


def test_silence_backs_nothing(world):
    truth, problem = world
    target = problem.target
    quiet = type(target)(**{**target.__dict__, "y": np.zeros_like(target.y)})
    prior = build_prior(quiet, problem.catalogue)
    assert not prior.score.any() and prior.choose_instruments(4) == []
    assert not any(prior.backed(k).any() for k in range(len(target.onsets)))


def test_detected_onsets_are_kept_where_notes_start(world):
    truth, problem = world
    from producer.planner.problem import CANDIDATE_DELTA, build_problem
    from producer.planner.target import detect_onsets

    cfg = problem.config
    lib = problem.renderer.library
    detected = build_problem(problem.target.y, lib, problem.model, cfg, renderer=problem.renderer,
                             catalogue=problem.catalogue)
    candidates, _ = detect_onsets(problem.target.y, delta=CANDIDATE_DELTA)
    kept = detected.target.onsets
    assert set(np.round(kept, 4)) <= set(np.round(candidates, 4)) and len(kept) <= len(candidates)
    assert detected.prior.onsets_with_notes().all()
    assert len(detected.target.onset_emb) == len(kept) == len(detected.prior.score)
    # The true note starts stay on the grid (within 50 ms), all but a quiet one: a hi-hat at -6 dB
    # right after another scores under the prior's floor (a tenth of the loudest note's change).
    starts = sorted({c.start for t in truth.tracks for c in t.clips})
    on_grid = [np.min(np.abs(kept - s)) <= 0.05 for s in starts]
    assert len(starts) == 8 and sum(on_grid) >= 7
