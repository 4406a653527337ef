"""The search: actions, budgets, determinism, interruption, and the baselines."""
import dataclasses

import numpy as np
import pytest

from producer.config import PlannerConfig, config_from_dict
from producer.planner import features as F
from producer.planner.baselines import run_strategy
from producer.planner.mcts import MCTS, ordered_actions, run_mcts
from producer.planner.problem import build_problem
from producer.planner.actions import AddEffect, Finish, Hold, Insert, Rest, SetParam, Stop
from producer.planner.synthetic import random_arrangement, write_synthetic_library
from producer.planner.target import to_planner_rate
from producer.render.engine import Renderer
from producer.samples import Library
from producer.timbre import load_model

SECONDS = 5.0


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # As `producer recreate` runs the search: small batches are faster on one torch thread.
    from producer.planner.recreate import single_thread

    with single_thread():
        yield


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    lib = Library.from_manifest(write_synthetic_library(tmp_path_factory.mktemp("lib"), instruments=("piano", "bass"),
                                                        drums=("kick", "snare")))
    model = load_model("tiny")
    renderer = Renderer(lib)
    truth = random_arrangement(lib, seconds=SECONDS, n_notes=8, instruments=["piano", "drums"], step=0.5, seed=4)
    y = to_planner_rate(renderer.render(truth).mix, truth.sample_rate)
    n = int(SECONDS * F.SR)
    y = np.pad(y, (0, max(0, n - len(y))))[:n]
    return lib, model, renderer, truth, y


def _problem(world, **sections):
    lib, model, renderer, truth, y = world
    data = {"search": {"tracks": 2, "candidates": 6, "batch": 4}, "effects": {"enabled": False}}
    for k, v in sections.items():
        data.setdefault(k, {}).update(v)
    return build_problem(y, lib, model, config_from_dict(data), renderer=renderer)


def test_action_space_walkthrough(world):
    p = _problem(world)
    space, ev = p.space, p.evaluator
    s0 = space.initial()
    assert s0.acting_slot() == 0 and not s0.project.tracks
    # The note prior chose the tracks' instruments: the truth's two.
    assert sorted(s.instrument for s in s0.slots) == ["drums", "piano"]
    cat = p.catalogue
    # Every slot, at every onset, is offered only notes of its instrument that the prior hears
    # start there, the best first; hold always; finish only once its instrument has no notes left.
    for slot in range(2):
        for onset in range(len(p.target.onsets)):
            st = dataclasses.replace(s0, slots=tuple(dataclasses.replace(x, cursor=onset if i == slot else onset + 1)
                                                     for i, x in enumerate(s0.slots)))
            acts = ordered_actions(p, st, ev.empty())
            inserts = [a for a in acts if isinstance(a, Insert)]
            assert Hold(slot) in acts and not any(isinstance(a, Rest) for a in acts)  # nothing sounding
            backed = p.prior.backed(onset) & (cat.instrument == s0.slots[slot].instrument)
            offered = {cat.index[(a.sample, a.pitch)] for a in inserts}
            assert offered <= set(np.flatnonzero(backed).tolist())
            assert len(offered) == min(6, int(backed.sum())) and len(inserts) <= 6
            assert (Finish(slot) in acts) == (not p.prior.backed_after(onset, s0.slots[slot].instrument))
    # The truth's first note is the first insert offered at the first onset to its instrument's slot.
    first = min((c.start, t.instrument, c.sample, c.pitch) for t in world[3].tracks for c in t.clips)
    slot = [s.instrument for s in s0.slots].index(first[1])
    st = dataclasses.replace(s0, slots=tuple(dataclasses.replace(x, cursor=0 if i == slot else 1)
                                             for i, x in enumerate(s0.slots)))
    ins = [a for a in ordered_actions(p, st, ev.empty()) if isinstance(a, Insert)]
    assert (ins[0].sample, ins[0].pitch) == first[2:]
    inserts = [Insert(0, ins[0].sample, ins[0].pitch, ins[0].gain_db)]
    s1, region = space.apply(s0, inserts[0])
    on = p.target.onsets
    assert len(s1.project.tracks) == 1 and s1.slots[0].cursor == 1
    clip = s1.project.tracks[0].clips[0]
    assert clip.start == pytest.approx(on[0]) and clip.end <= on[1] + 1e-6
    assert region[0] == int(np.floor(clip.start * F.SR)) and region[1] > region[0]
    # Slot 1 now has the earliest cursor; holding an empty slot changes nothing.
    assert s1.acting_slot() == 1
    s2, r2 = space.apply(s1, Hold(1))
    assert r2 is None and s2.project == s1.project and s2.acting_slot() == 0
    # A pitched note held to the next onset is sounding; Hold sustains it to the following one.
    note = next(n for n in cat.notes if n.instrument == "piano")
    piano = Insert(0, note.sample, note.pitch, 0.0)
    t1, _ = space.apply(s0, piano)
    assert t1.slots[0].sounding
    t2, _ = space.apply(t1, Hold(1))
    t3, r3 = space.apply(t2, Hold(0))
    held = t3.project.tracks[0].clips[0]
    assert held.end == pytest.approx(min(on[2], held.start + p.space._seconds[(piano.sample, piano.pitch)]), abs=1e-4)
    assert r3 == (int(np.floor(on[1] * F.SR)), r3[1]) and r3[1] > r3[0]
    # Rest leaves silence: nothing changes, the slot no longer sounds.
    t4, r4 = space.apply(t2, Rest(0))
    assert r4 is None and not t4.slots[0].sounding and t4.slots[0].cursor == 2
    # Finish ends the slot and leaves the project as it is.
    t5, r5 = space.apply(t2, Finish(0))
    assert t5.slots[0].finished and r5 is None and t5.project == t2.project


