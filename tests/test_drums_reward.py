import mido
import numpy as np
import pytest

from producer.drums.patterns import format_pattern, parse_pattern
from producer.drums.prior import StylePrior, load_midi_folder, voice_name
from producer.drums.reward import GrooveReward, RewardWeights, exhaustive_optimum
from producer.errors import InputError

PRIOR = StylePrior.default()
ROCK = "x.......x......."
FOUR = "x...x...x...x..."


def h(text):
    return (parse_pattern(text) > 0).astype(np.uint8)


def best(voice, kick, **kw):
    r = GrooveReward((voice,), h(kick), prior=PRIOR, **kw)
    pat, _ = exhaustive_optimum(r)
    return format_pattern(pat[0])


def test_prior_learns_the_backbeat():
    p = PRIOR.p["snare"]
    assert p[0, 4] > 0.8 and p[0, 12] > 0.8       # beats 2 and 4 where the kick rests
    assert p[0, 1] < 0.1 and p[1, 0] < 0.2         # not on a sixteenth, not on the kick's downbeat
    assert PRIOR.density["hihat_closed"] == pytest.approx(0.54, abs=0.01)
    assert PRIOR.n_patterns == 24


def test_optimum_is_the_textbook_answer():
    assert best("snare", ROCK) == "....x.......x..."
    assert best("snare", FOUR) == "....x.......x..."
    assert best("hihat_closed", ROCK) == "x.x.x.x.x.x.x.x."


def test_complementarity_prefers_gaps_in_the_kick():
    bb = h("....x.......x...")[None]
    over_rock = GrooveReward(("snare",), h(ROCK), prior=PRIOR)
    over_backbeat_kick = GrooveReward(("snare",), h("x...x.......x..."), prior=PRIOR)
    m = over_rock.measures(bb)["snare"]
    assert m["complementarity"] == 2 / 16 and m["metrical"] == 2 / 16
    assert m["density"] == 2 / 16
    assert over_backbeat_kick.measures(bb)["snare"]["complementarity"] == -2 / 16
    assert over_rock.score(bb) > over_backbeat_kick.score(bb)


def test_syncopation_measure_on_the_groove():
    r = GrooveReward(("rim",), h("................"), prior=PRIOR)
    clave = h("x..x..x...x.x...")[None]
    assert r.measures(clave)["rim"]["syncopation_lhl_per_bar"] == 4.0


def test_weights_are_settable_and_change_the_answer():
    # With only complementarity and density, the snare fills the kick's gaps at its density.
    w = RewardWeights(complementarity=1, metrical=0, style=0, density=1, syncopation=0)
    r = GrooveReward(("snare",), h(FOUR), prior=PRIOR, weights=w)
    pat, score = exhaustive_optimum(r)
    assert not (pat[0] & h(FOUR)).any()
    off = GrooveReward(("snare",), h(FOUR), prior=PRIOR,
                       weights=RewardWeights(0, 0, 0, 0, 0))
    assert off.score(h("x.x.x.x.x.x.x.x.")[None]) == 0.0


def test_batch_score_equals_single_score():
    r = GrooveReward(("snare", "hihat_closed", "hihat_open"), np.tile(h(ROCK), 2), prior=PRIOR)
    rng = np.random.default_rng(0)
    pats = (rng.random((20, 3, 32)) < 0.3).astype(np.uint8)
    assert np.allclose(r.score(pats), [r.score(p) for p in pats])


def test_choked_hats_clash():
    # Only complementarity on: the open hat on step 2 or 3 is off the kick either way, so the
    # difference is the choke clash with the closed hat on step 2: 8 x 1/16.
    w = RewardWeights(complementarity=1, metrical=0, style=0, density=0, syncopation=0)
    r = GrooveReward(("hihat_closed", "hihat_open"), h(FOUR), prior=PRIOR, weights=w)
    closed = h("x.x.x.x.x.x.x.x.")
    apart = np.stack([closed, h("...x............")])
    together = np.stack([closed, h("..x.............")])
    assert r.score(apart) - r.score(together) == pytest.approx(8 / 16)


def test_midi_folder_loader(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=120)
    tr = mido.MidiTrack()
    notes = [(0, 36), (0, 42), (120, 38), (120, 42), (240, 36), (240, 42), (360, 38), (360, 42)]
    now = 0
    for tick, n in notes:
        tr.append(mido.Message("note_on", channel=9, note=n, velocity=100, time=tick - now))
        now = tick
    mid.tracks.append(tr)
    mid.save(tmp_path / "beat.mid")
    pats = load_midi_folder(tmp_path)
    assert len(pats) == 1
    assert format_pattern(pats[0]["snare"]) == "....x.......x..."
    assert format_pattern(pats[0]["hihat_closed"]) == "x...x...x...x..."
    prior = StylePrior.fit(pats)
    assert prior.p["snare"][0, 4] > 0.5 and prior.density["snare"] == 2 / 16
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .mid files"):
        load_midi_folder(tmp_path / "empty")


def test_voice_names():
    assert voice_name("hihat") == "hihat_closed" and voice_name("Open-Hat") == "hihat_open"
    with pytest.raises(InputError, match="unknown voice 'cowbell'"):
        voice_name("cowbell")
