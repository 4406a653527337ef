import json

import mido
import numpy as np
import pytest
import soundfile as sf

from producer.cli import main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_pattern_points_at_the_character(capsys, tmp_path):
    code, _, err = run(["drums", "--kick", "x..y", "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "--kick \"x..y\": unexpected 'y' at position 4" in err
    assert not (tmp_path / "o").exists()


def test_bad_settings_exit_2(capsys, tmp_path):
    assert run(["drums", "--kick", "x...", "--out", str(tmp_path / "a")], capsys)[0] == 2
    code, _, err = run(["drums", "--kick", "x" + "." * 15, "--swing", "0.7", "--no-audio",
                        "--out", str(tmp_path / "b")], capsys)
    assert code == 2 and "--swing 0.7" in err
    code, _, err = run(["drums", "--kick", "x" + "." * 15, "--voices", "snare,cowbell",
                        "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and "cowbell" in err


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("drums")
    argv = ["drums", "--kick", "X.......x.x.....", "--voices", "snare,hihat_closed,hihat_open",
            "--bpm", "100", "--seed", "7"]
    assert main(argv + ["--out", str(base / "a")]) == 0
    assert main(argv + ["--out", str(base / "b")]) == 0
    return base


def test_writes_midi_on_channel_10_with_gm_notes(rendered):
    mid = mido.MidiFile(rendered / "a" / "drums.mid")
    assert mid.type == 1 and len(mid.tracks) == 2
    tempos = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(100)]
    notes, tick = [], 0
    for m in mid.tracks[1]:
        tick += m.time
        if m.type == "note_on":
            notes.append((tick, m.note, m.channel, m.velocity))
    assert {c for _, _, c, _ in notes} == {9}
    assert {n for _, n, _, _ in notes} <= {36, 38, 42, 46}
    step = 480 // 4
    kicks = [(t // step, v) for t, n, _, v in notes if n == 36]
    assert [s for s, _ in kicks] == [0, 8, 10]
    assert kicks[0][1] == 124  # the accented X
    pattern = json.loads((rendered / "a" / "pattern.json").read_text())
    snare_steps = sorted(t // step for t, n, _, _ in notes if n == 38)
    assert "".join("x" if i in snare_steps else "." for i in range(16)) == pattern["pattern"]["snare"]


def test_pattern_json_and_audio(rendered):
    pattern = json.loads((rendered / "a" / "pattern.json").read_text())
    assert pattern["pattern"]["kick"] == "x.......x.x....."
    assert pattern["pattern"]["snare"][4] == "x" and pattern["pattern"]["snare"][12] == "x"
    assert pattern["bpm"] == 100 and pattern["bars"] == 1 and pattern["gm_notes"]["hihat_open"] == 46
    assert set(pattern["measures"]) == {"snare", "hihat_closed", "hihat_open"}
    y, sr = sf.read(rendered / "a" / "drums.wav")
    assert y.ndim == 2 and y.shape[1] == 2
    assert y.shape[0] / sr >= 2.4  # one bar at 100 bpm
    # The kick on the downbeat is loud at once; the wav starts with sound.
    assert np.abs(y[: sr // 20]).max() > 0.05


def test_same_seed_same_files(rendered):
    for name in ("drums.mid", "drums.wav", "pattern.json"):
        assert (rendered / "a" / name).read_bytes() == (rendered / "b" / name).read_bytes(), name


def test_refuses_to_overwrite_without_force(rendered, capsys):
    code, _, err = run(["drums", "--kick", "x" + "." * 15, "--no-audio", "--out",
                        str(rendered / "a")], capsys)
    assert code == 2 and "--force" in err
    code, out, _ = run(["drums", "--kick", "x" + "." * 15, "--no-audio", "--force", "--out",
                        str(rendered / "a")], capsys)
    assert code == 0 and not (rendered / "a" / "drums.wav").exists()
    assert out.splitlines()[1].startswith("kick")


def test_bars_loop_the_kick_and_default_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["drums", "--kick", "x.......x.......", "--bars", "2", "--voices", "snare",
                        "--no-audio"], capsys)
    assert code == 0
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("drums-")
    pattern = json.loads((folder / "pattern.json").read_text())
    assert pattern["pattern"]["kick"] == "x.......x.......|x.......x......."
    assert pattern["pattern"]["snare"] == "....x.......x...|....x.......x..."
    assert len(pattern["chunks"]) == 2  # the one-bar policy answered bar by bar


def test_train_tiny_policy_and_use_it(capsys, tmp_path):
    code, out, _ = run(["drums", "train", "--voices", "snare", "--bars", "1", "--timesteps", "1500",
                        "--policy-out", str(tmp_path / "pol")], capsys)
    assert code == 0
    meta = json.loads((tmp_path / "pol" / "snare-16x1.json").read_text())
    assert meta["config"]["timesteps"] == 1500 and meta["command"].startswith("producer drums train")
    code, out, _ = run(["drums", "--kick", "x...x...x...x...", "--voices", "snare", "--no-audio",
                        "--policy", str(tmp_path / "pol" / "snare-16x1"), "--out",
                        str(tmp_path / "o")], capsys)
    assert code == 0
    assert json.loads((tmp_path / "o" / "pattern.json").read_text())["policy"] == "snare-16x1"