def test_effect_actions(world):
    p = _problem(world, effects={"enabled": True, "kinds": ["lowpass", "reverb"], "max_per_track": 1,
                                 "grid_steps": 3})
    space = p.space
    s = space.initial()
    note = p.catalogue.notes[0]
    s, _ = space.apply(s, Insert(0, note.sample, note.pitch, 0.0))
    s, _ = space.apply(s, Finish(0))
    s, _ = space.apply(s, Finish(1))
    assert s.acting_slot() is None and not space.is_terminal(s)
    acts = space.effect_actions(s)
    assert Stop() in acts and AddEffect(0, "lowpass") in acts and AddEffect(0, "reverb") in acts
    s2, region = space.apply(s, AddEffect(0, "lowpass"))
    assert s2.project.tracks[0].effects[0].kind == "lowpass" and region is not None
    sets = [a for a in space.effect_actions(s2) if isinstance(a, SetParam)]
    assert sets and all(a.track == 0 for a in sets)
    assert not any(isinstance(a, AddEffect) and a.track == 0 for a in space.effect_actions(s2))
    s3, _ = space.apply(s2, Stop())
    assert space.is_terminal(s3)


def test_search_improves_and_respects_budget(world):
    p = _problem(world)
    result = run_mcts(p, evaluations=150, seconds=120)
    assert result.evaluations <= 150 + p.config.search.batch + len(p.target.onsets) * 2
    assert result.reward > 0.3
    assert result.reward == pytest.approx(p.evaluator.full(result.project).reward, abs=1e-4)
    assert result.project.tracks and all(t.clips for t in result.project.tracks)
    assert result.history and result.history[-1][2] == pytest.approx(result.reward)
    assert [h[2] for h in result.history] == sorted(h[2] for h in result.history)
    assert result.log and {"iteration", "action", "reward"} <= set(result.log[0])
    assert len(result.window_rewards) == len(p.target.windows)


def test_same_seed_same_project(world):
    a = run_mcts(_problem(world), seed=3, evaluations=80, seconds=120)
    b = run_mcts(_problem(world), seed=3, evaluations=80, seconds=120)
    assert a.project == b.project and a.log == b.log


def test_interrupt_returns_best_so_far(world, monkeypatch):
    p = _problem(world)
    calls = {"n": 0}
    original = p.evaluator.evaluate_batch

    def flaky(parent, children):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(parent, children)

    monkeypatch.setattr(p.evaluator, "evaluate_batch", flaky)
    result = MCTS(p).run(evaluations=1000, seconds=120)
    assert result.interrupted
    assert result.reward > 0 and result.project.tracks


@pytest.mark.parametrize("name", ["random", "greedy"])
def test_baselines_share_budget_and_reward(world, name):
    p = _problem(world)
    result = run_strategy(name, p, evaluations=120, seconds=120)
    assert result.strategy == name
    assert 0 < result.evaluations <= 120 + 10
    assert result.reward == pytest.approx(p.evaluator.full(result.project).reward, abs=1e-4)


def test_mcts_beats_random_on_the_same_budget(world):
    mcts = run_mcts(_problem(world), evaluations=200, seconds=120)
    rand = run_strategy("random", _problem(world), evaluations=200, seconds=120)
    assert mcts.reward > rand.reward


