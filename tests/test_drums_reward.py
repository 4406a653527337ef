import numpy as np
import pytest

from producer.drums.patterns import format_pattern, parse_pattern
from producer.drums.reward import (GrooveReward, RewardWeights, StyleTerms, exhaustive_optimum,
                                   optimum_bound, voice_template)
from producer.drums.style import POLICY_VOICES, style_model

ROCK = "x.......x......."
FOUR = "x...x...x...x..."


def h(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


def flat_terms(V=1, T=16, logit=0.0, density=0.125, sync=0.0):
    return StyleTerms(np.full((V, T), logit), np.full(V, density), np.full(V, sync))


def test_learned_style_optimum_plays_the_rock_backbeat_and_eighths():
    m = style_model()
    terms = m.terms("rock", "4/4", POLICY_VOICES, h(ROCK), enabled=("snare", "hihat_closed"))
    r = GrooveReward(POLICY_VOICES, h(ROCK), terms, meter="4/4")
    best, score = exhaustive_optimum(r)
    assert format_pattern(best[0]) == "....x.......x..."
    hat = best[1]
    assert hat[[0, 4, 8, 12]].all() and hat.sum() >= 6 and not hat[1::2].any()  # eighths
    assert not best[2:].any()  # switched-off voices stay silent
    assert score == pytest.approx(optimum_bound(r))  # no open hat: the bound is exact


def test_style_term_is_a_per_step_sum():
    logits = np.zeros((1, 16))
    logits[0, 4], logits[0, 7] = 2.0, -1.0
    r = GrooveReward(("snare",), h(ROCK), StyleTerms(logits, np.zeros(1), np.zeros(1)),
                     weights=RewardWeights(0, 0, 1, 0, 0))
    assert r.score(h("....x..x........")[None]) == pytest.approx((2.0 - 1.0) / 16)
    assert r.measures(h("....x...........")[None])["snare"]["style"] == pytest.approx(2 / 16)


def test_complementarity_prefers_gaps_in_the_kick():
    bb = h("....x.......x...")[None]
    w = RewardWeights(complementarity=1, metrical=0, style=0, density=0, syncopation=0)
    over_rock = GrooveReward(("snare",), h(ROCK), flat_terms(), weights=w)
    over_backbeat_kick = GrooveReward(("snare",), h("x...x.......x..."), flat_terms(), weights=w)
    m = over_rock.measures(bb)["snare"]
    assert m["complementarity"] == 2 / 16 and m["metrical"] == 2 / 16 and m["density"] == 2 / 16
    assert over_backbeat_kick.measures(bb)["snare"]["complementarity"] == -2 / 16
    assert over_rock.score(bb) > over_backbeat_kick.score(bb)


def test_templates_follow_the_meter():
    assert np.flatnonzero(voice_template("snare", "4/4") > 0).tolist() == [4, 12]
    assert np.flatnonzero(voice_template("snare", "3/4") > 0).tolist() == [4, 8]
    assert np.flatnonzero(voice_template("snare", "6/8") > 0).tolist() == [6]
    assert np.flatnonzero(voice_template("snare", "12/8") > 0).tolist() == [3, 9]
    pulse = voice_template("hihat_closed", "3/4")
    assert pulse[0] == 1.0 and pulse[4] == pulse[8] > pulse[2] > pulse[1]


def test_syncopation_measure_on_the_clave():
    r = GrooveReward(("rim",), h("................"), flat_terms())
    assert r.measures(h("x..x..x...x.x...")[None])["rim"]["syncopation_lhl_per_bar"] == 4.0


def test_batch_score_equals_single_score():
    m = style_model()
    kick = h("x.....x...x.....")
    r = GrooveReward(POLICY_VOICES, kick, m.terms("funk", "4/4", POLICY_VOICES, kick))
    rng = np.random.default_rng(0)
    pats = (rng.random((20, 4, 16)) < 0.3).astype(np.uint8)
    assert np.allclose(r.score(pats), [r.score(p) for p in pats])


def test_choked_hats_clash_and_the_bound_holds():
    w = RewardWeights(complementarity=0, metrical=0, style=1, density=0, syncopation=0)
    terms = flat_terms(V=2, logit=1.0)
    r = GrooveReward(("hihat_closed", "hihat_open"), h(FOUR), terms, weights=w)
    both = np.stack([h("..x............."), h("..x.............")])
    apart = np.stack([h("..x............."), h("...x............")])
    assert r.score(apart) - r.score(both) == pytest.approx(8 / 16)
    best, score = exhaustive_optimum(r)
    assert score <= optimum_bound(r) + 1e-12
