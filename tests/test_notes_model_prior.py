"""The planner's prior from the note model (producer.planner.note_prior), on a synthetic target
whose 'transcription' is its own truth (the model itself is tested in test_notes_model.py)."""
import numpy as np
import pytest

from producer.config import config_from_dict
from producer.constants import GM_KEY_VOICE
from producer.notes.transcribe import DrumHit, NoteEvent, Transcription
from producer.planner import features as F
from producer.planner import note_prior as NP
from producer.planner.problem import build_problem
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.planner.target import to_planner_rate
from producer.render.engine import Renderer
from producer.samples import Library
from producer.timbre import load_model

SECONDS = 6.0


def truth_transcription(truth, *, confidence=0.9, rename=None) -> Transcription:
    notes, drums = [], []
    for tr in truth.tracks:
        for c in tr.clips:
            if tr.instrument == "drums":
                drums.append(DrumHit(c.start + 0.01, NP.VOICE_CLASS[GM_KEY_VOICE[c.pitch]], confidence))
            else:
                inst = (rename or {}).get(tr.instrument, tr.instrument)
                notes.append(NoteEvent(c.pitch, c.start + 0.01, c.start + c.hold, 100, confidence, inst, 0.8))
    return Transcription(notes=notes, drums=drums)


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
    cfg = config_from_dict({"search": {"tracks": 4, "note_model": True}, "effects": {"enabled": False}})
    mp = pytest.MonkeyPatch()
    mp.setattr(NP, "transcribe_target", lambda y, sr=F.SR, model="default": truth_transcription(truth))
    try:
        problem = build_problem(y, lib, load_model("tiny"), cfg, renderer=renderer)
    finally:
        mp.undo()
    return truth, problem, lib, renderer, y


def test_model_onsets_merge_close_events():
    tr = Transcription(notes=[NoteEvent(60, 1.0, 1.5, 90, 0.9, "piano", 0.9),
                              NoteEvent(64, 1.02, 1.5, 90, 0.9, "piano", 0.9),
                              NoteEvent(67, 2.0, 2.5, 90, 0.9, "piano", 0.9)],
                       drums=[DrumHit(1.01, "kick", 0.8), DrumHit(0.5, "snare", 0.7)])
    np.testing.assert_allclose(NP.model_onsets(tr), [0.5, 1.0, 2.0])
    assert len(NP.model_onsets(Transcription())) == 0


def test_onsets_and_true_notes_come_from_the_transcription(world):
    truth, problem, *_ = world
    prior, cat = problem.prior, problem.catalogue
    assert isinstance(prior, NP.ModelNotePrior)
    starts = sorted({c.start for t in truth.tracks for c in t.clips})
    np.testing.assert_allclose(problem.target.onsets, np.array(starts) + 0.01, atol=1e-6)
    for k, t in enumerate(starts):
        true = [(cat.index[(c.sample, c.pitch)], tr.instrument) for tr in truth.tracks for c in tr.clips
                if abs(c.start - t) < 1e-6]
        backed = prior.backed(k)
        best = prior.score[k].max()
        for j, inst in true:
            assert backed[j] and prior.score[k, j] == pytest.approx(best)
            assert NP.MIN_GAIN_DB <= prior.gain_db[k, j] <= NP.MAX_GAIN_DB
        # nothing of another pitch or drum class is backed
        pitches = {cat.notes[j].pitch for j, _ in true}
        assert all(cat.notes[j].pitch in pitches for j in np.flatnonzero(backed))


def test_gains_follow_the_truth(world):
    truth, problem, *_ = world
    prior, cat = problem.prior, problem.catalogue
    diffs = []
    for k, t in enumerate(sorted({c.start for t in truth.tracks for c in t.clips})):
        for tr in truth.tracks:
            for c in tr.clips:
                if abs(c.start - t) < 1e-6:
                    diffs.append(float(prior.gain_db[k, cat.index[(c.sample, c.pitch)]]) - c.gain_db)
    dev = np.abs(np.array(diffs) - np.median(diffs))
    # Up to one constant (the mono downmix), within a few dB, as the spectral prior; the whole-
    # catalogue fit may hand most of a note's energy to a look-alike (one of 12 here: 16 dB off).
    assert len(dev) == 12 and np.median(dev) <= 2.0 and np.sum(dev <= 6.0) >= 10


def test_instruments_are_the_named_ones(world):
    truth, problem, *_ = world
    assert sorted(set(problem.space.instruments)) == sorted(t.instrument for t in truth.tracks)


def test_another_instrument_backs_a_note_the_library_lacks(world):
    truth, problem, *_ = world
    tr = truth_transcription(truth, rename={"flute": "violin"})  # the library has no violin
    prior = NP.build_model_prior(problem.target, problem.catalogue, tr)
    cat = problem.catalogue
    flute = [(k, cat.index[(c.sample, c.pitch)]) for k, t in enumerate(problem.target.onsets)
             for trk in truth.tracks if trk.instrument == "flute" for c in trk.clips if abs(c.start + 0.01 - t) < 1e-6]
    assert flute
    for k, j in flute:
        assert prior.backed(k)[j] and prior.score[k, j] == pytest.approx(0.9 * NP.OTHER_INSTRUMENT)
    assert "flute" not in prior.choose_instruments(4)  # counted for the instrument the model named only


def test_silent_transcription_backs_nothing(world):
    truth, problem, *_ = world
    prior = NP.build_model_prior(problem.target, problem.catalogue, Transcription())
    assert not prior.score.any() and prior.choose_instruments(4) == []
    kept = prior.keep_onsets(np.ones(len(problem.target.onsets), bool))
    assert isinstance(kept, NP.ModelNotePrior) and kept.named.shape == prior.score.shape


def test_search_runs_on_the_model_prior(world):
    from producer.planner.mcts import MCTS

    truth, problem, *_ = world
    result = MCTS(problem, seed=0).run(evaluations=150, seconds=60)
    heard = {(n.pitch, round(n.onset, 3)) for n in truth_transcription(truth).notes}
    heard |= {(c.pitch, round(c.start + 0.01, 3)) for t in truth.tracks if t.instrument == "drums" for c in t.clips}
    notes = [(c.pitch, round(c.start, 3)) for t in result.project.tracks for c in t.clips]
    # every inserted note is one the transcription heard, at its onset
    assert len(notes) >= 6 and set(notes) <= heard and result.reward > 0
