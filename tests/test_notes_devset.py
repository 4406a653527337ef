"""The dev-set builder on one piece: MMA accompaniment + melody, rendered, with a truth that
matches what was rendered. Needs mma and a GM soundfont (both on the README install line);
FluidR3 stands in for MuseScore General here because it loads in seconds, not a minute."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from producer.errors import InputError
from producer.instruments import INSTRUMENTS
from producer.notes.devset import GM_FAMILIES, build_devset, instrument_for_program, load_piece

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("devset")
    paths = build_devset(out, pieces=1, seed=3, soundfont=SOUNDFONT)
    return out, paths


def test_one_piece_with_its_truth(built):
    import pretty_midi

    out, paths = built
    assert [p.name for p in paths] == ["piece_000.json"]
    assert json.loads((out / "index.json").read_text())["pieces"] == ["piece_000.json"]
    truth = load_piece(paths[0])
    audio, sr = sf.read(truth["audio_path"], always_2d=True)
    assert sr == 44100 and audio.shape[1] == 2
    assert 15.0 <= truth["duration"] <= 30.0
    assert audio.shape[0] == round(truth["duration"] * sr)
    assert 0.5 < np.max(np.abs(audio)) <= 10 ** (-1 / 20) + 1e-3  # normalised to -1 dBFS peak

    # The beat grid is the sheet's tempo and meter, from time 0.
    beat = 60.0 / truth["tempo"]
    assert np.allclose(np.diff(truth["beats"]), beat, atol=1e-4)
    n = truth["time_signature"][0]
    assert truth["time_signature"][1] == 4 and n in (3, 4)
    assert truth["downbeats"] == truth["beats"][::n]

    # The truth is what the written MIDI holds (the melody included), drums apart.
    midi = pretty_midi.PrettyMIDI(str(out / truth["midi"]))
    # (The file holds times on its tick grid, under a millisecond from the rendered ones.)
    pitched = sorted((x.pitch, x.start) for i in midi.instruments if not i.is_drum for x in i.notes)
    want = sorted((x["pitch"], x["onset"]) for x in truth["notes"])
    assert [p for p, _ in pitched] == [p for p, _ in want]
    assert np.allclose([t for _, t in pitched], [t for _, t in want], atol=1e-3)
    hits = sorted((x.pitch, x.start) for i in midi.instruments if i.is_drum for x in i.notes)
    want = sorted((d["key"], d["time"]) for d in truth["drums"])
    assert [k for k, _ in hits] == [k for k, _ in want]
    assert np.allclose([t for _, t in hits], [t for _, t in want], atol=1e-3)
    assert any(p["name"] == "Melody" for p in truth["parts"])
    assert truth["drums"] and {d["class"] for d in truth["drums"]} <= {"kick", "snare", "hihat", "tom", "cymbal", "other"}
    for note in truth["notes"]:
        assert 0.0 <= note["onset"] < note["offset"] <= truth["duration"] + 1e-6
        assert note["instrument"] in INSTRUMENTS and note["family"] == GM_FAMILIES[note["program"] // 8]
    assert f"Tempo {truth['tempo']:g}" in (out / "piece_000.mma").read_text()


def test_the_songs_tempo_is_heard_in_the_piece(built):
    from producer.audio import load_audio
    from producer.rhythm import analyze_rhythm, tempo_error

    truth = load_piece(built[1][0])
    y, sr = load_audio(truth["audio_path"])
    r = analyze_rhythm(y.mean(axis=0), sr)
    assert tempo_error(r.tempo, truth["tempo"])[1]


def test_same_seed_same_files(built, tmp_path):
    out, _ = built
    build_devset(tmp_path, pieces=1, seed=3, soundfont=SOUNDFONT)
    for ext in (".mma", ".mid", ".json", ".wav"):
        assert (tmp_path / f"piece_000{ext}").read_bytes() == (out / f"piece_000{ext}").read_bytes(), ext


def test_bad_settings_write_nothing(tmp_path):
    with pytest.raises(InputError, match="--pieces"):
        build_devset(tmp_path / "a", pieces=0)
    with pytest.raises(InputError, match="soundfont not found"):
        build_devset(tmp_path / "b", pieces=1, soundfont=tmp_path / "none.sf2")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_programs_map_to_our_instruments():
    assert instrument_for_program(0) == "piano" and instrument_for_program(33) == "bass"
    assert instrument_for_program(25) == "acoustic_guitar" and instrument_for_program(29) == "electric_guitar"
    assert instrument_for_program(65) == "saxophone" and instrument_for_program(52) == "voice"
    assert all(instrument_for_program(p) in INSTRUMENTS for p in range(128))
