import numpy as np
import pytest

from producer.drums.corpus import load_corpus, split
from producer.drums.patterns import parse_pattern
from producer.drums.style import (HIT_THRESHOLD, POLICY_VOICES, StyleModel, kick_context,
                                  style_model)
from producer.errors import InputError


def k(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


def test_kick_context_sees_the_neighbours():
    assert kick_context(k("x.x.")).tolist() == [4 + 0 + 0, 2 + 1, 4, 2 + 1]
    assert kick_context(k("x...")).tolist() == [4, 2, 0, 1]


def test_rock_snare_learns_the_backbeat_from_the_corpus():
    m = style_model()
    p = m.prob("rock", "4/4", "snare", k("x.......x.x....."))
    assert p[4] > 0.5 and p[12] > 0.5
    assert p[0] < HIT_THRESHOLD and p[1] < 0.1
    hat = m.prob("rock", "4/4", "hihat_closed", k("x.......x......."))
    assert (hat[::2] > HIT_THRESHOLD).sum() >= 6  # eighth notes


def test_styles_differ_and_meters_have_their_own_grids():
    m = style_model()
    assert {"rock", "funk", "latin", "jazz", "swing", "ballad", "pop"} <= set(m.families("4/4"))
    assert "waltz" in m.families("3/4") and "waltz" not in m.families("4/4")
    waltz = m.prob("waltz", "3/4", "snare", k("x..........."))
    assert waltz.shape == (12,)
    assert min(waltz[4], waltz[8]) > 3 * max(waltz[[1, 2, 3, 5, 6, 7, 9, 10, 11]])
    hat = m.prob("waltz", "3/4", "hihat_closed", k("x..........."))
    assert hat[4] > 0.5 and hat[8] > 0.5  # oom-pah-pah: the hat on beats 2 and 3
    bar = k("x.......x.x.....")
    assert not np.allclose(m.prob("rock", "4/4", "ride", bar), m.prob("jazz", "4/4", "ride", bar))


def test_terms_switch_voices_off():
    t = style_model().terms("rock", "4/4", POLICY_VOICES, k("x.......x......."),
                            enabled=("snare",))
    assert t.logits.shape == (4, 16)
    assert (t.logits[1:] == -4.0).all() and t.logits[0].max() > 0
    assert t.density[1:].tolist() == [0.0, 0.0, 0.0]


def test_unknown_style_and_meter_are_one_line_errors():
    m = style_model()
    with pytest.raises(InputError, match="--style polka: unknown style"):
        m.get("polka", "4/4")
    with pytest.raises(InputError, match="--meter 5/4: not supported"):
        m.get("rock", "5/4")
    with pytest.raises(InputError, match="no waltz grooves in 4/4"):
        m.get("waltz", "4/4")


def test_best_family_follows_the_kick():
    m = style_model()
    four_on_floor = np.tile(k("x...x...x...x..."), (4, 1))
    fam = m.best_family(four_on_floor, "4/4")
    assert fam in m.families("4/4")
    assert m.best_family(k("x.....x.....")[None], "3/4") == "waltz" or \
        "waltz" in m.families("3/4")


def test_fitting_ignores_held_out_files_and_is_deterministic():
    train, held = split(load_corpus())
    a, b = StyleModel(train), StyleModel(train)
    bar = k("x.....x...x.....")
    assert np.array_equal(a.prob("funk", "4/4", "snare", bar), b.prob("funk", "4/4", "snare", bar))
    assert not {g.file for g in a.grooves} & {g.file for g in held}
