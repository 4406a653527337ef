"""The tune package's knobs and preference model, without a server."""
from __future__ import annotations

import numpy as np
import pytest

from producer.errors import InputError
from producer.project import Clip, Effect, Project, Track
from producer.tune.model import PreferenceModel
from producer.tune.params import all_knobs, apply_unit, current_unit, passage, select_knobs


def project() -> Project:
    return Project(tracks=(
        Track("Bass", "bass", gain_db=-3.0, effects=(Effect.make("lowpass", cutoff_hz=2000.0),
                                                     Effect.make("reverb", wet=0.2),
                                                     Effect.make("lowpass", cutoff_hz=500.0)),
              clips=(Clip("bass/A1", 0.0, 1.0, 33), Clip("bass/A1", 9.5, 2.0, 33), Clip("bass/A1", 12.0, 1.0, 33))),
    ))


def test_knobs_names_scales_and_ranges():
    knobs = {k.name: k for k in all_knobs(project())}
    assert list(knobs)[:4] == ["Bass:gain_db", "Bass:lowpass.cutoff_hz", "Bass:lowpass.q", "Bass:reverb.room_size"]
    assert "Bass:lowpass2.cutoff_hz" in knobs  # a second lowpass has its own name
    gain = knobs["Bass:gain_db"]
    assert (gain.low, gain.high, gain.log) == (-15.0, 9.0, False)  # +-12 dB around -3 dB
    cutoff = knobs["Bass:lowpass.cutoff_hz"]
    assert cutoff.log and (cutoff.low, cutoff.high) == (20.0, 20000.0)
    # log scale: equal steps are equal frequency ratios; 0.5 is the geometric middle
    assert cutoff.from_unit(0.5) == pytest.approx(632.5, rel=1e-3)
    assert cutoff.to_unit(2000.0) == pytest.approx(2 / 3, abs=1e-9)
    assert not knobs["Bass:reverb.wet"].log and knobs["Bass:reverb.wet"].from_unit(0.25) == 0.25


def test_apply_unit_and_passage():
    p = project()
    knobs = select_knobs(p, "Bass:gain_db,*:lowpass2.cutoff_hz")
    assert [k.name for k in knobs] == ["Bass:gain_db", "Bass:lowpass2.cutoff_hz"]
    x = current_unit(p, knobs)
    assert apply_unit(p, knobs, x) == p  # the project's own point gives the project back
    q = apply_unit(p, knobs, np.array([1.0, 0.0]))
    assert q.tracks[0].gain_db == 9.0 and q.tracks[0].effects[2].value("cutoff_hz") == 20.0
    assert q.tracks[0].effects[0].value("cutoff_hz") == 2000.0  # the first lowpass is not touched
    cut = passage(p, 10.0)
    assert [(c.start, c.hold) for c in cut.tracks[0].clips] == [(0.0, 1.0), (9.5, 0.5)]
    with pytest.raises(InputError, match="'Keys:\\*' matches no parameter"):
        select_knobs(p, "Keys:*")


def _numeric_grad(model, f, noise, eps=1e-6):
    grad = np.zeros_like(f)
    for i in range(len(f)):
        up, down = f.copy(), f.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (model._terms(up, noise)[0] - model._terms(down, noise)[0]) / (2 * eps)
    return grad


def test_likelihood_gradient_and_curvature_match_finite_differences():
    m = PreferenceModel(2)
    for x in ([0.1, 0.1], [0.5, 0.5], [0.9, 0.2], [0.3, 0.8]):
        m.add_point(x)
    m.prefer(0, 1)
    m.prefer(2, 1)
    m.tie(1, 3)
    m.tie(0, 2)
    m.level(3, -1)
    m.level(2, +1)
    f = np.array([0.3, -1.2, 2.5, 0.4])
    for noise in (0.1, 0.3, 1.0):
        _, g, w = m._terms(f, noise)
        assert np.allclose(g, _numeric_grad(m, f, noise), atol=1e-5)
        hess = np.zeros((4, 4))
        for i in range(4):
            up, down = f.copy(), f.copy()
            up[i] += 1e-5
            down[i] -= 1e-5
            hess[:, i] = (m._terms(up, noise)[1] - m._terms(down, noise)[1]) / 2e-5
        assert np.allclose(-w, hess, atol=1e-4)
        assert np.all(np.linalg.eigvalsh(w) >= -1e-9)  # log-concave: W is positive semi-definite


def test_answers_order_the_posterior():
    m = PreferenceModel(1)
    ids = [m.add_point([x]) for x in (0.1, 0.4, 0.7, 0.95)]
    # utility peaks near 0.7: answers consistent with that
    m.prefer(ids[1], ids[0])
    m.prefer(ids[2], ids[1])
    m.prefer(ids[2], ids[3])
    m.fit()
    assert m.favourite() == ids[2]
    mean, var = m.predict(np.array([[0.7], [0.1]]))
    assert mean[0] > mean[1] and np.all(var > 0)
    # "neither" on the favourite and its neighbour: both fall below the prior mean, the favourite moves
    m.level(ids[2], -1)
    m.level(ids[2], -1)
    m.level(ids[2], -1)
    m.fit()
    assert m.fitted.f[ids[2]] < 0 or m.favourite() != ids[2]


def test_tie_keeps_two_versions_close_and_propose_stays_in_the_cube():
    m = PreferenceModel(3)
    a, b, c = (m.add_point(x) for x in ([0.2, 0.2, 0.2], [0.8, 0.8, 0.8], [0.5, 0.1, 0.9]))
    m.tie(a, b)
    m.prefer(a, c)
    m.prefer(b, c)
    m.fit()
    f = m.fitted.f
    assert abs(f[a] - f[b]) < 0.5 * (f[a] - f[c])
    rng = np.random.default_rng(0)
    best, x = m.propose(rng)
    assert best in (a, b) and x.shape == (3,) and np.all((0 <= x) & (x <= 1))
    p = m.p_best(rng)
    assert p.sum() == pytest.approx(1.0) and p[c] < 0.2


def test_finds_the_top_of_a_noiseless_utility():
    """A listener who always answers right: 25 answers bring the favourite near the peak."""
    rng = np.random.default_rng(3)
    peak = np.array([0.7, 0.25, 0.6])
    m = PreferenceModel(3)
    m.add_point([0.5, 0.5, 0.5])
    for _ in range(25):
        best, x = m.propose(rng)
        j = m.add_point(x)
        closer = np.linalg.norm(m.points[j] - peak) < np.linalg.norm(m.points[best] - peak)
        m.prefer(*((j, best) if closer else (best, j)))
        m.fit()
    assert np.linalg.norm(m.points[m.favourite()] - peak) < 0.15
