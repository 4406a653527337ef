import json

import mido
import numpy as np
import pytest
import soundfile as sf

from producer.cli import main

ROCK = "X.....x.x.......|x.....x.x.......|x.....x.x.......|x.....x.x.x....."


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def refused(argv, capsys, tmp_path, message):
    out = tmp_path / "o"
    code, _, err = run(argv + ["--no-audio", "--out", str(out)], capsys)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_bad_input_is_one_line_exit_2_nothing_written(capsys, tmp_path):
    k = ["drums", "--kick", "x" + "." * 15]
    refused(["drums", "--kick", "x..y"], capsys, tmp_path, "unexpected 'y' at position 4")
    refused(k + ["--style", "polka"], capsys, tmp_path, "--style polka: unknown style")
    refused(k + ["--meter", "7/8"], capsys, tmp_path, "--meter 7/8: not supported")
    refused(k + ["--meter", "4/4", "--style", "waltz"], capsys, tmp_path,
            "no waltz grooves in 4/4")
    refused(k + ["--swing", "0.7"], capsys, tmp_path, "--swing 0.7: must be between 0 and 0.5")
    refused(["drums", "--kick", "x....." * 2, "--meter", "12/8", "--swing", "0.2"], capsys,
            tmp_path, "12/8 is already a triplet feel")
    refused(k + ["--humanize", "2"], capsys, tmp_path, "--humanize 2")
    refused(k + ["--bars", "17"], capsys, tmp_path, "--bars 17: must be 1..16")
    refused(k + ["--voices", "snare,cowbell"], capsys, tmp_path, "unknown voice 'cowbell'")
    refused(["drums", "--kick", "." * 16], capsys, tmp_path, "no kick hits")
    refused(["drums", "--kick", "x..."], capsys, tmp_path, "not a whole number of 16-step bars")


def test_midi_and_audio_without_a_kick(capsys, tmp_path):
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=38, velocity=90, channel=9)]))
    mid.save(tmp_path / "snare.mid")
    refused(["drums", "--kick", str(tmp_path / "snare.mid")], capsys, tmp_path, "no kick notes")
    rng = np.random.default_rng(0)
    hats = np.diff(rng.standard_normal(44100), prepend=0.0).astype(np.float32) * 0.1
    sf.write(tmp_path / "hats.wav", hats, 44100)
    refused(["drums", "--kick", str(tmp_path / "hats.wav")], capsys, tmp_path, "no kick found")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("drums")
    argv = ["drums", "--kick", ROCK, "--style", "rock", "--bpm", "100", "--seed", "7",
            "--humanize", "0.5"]
    assert main(argv + ["--out", str(base / "a")]) == 0
    assert main(argv + ["--out", str(base / "b")]) == 0
    return base


def notes_of(path):
    mid = mido.MidiFile(path)
    notes, tick = [], 0
    for m in mid.tracks[1]:
        tick += m.time
        if m.type == "note_on" and m.velocity > 0:
            notes.append((tick, m.note, m.channel, m.velocity))
    return mid, notes


def test_midi_carries_every_voice_on_channel_10(rendered):
    mid, notes = notes_of(rendered / "a" / "drums.mid")
    assert mid.ticks_per_beat == 960
    tempos = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    sig = [(m.numerator, m.denominator) for m in mid.tracks[0] if m.type == "time_signature"]
    assert tempos == [mido.bpm2tempo(100)] and sig == [(4, 4)]
    assert {c for _, _, c, _ in notes} == {9}
    played = {n for _, n, _, _ in notes}
    assert {36, 38, 49} <= played  # kick, snare, the crash on bar 1
    assert played & {42, 46, 51}  # a cymbal keeps time
    assert played <= {36, 38, 42, 46, 49, 51, 45, 47, 50}
    step = 960 // 4
    # Humanize moves hits by at most 25 ms (at 100 bpm a 16th is 150 ms), so steps round back.
    kicks = sorted({round(t / step) for t, n, _, _ in notes if n == 36})
    assert kicks[:4] == [0, 6, 8, 16]
    hats = [(round(t / step), v) for t, n, _, v in notes if n in (42, 51)]
    on = [v for s, v in hats if s % 4 == 0]
    off = [v for s, v in hats if s % 4 == 2]
    assert on and off and np.mean(on) > np.mean(off) + 3  # accents on the beat
    assert len({v for _, n, _, v in notes if n == 38}) > 2  # humanize: not one flat velocity


