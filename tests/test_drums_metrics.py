import numpy as np
import pytest

from producer.drums.metrics import (LHLScorer, backbeat_template, complementarity, density,
                                    lhl_syncopation, metrical_levels, offbeat_template,
                                    pulse_template)
from producer.drums.patterns import parse_pattern
from producer.drums.reward import all_patterns

L16 = metrical_levels(16)


def h(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


def test_metrical_levels():
    assert L16.tolist() == [0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4]
    # 12 steps = four beats of triplets: half bar, beat, triplet.
    assert metrical_levels(12).tolist() == [0, -3, -3, -2, -3, -3, -1, -3, -3, -2, -3, -3]
    assert metrical_levels(16, 2).tolist() == L16.tolist() * 2


@pytest.mark.parametrize("text,value", [
    ("x...x...x...x...", 0.0),   # four-on-the-floor: never syncopated
    ("x..x..x...x.x...", 4.0),   # son clave 3-2
    ("x..x...x..x.x...", 5.0),   # rumba clave 3-2: one more syncopation than son
    ("....x.......x...", 3.0),   # a backbeat alone (no kick) syncopates against beats 1 and 3
    ("x.x.x.x.x.x.x.x.", 0.0),   # eighth notes
    # every off-beat sixteenth (-4) syncopates against the following rest step, whose weights
    # run -3 -2 -3 -1 -3 -2 -3 0: 1+2+1+3+1+2+1+4
    (".x.x.x.x.x.x.x.x", 15.0),
])
def test_lhl_textbook(text, value):
    assert lhl_syncopation(h(text), L16) == value
    assert LHLScorer(L16)(h(text)) == value


def test_lhl_batch_matches_single():
    pats = all_patterns(16)[::97]
    batch = lhl_syncopation(pats, L16)
    fast = LHLScorer(L16)
    assert batch.shape == (len(pats),)
    assert np.array_equal(batch, [fast(p) for p in pats])


def test_complementarity_backbeat():
    backbeat = h("....x.......x...")
    assert complementarity(backbeat, h("x.......x.......")) == 2 / 16
    assert complementarity(backbeat, h("x...x...x...x...")) == -2 / 16
    assert complementarity(np.zeros(16), h("x...x...x...x...")) == 0.0


def test_density_and_templates():
    assert density(h("x.x.x.x.x.x.x.x.")) == 0.5
    assert np.flatnonzero(backbeat_template(16) > 0).tolist() == [4, 12]
    assert np.flatnonzero(offbeat_template(16) > 0).tolist() == [2, 6, 10, 14]
    p = pulse_template(16)
    assert p[0] == 1.0 and p[1] == 0.0 and p[8] == 0.75
