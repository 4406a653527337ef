import json
import shutil

import numpy as np
import pytest

from producer.drums.corpus import (CORPUS_PATH, FILE_FAMILY, HELD_OUT_FILES, MMA_LIB, decode_row,
                                   encode_row, family_of, grooves_from_mma_json, load_corpus,
                                   split)
from producer.drums.patterns import format_pattern


def rows(bar):
    return {v: format_pattern(np.where(r > 0, 1, 0)) for v, r in bar.items()}


def test_known_groove_matches_its_source_file():
    # stdlib/8beat.mma, groove 8Beat, SeqSize 4:
    #   Drum-CHH   Sequence D8                                   (eight eighths)
    #   Drum-OHH   Sequence { D1234; 1.5 0 90; 2.5 0 90 }
    #   Drum-Snare Sequence D24 / / { D24; 3.5 0 90; 4.5 0 90 }
    #   Drum-Kick  Sequence {D1; 3.5 0 90; 4.5 0 90} {D1; D1 Shift .5; 3.5 0 90; 4.5 0 90}
    (g,) = [g for g in load_corpus() if g.file == "8beat" and g.name == "8Beat"]
    assert g.meter == "4/4" and g.family == "rock" and g.kind == "main" and len(g.bars) == 4
    b1, b2, _, b4 = (rows(b) for b in g.bars)
    assert b1["hihat_closed"] == "x.x.x.x.x.x.x.x."
    assert b1["hihat_open"] == "x.x.x.x.x...x..."
    assert b1["snare"] == "....x.......x..."
    assert b4["snare"] == "....x.....x.x.x."
    assert b1["kick"] == "x.........x...x."
    assert b2["kick"] == "x.x.......x...x."
    assert decode_row(encode_row(g.bars[0]["snare"]))[4] == 84  # volume 90 -> bucket 6 -> 84


@pytest.mark.skipif(shutil.which("mma") is None, reason="mma not installed")
def test_committed_corpus_is_what_mma_expands_today():
    from producer.drums.corpus import _groove_times, _mma_json

    path = MMA_LIB / "stdlib" / "8beat.mma"
    got = grooves_from_mma_json(_mma_json(path), file="8beat", family="rock",
                                times=_groove_times(path.read_text()))
    shipped = [g for g in load_corpus() if g.file == "8beat"]
    assert [g.to_json() for g in got] == [g.to_json() for g in shipped]


def fake_groove(name, time, tracks, size=1):
    return {"groove": name, "size": size, "tracks": [
        {"track": t, "voice": [tone] * size, "sequence": [seq] * size} for t, tone, seq in tracks]}


def test_grid_and_meter_from_mma_positions():
    straight = fake_groove("Rockish", 4, [("DRUM-KICK", "KickDrum1", "1 1t 90 ; 3 1t 90"),
                                          ("DRUM-S", "SnareDrum2", "2 1t 100 ; 4.75 1t 40"),
                                          ("DRUM-C", "LowConga", "1.5 1t 90"),  # no voice: dropped
                                          ("CHORD", "Piano1", "1 192t 90")])
    shuffle = fake_groove("ShuffleFill", 4, [("DRUM-KICK", "36", "1 1t 90 ; 3 1t 90"),
                                             ("DRUM-HH", "ClosedHiHat",
                                              "1 1t 90 ; 1.66 1t 70 ; 2 1t 90 ; 2.33 1t 50")])
    waltz = fake_groove("Waltzy", 3, [("DRUM-KICK", "KickDrum2", "1 1t 90"),
                                      ("DRUM-HH", "PedalHiHat", "2 1t 90 ; 3 1t 90")])
    times = {"rockish": (4, "4/4"), "shufflefill": (4, "4/4"), "waltzy": (3, "3/4")}
    a, b, c = grooves_from_mma_json([straight, shuffle, waltz], file="x", family="rock",
                                    times=times)
    assert (a.meter, a.steps_per_bar, a.kind) == ("4/4", 16, "main")
    assert rows(a.bars[0]) == {"kick": "x.......x.......", "snare": "....x..........x"}
    assert a.bars[0]["snare"][15] == 40  # the ghost note keeps its low volume
    assert (b.meter, b.steps_per_bar, b.kind) == ("12/8", 12, "fill")
    assert rows(b.bars[0])["hihat_closed"] == "x.xxx......."
    assert (c.meter, c.steps_per_bar) == ("3/4", 12)
    assert rows(c.bars[0])["hihat_closed"] == "....x...x..."  # the pedal hat counts as closed


def test_families_and_held_out_files():
    corpus = json.loads(CORPUS_PATH.read_text())
    assert len(corpus["files"]) >= 100
    assert family_of("casio/16beat1") == "pop" and family_of("zoom/bald34") == "ballad"
    assert family_of("swing") == "swing" and family_of("metronome") is None
    train, held = split(load_corpus())
    assert {g.file for g in held} == set(HELD_OUT_FILES)
    assert not {g.file for g in train} & set(HELD_OUT_FILES)
    # Held-out files cover most families, so the bench measures more than one kind of groove.
    assert len({g.family for g in held}) >= 8
    assert set(FILE_FAMILY.values()) >= {"rock", "funk", "latin", "jazz", "swing", "ballad",
                                         "waltz", "country"}
