"""`producer recreate` end to end: outputs, determinism, bad input (exit 2, nothing written)."""
import json

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main


@pytest.fixture(scope="module")
def files(recreate_inputs):
    root, lib_dir, lib, target, preset = recreate_inputs
    return root, lib_dir, target, preset


def _run(files, out, *extra):
    root, lib_dir, target, preset = files
    return main(["recreate", str(target), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                 "--model", "tiny", "--quiet", *extra])


def test_writes_a_project_folder(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(files, out, "--seed", "1") == 0
    names = {p.name for p in out.iterdir()}
    assert {"mix.wav", "stems", "arrangement.mid", "project.json", "report.html", "search_log.jsonl",
            "recreate.json"} <= names
    summary = json.loads((out / "recreate.json").read_text())
    assert summary["reward"] > 0 and summary["evaluations"] > 0 and summary["seed"] == 1
    assert len(summary["window_rewards"]) == 2  # 4 s: windows at 0 and 1 s
    log = [json.loads(line) for line in (out / "search_log.jsonl").read_text().splitlines()]
    assert log and {"iteration", "action", "reward"} <= set(log[0])
    y, sr = sf.read(out / "mix.wav")
    assert sr == 44100 and np.abs(y).max() > 0.01
    assert "recreated with reward" in capsys.readouterr().out


def test_same_seed_same_files(files, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run(files, a, "--seed", "5") == 0
    assert _run(files, b, "--seed", "5") == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {"project.json", "search_log.jsonl", "recreate.json", "mix.wav", "report.html",
            "session.dawproject"} <= {str(p) for p in files}
    for name in files:  # every file, the report and the sessions included
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("case, message", [
    ("silence", "silent"),
    ("short", "shorter than one reward window"),
    ("nan", "NaN"),
    ("long", "over the limit"),
    ("text", "not an audio file"),
])
def test_bad_input_exits_2_and_writes_nothing(files, tmp_path, capsys, case, message):
    root, lib_dir, target, preset = files
    bad = tmp_path / "bad.wav"
    sr = 22050
    if case == "silence":
        sf.write(bad, np.zeros(4 * sr, np.float32), sr)
    elif case == "short":
        sf.write(bad, 0.1 * np.ones(2 * sr, np.float32), sr)
    elif case == "nan":
        y = 0.1 * np.ones(4 * sr, np.float32)
        y[5] = np.inf
        sf.write(bad, y, sr, subtype="FLOAT")
    elif case == "long":
        sf.write(bad, 0.1 * np.ones(12 * sr, np.float32), sr)
    else:
        bad.write_text("hello")
    out = tmp_path / "out"
    code = main(["recreate", str(bad), "--out", str(out), "--preset", str(preset), "--samples", str(lib_dir),
                 "--model", "tiny", "--quiet", "--max-duration", "10"])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_bad_options_exit_2(files, tmp_path, capsys):
    root, lib_dir, target, preset = files
    assert main(["recreate", str(target), "--out", str(tmp_path / "o"), "--preset", "nope"]) == 2
    assert "no preset named 'nope'" in capsys.readouterr().err
    assert _run(files, tmp_path / "o", "--tracks", "0") == 2
    assert "search.tracks" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert _run(files, tmp_path / "full") == 2
    assert "not empty" in capsys.readouterr().err


def test_interrupt_still_writes_best_project(files, tmp_path, monkeypatch):
    from producer.planner import evaluate

    original = evaluate.Evaluator.evaluate_batch
    calls = {"n": 0}

    def flaky(self, parent, children):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return original(self, parent, children)

    monkeypatch.setattr(evaluate.Evaluator, "evaluate_batch", flaky)
    out = tmp_path / "out"
    assert _run(files, out) == 0
    summary = json.loads((out / "recreate.json").read_text())
    assert summary["interrupted"] is True
    assert (out / "project.json").exists() and (out / "mix.wav").exists()


def test_tempo_and_quantize_reach_the_project(files, tmp_path):
    """--tempo sets the project's tempo (MIDI included); --quantize puts every note on the grid
    that the beats at that tempo draw."""
    import mido

    out = tmp_path / "q"
    assert _run(files, out, "--tempo", "90", "--quantize", "1/8") == 0
    data = json.loads((out / "project.json").read_text())
    assert data["tempo"] == 90.0
    mid = mido.MidiFile(out / "arrangement.mid")
    tempi = [round(mido.tempo2bpm(m.tempo), 3) for m in mid.tracks[0] if m.type == "set_tempo"]
    # 90 from bar 1 on, after a pickup bar where the music's first downbeat is after 0; the user's
    # tempo is kept throughout (no tempo map)
    assert tempi[-1] == 90.0 and len(tempi) == (2 if data.get("downbeat") else 1) and "tempo_map" not in data
    assert 0.0 <= data.get("downbeat", 0.0) < 4 * 60 / 90
    starts = np.array([c["start"] for t in data["tracks"] for c in t["clips"]])
    summary = json.loads((out / "recreate.json").read_text())
    beats = np.array(summary["beats"])
    assert len(starts) and len(beats) >= 2
    assert np.median(np.diff(beats)) == pytest.approx(60 / 90, rel=0.05)
    # On the grid: snapping again moves nothing.
    from producer.rhythm import quantize

    np.testing.assert_allclose(quantize(starts, beats, "1/8"), starts, atol=1e-4)


@pytest.mark.parametrize("option, message", [
    (["--tempo", "5"], "--tempo"), (["--tempo", "nan"], "--tempo"), (["--quantize", "1/7"], "--quantize"),
])
def test_tempo_and_quantize_out_of_range_exit_2(files, tmp_path, capsys, option, message):
    assert _run(files, tmp_path / "o", *option) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