def test_pattern_json_fill_crash_and_audio(rendered):
    p = json.loads((rendered / "a" / "pattern.json").read_text())
    assert p["meter"] == "4/4" and p["bars"] == 4 and p["style"] == "rock"
    assert p["style_source"] == "asked" and p["policy"] == "drums-4_4"
    assert p["pattern"]["kick"] == ROCK.replace("X", "x")
    assert p["pattern"]["crash"].startswith("x")
    assert any("fill" in n for n in p["bars_added"][3])
    last_beat = {v: row.split("|")[3][12:] for v, row in p["pattern"].items()}
    assert "x" in last_beat.get("snare", "") + last_beat.get("tom_high", "") + \
        last_beat.get("tom_mid", "") + last_beat.get("tom_low", "")
    assert "x" not in last_beat.get("hihat_closed", "") + last_beat.get("ride", "")
    assert p["offset_ms"]  # humanize moved hits
    y, sr = sf.read(rendered / "a" / "drums.wav")
    assert y.ndim == 2 and y.shape[0] / sr >= 4 * 2.4  # four bars at 100 bpm
    assert np.abs(y[: sr // 20]).max() > 0.05


def test_same_seed_same_files(rendered):
    for name in ("drums.mid", "drums.wav", "pattern.json"):
        assert (rendered / "a" / name).read_bytes() == (rendered / "b" / name).read_bytes(), name


def test_waltz_in_three_four_and_default_style(capsys, tmp_path):
    code, out, _ = run(["drums", "--kick", "x...........", "--meter", "3/4", "--bars", "2",
                        "--no-audio", "--out", str(tmp_path / "w")], capsys)
    assert code == 0, out
    p = json.loads((tmp_path / "w" / "pattern.json").read_text())
    assert p["steps_per_bar"] == 12 and p["style_source"] == "matched to the kick"
    mid, _ = notes_of(tmp_path / "w" / "drums.mid")
    assert [(m.numerator, m.denominator) for m in mid.tracks[0]
            if m.type == "time_signature"] == [(3, 4)]


def test_refuses_to_overwrite_without_force_and_default_out(rendered, capsys, tmp_path,
                                                            monkeypatch):
    code, _, err = run(["drums", "--kick", "x" + "." * 15, "--no-audio", "--out",
                        str(rendered / "a")], capsys)
    assert code == 2 and "--force" in err
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["drums", "--kick", "x.......x.......", "--no-audio"], capsys)
    assert code == 0
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("drums-") and folder.name.endswith("-s0")


def test_train_tiny_policy_and_use_it(capsys, tmp_path):
    code, out, _ = run(["drums", "train", "--meter", "6/8", "--timesteps", "300",
                        "--policy-out", str(tmp_path / "pol")], capsys)
    assert code == 0, out
    meta = json.loads((tmp_path / "pol" / "drums-6_8.json").read_text())
    assert meta["config"]["timesteps"] == 300 and meta["command"].startswith("producer drums train")
    code, out, err = run(["drums", "--kick", "x.....x.....", "--meter", "6/8", "--no-audio",
                          "--policy", str(tmp_path / "pol" / "drums-6_8"), "--out",
                          str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "pattern.json").read_text())["policy"] == "drums-6_8"


def test_corpus_rebuild_needs_mma(capsys, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = run(["drums", "corpus", "--out", str(tmp_path / "c.json")], capsys)
    assert code == 2 and "mma is not installed" in err
    assert not (tmp_path / "c.json").exists()


def test_kick_and_tempo_from_audio(capsys, tmp_path):
    from test_drums_kick import SR, loop

    sf.write(tmp_path / "loop.wav", loop({0, 6, 8, 10}, bars=2, bpm=120.0), SR)
    code, out, err = run(["drums", "--kick", str(tmp_path / "loop.wav"), "--no-audio", "--out",
                          str(tmp_path / "o")], capsys)
    assert code == 0, err
    p = json.loads((tmp_path / "o" / "pattern.json").read_text())
    assert p["bpm"] == pytest.approx(120, rel=0.04)
    assert p["pattern"]["kick"].split("|")[0] == "x.....x.x.x....."