def test_effect_phase_runs_within_budget(world):
    p = _problem(world, effects={"enabled": True, "kinds": ["lowpass"], "max_per_track": 1, "grid_steps": 2,
                                 "evaluations": 4})
    result = run_mcts(p, evaluations=120, seconds=120)
    assert 0 < result.evaluations <= 120
    assert result.reward > 0
    assert result.reward == pytest.approx(p.evaluator.full(result.project).reward, abs=1e-4)
    # Only what the preset allows: one low-pass at most per track.
    assert all(len(t.effects) <= 1 and all(e.kind == "lowpass" for e in t.effects) for t in result.project.tracks)


def test_a_track_strikes_and_holds_a_chord(world):
    """With ``search.chord`` > 1 a track plays every note the prior hears start at once: the first
    offer is the whole chord, Hold sustains all its notes, the region covers the longest."""
    p = _problem(world, search={"chord": 3})
    space, ev, cat = p.space, p.evaluator, p.catalogue
    s0 = space.initial()
    piano = [n for n in cat.notes if n.instrument == "piano"][:3]
    chord = Insert(0, piano[0].sample, piano[0].pitch, -6.0,
                   chord=tuple((n.sample, n.pitch, -6.0) for n in piano[1:]))
    s1, region = space.apply(s0, chord)
    clips = s1.project.tracks[0].clips
    assert [(c.sample, c.pitch) for c in clips] == [(n.sample, n.pitch) for n in piano]
    assert len({c.start for c in clips}) == 1 and s1.slots[0].cursor == 1
    assert region[1] >= int(np.ceil(max(c.end for c in clips) * F.SR))
    s2, _ = space.apply(s1, Hold(1))  # the other slot catches up
    s3, r3 = space.apply(s2, Hold(0))
    on = p.target.onsets
    for before, after in zip(clips, s3.project.tracks[0].clips):
        natural = space._seconds[(before.sample, before.pitch)]
        assert after.end == pytest.approx(min(on[2], before.start + natural), abs=1e-4)
    assert r3 is not None and r3[0] == int(np.floor(on[1] * F.SR))


def test_chord_offers_follow_the_prior(world):
    """Where the prior hears three piano notes start, the first offer is that chord (one note per
    pitch, at the prior's gains), then the single best note, Hold, then the chord of the best two."""
    from producer.planner.prior import NotePrior

    p = _problem(world, search={"chord": 4})
    cat = p.catalogue
    piano = np.flatnonzero(cat.instrument == "piano")
    picks = [piano[0], piano[4], piano[7]]
    score = np.zeros((len(p.target.onsets), len(cat)), np.float32)
    gain = np.full(score.shape, -30.0, np.float32)
    score[0, picks] = [0.9, 0.7, 0.5]
    gain[0, picks] = [-3.0, -6.0, -9.0]
    prior = NotePrior(score=score, gain_db=gain, instrument=cat.instrument)
    p = dataclasses.replace(p, prior=prior)
    s0 = p.space.initial()
    slot = [s.instrument for s in s0.slots].index("piano")
    st = dataclasses.replace(s0, slots=tuple(dataclasses.replace(x, cursor=0 if i == slot else 1)
                                             for i, x in enumerate(s0.slots)))
    acts = ordered_actions(p, st, p.evaluator.empty())
    want = [(cat.notes[i].sample, cat.notes[i].pitch, g) for i, g in zip(picks, (-3.0, -6.0, -9.0))]
    assert acts[0] == Insert(slot, *want[0], chord=tuple(want[1:]))
    assert acts[1] == Insert(slot, *want[0]) and acts[2] == Hold(slot)
    assert acts[3] == Insert(slot, *want[0], chord=(want[1],))
    mono = dataclasses.replace(p, config=dataclasses.replace(
        p.config, search=dataclasses.replace(p.config.search, chord=1)))
    assert not any(isinstance(a, Insert) and a.chord for a in ordered_actions(mono, st, p.evaluator.empty()))


def test_polyphonic_tracks_need_fewer_tracks_per_instrument():
    from producer.planner.prior import NotePrior

    # Piano starts three notes at once on every onset, bass one.
    inst = np.array(["piano"] * 3 + ["bass"])
    score = np.tile(np.array([1.0, 0.9, 0.8, 1.0], np.float32), (6, 1))
    prior = NotePrior(score=score, gain_db=np.zeros_like(score), instrument=inst)
    assert prior.choose_instruments(8) == ["piano", "piano", "piano", "bass"]
    assert prior.choose_instruments(8, chord=4) == ["piano", "bass"]
    assert prior.choose_instruments(8, chord=2) == ["piano", "piano", "bass"]
