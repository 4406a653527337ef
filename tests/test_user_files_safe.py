"""Never lose a user's file: every defect of the hostile-user matrix, one test each, named after
what it protects. Each goes through the real CLI (one line, exit status 2, nothing written) or
the staged-output path every command shares."""
import json
import os
import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from producer.cli import main
from producer.output import MARK, staged_output
from producer.project import Clip, Effect, Project, Track

from test_cli import write_project


def _fails(args, capsys, message):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and message in err, err
    return err


def _no_stage_folders(folder):
    return not any(".partial-" in p.name or ".old-" in p.name for p in folder.iterdir())


# --- 1. --force never deletes the user's files ------------------------------------------------
def test_force_refuses_a_folder_holding_the_project_and_the_users_notes(tmp_path, tiny_library_dir, capsys):
    d = tmp_path / "d"
    d.mkdir()
    project = write_project(d)
    (d / "notes.txt").write_text("x")
    _fails(["render", str(project), "--out", str(d), "--force", "--samples", str(tiny_library_dir)], capsys,
           "which this run reads")
    assert sorted(p.name for p in d.iterdir()) == ["notes.txt", "song.json"]


def test_force_refuses_a_folder_holding_the_recreate_input(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    sf.write(d / "in.wav", 0.1 * np.ones(4 * 22050, np.float32), 22050)
    _fails(["recreate", str(d / "in.wav"), "--out", str(d), "--force", "--model", "tiny", "--quiet"], capsys,
           "which this run reads")
    assert [p.name for p in d.iterdir()] == ["in.wav"]


def test_force_refuses_the_parent_of_the_current_folder(tmp_path, tiny_library_dir, capsys, monkeypatch):
    project = write_project(tmp_path)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "mine.txt").write_text("x")
    monkeypatch.chdir(sub)
    _fails(["render", str(project), "--out", str(tmp_path), "--force", "--samples", str(tiny_library_dir)],
           capsys, "holds it")
    assert (sub / "mine.txt").read_text() == "x"


def test_force_refuses_a_folder_holding_a_sample_the_project_uses(tmp_path, capsys):
    samples = tmp_path / "mine"
    samples.mkdir()
    sf.write(samples / "hit.wav", 0.5 * np.sin(np.arange(4410) / 10.0), 44100)
    project = write_project(tmp_path, (Track("Mine", "piano", clips=(Clip("mine/hit.wav", 0.0, 0.1, 60),)),))
    _fails(["render", str(project), "--out", str(samples), "--force"], capsys, "which this run reads")
    assert (samples / "hit.wav").exists()


def test_force_replaces_only_folders_producer_wrote(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    from producer.errors import OutputError

    with pytest.raises(OutputError, match="was not written by producer"):
        with staged_output(out, force=True):
            pass
    assert (out / "thesis.tex").exists() and _no_stage_folders(tmp_path)


# --- 2. no silent overwrite by a concurrent run -------------------------------------------------
def test_a_concurrent_run_is_not_overwritten(tmp_path):
    out = tmp_path / "take"
    with staged_output(out) as first:
        (first / "who.txt").write_text("first")
        with staged_output(out) as second:  # started while the first still runs, finishes first
            (second / "who.txt").write_text("second")
    assert second.final == out and (out / "who.txt").read_text() == "second"
    assert first.final == tmp_path / "take-2" and (tmp_path / "take-2" / "who.txt").read_text() == "first"
    assert _no_stage_folders(tmp_path)


def test_the_final_move_rechecks_force_on_a_folder_filled_meanwhile(tmp_path):
    out = tmp_path / "take"
    with staged_output(out, force=True) as stage:
        (stage / "who.txt").write_text("mine")
        out.mkdir()
        (out / "theirs.txt").write_text("a user's file, not producer's")
    assert (out / "theirs.txt").exists() and stage.final == tmp_path / "take-2"


def test_stage_folders_of_killed_runs_are_cleaned(tmp_path):
    dead = tmp_path / ".take.partial-999999999-abc"  # no process has this id
    dead.mkdir()
    alive = tmp_path / f".take.partial-{os.getpid()}-abc"
    alive.mkdir()
    with staged_output(tmp_path / "take"):
        pass
    assert not dead.exists() and alive.exists()


# --- 3. --out that names the current folder ----------------------------------------------------
@pytest.mark.parametrize("out, message", [(".", "holds it"), ("", "--out is empty"), ("..", "holds it")])
def test_out_naming_the_current_folder_or_nothing_is_refused(tmp_path, tiny_library_dir, capsys, monkeypatch,
                                                             out, message):
    project = write_project(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _fails(["render", str(project), "--out", out, "--force", "--samples", str(tiny_library_dir)], capsys, message)
    assert list(work.iterdir()) == [] and _no_stage_folders(tmp_path)


# --- 4. what used to be tracebacks -------------------------------------------------------------
def test_unicode_track_names_render_and_reach_the_midi(tmp_path, tiny_library_dir):
    import mido

    project = write_project(tmp_path, (Track("鼓 🥁", "drums", clips=(Clip("drums/kick", 0.0, 0.2, 36),)),))
    out = tmp_path / "out"
    assert main(["render", str(project), "--out", str(out), "--samples", str(tiny_library_dir)]) == 0
    mid = mido.MidiFile(out / "arrangement.mid", charset="utf-8")
    assert [m.name for m in mid.tracks[1] if m.type == "track_name"] == ["鼓 🥁"]


@pytest.mark.parametrize("text, message", [
    ('{"format": "producer-project", "version": 1, "tracks": [{"name": "a", "instrument": "piano", '
     '"effects": [{"type": ["reverb"]}]}]}', "unknown effect ['reverb']"),
    ('{"format": "producer-project", "version": 1, "sample_rate": ' + "9" * 5000 + ', "tracks": []}',
     "invalid JSON"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
])
def test_hostile_project_json_is_one_line(tmp_path, capsys, text, message):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    _fails(["render", str(bad), "--out", str(tmp_path / "o")], capsys, message)


@pytest.mark.parametrize("command", ["recreate", "drums"])
def test_negative_seed_is_refused(tmp_path, capsys, command):
    target = tmp_path / "t.wav"
    sf.write(target, 0.1 * np.sin(np.arange(4 * 22050) / 5.0), 22050)
    args = (["recreate", str(target), "--model", "tiny", "--quiet"] if command == "recreate"
            else ["drums", "--kick", "x...x...x...x...", "--no-audio"])
    _fails(args + ["--out", str(tmp_path / "o"), "--seed", "-1"], capsys, "--seed -1")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, message", [
    (["--hop", "0.00001"], "--hop must be at least"), (["--hop", "nan"], "--hop must be at least"),
    (["--window", "inf"], "--window must be"),
])
def test_embed_window_and_hop_are_bounded(tmp_path, capsys, option, message):
    f = tmp_path / "a.wav"
    sf.write(f, 0.1 * np.sin(np.arange(2 * 22050) / 5.0), 22050)
    _fails(["embed", str(f), "--model", "tiny", *option], capsys, message)


def test_manifest_pitch_overflow_is_one_line(tmp_path, tiny_library_dir, capsys):
    import shutil

    lib = tmp_path / "lib"
    shutil.copytree(tiny_library_dir, lib)
    text = (lib / "manifest.json").read_text()
    data = json.loads(text)
    data["samples"][0]["pitch"] = "PITCH"
    (lib / "manifest.json").write_text(json.dumps(data).replace('"PITCH"', "1e999"))
    err = _fails(["samples", "list", "--samples", str(lib)], capsys, "pitch")
    assert "Traceback" not in err


def test_embeddings_eval_checks_its_output_before_rendering(tmp_path, capsys):
    existing = tmp_path / "metrics"
    existing.write_text("not a folder")
    _fails(["embeddings", "eval", "--soundfont", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "--model", "tiny",
            "--clips", "11", "--out", str(existing)], capsys, "exists and is not a folder")


# --- 5. size limits ---------------------------------------------------------------------------
def _huge_wav_header(path, seconds):
    """A WAV whose header announces ``seconds`` of 44.1 kHz stereo 16-bit audio (a sparse file)."""
    data_bytes = int(seconds * 44100) * 4
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + data_bytes)


def test_a_1gb_input_is_refused_from_its_header(tmp_path, capsys):
    big = tmp_path / "big.wav"
    _huge_wav_header(big, 6000)  # 1.06 GB announced
    tracemalloc.start()
    _fails(["recreate", str(big), "--out", str(tmp_path / "o"), "--model", "tiny", "--quiet"], capsys,
           "over the limit of 600 s")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 2**20, peak


def test_project_length_tracks_and_clips_are_bounded(tmp_path, capsys):
    long = Project(tracks=(Track("a", "piano", clips=(Clip("piano/60", 3599.0, 0.5, 60),)),))
    (tmp_path / "long.json").write_text(long.to_json())
    _fails(["render", str(tmp_path / "long.json"), "--out", str(tmp_path / "o")], capsys, "outside [0, 600]")
    many = Project(tracks=tuple(Track(f"t{i}", "piano") for i in range(65)))
    (tmp_path / "many.json").write_text(many.to_json())
    _fails(["render", str(tmp_path / "many.json"), "--out", str(tmp_path / "o")], capsys, "over the limit of 64")
    dense = Project(tracks=(Track("a", "piano", clips=tuple(Clip("piano/60", i * 0.01, 0.01, 60)
                                                            for i in range(10_001))),))
    (tmp_path / "dense.json").write_text(dense.to_json())
    _fails(["render", str(tmp_path / "dense.json"), "--out", str(tmp_path / "o")], capsys, "10000 a track")


def test_evaluations_are_a_hard_cap(tmp_path):
    from producer import api

    target = tmp_path / "noise.wav"
    rng = np.random.default_rng(0)
    sf.write(target, 0.3 * rng.standard_normal(6 * 22050).astype(np.float32), 22050)
    summary = api.recreate(target, tmp_path / "o", preset="fast", evaluations=40, budget_seconds=600,
                           model_name="tiny")
    assert summary.evaluations <= 40
    assert json.loads((tmp_path / "o" / "recreate.json").read_text())["evaluations"] <= 40


# --- 6. the output folder is checked before any work ------------------------------------------
@pytest.mark.parametrize("where, message", [("file/sub", "is not a folder"), ("/proc/producer-x", "cannot create")])
def test_unwritable_out_fails_before_the_search(tmp_path, capsys, monkeypatch, where, message):
    from producer.planner import recreate as planner

    def no_search(*a, **k):
        raise AssertionError("the search started")

    monkeypatch.setattr(planner, "plan_project", no_search)
    (tmp_path / "file").write_text("x")
    target = tmp_path / "t.wav"
    sf.write(target, 0.1 * np.sin(np.arange(4 * 22050) / 5.0), 22050)
    out = str(tmp_path / where) if not where.startswith("/") else where
    _fails(["recreate", str(target), "--out", out, "--model", "tiny", "--quiet"], capsys, message)


# --- 7. same input, same bytes ----------------------------------------------------------------
def test_two_renders_are_byte_identical(tmp_path, tiny_library_dir):
    project = write_project(tmp_path)
    for name in ("a", "b"):
        assert main(["render", str(project), "--out", str(tmp_path / name), "--samples", str(tiny_library_dir)]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any(p.suffix == ".dawproject" for p in files) and any(p.parts[0] == "clips" for p in files)
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


# --- 8. smaller ones --------------------------------------------------------------------------
def test_max_duration_nan_is_refused(tmp_path, capsys):
    target = tmp_path / "t.wav"
    sf.write(target, 0.1 * np.sin(np.arange(4 * 22050) / 5.0), 22050)
    _fails(["recreate", str(target), "--out", str(tmp_path / "o"), "--max-duration", "nan", "--model", "tiny"],
           capsys, "--max-duration must be a positive number")


def test_a_fifo_input_is_refused_without_hanging(tmp_path, capsys):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    _fails(["recreate", str(fifo), "--out", str(tmp_path / "o"), "--model", "tiny", "--quiet"], capsys,
           "not a regular file")


def test_the_output_folder_is_marked(tmp_path, tiny_library_dir):
    out = tmp_path / "out"
    assert main(["render", str(write_project(tmp_path)), "--out", str(out), "--samples", str(tiny_library_dir)]) == 0
    assert (out / MARK).is_file()


def test_a_kick_pattern_of_10000_steps_is_refused(tmp_path, capsys):
    _fails(["drums", "--kick", "x..." * 2504, "--out", str(tmp_path / "d"), "--no-audio"], capsys,
           "over the limit of 64 bars")
    assert not (tmp_path / "d").exists()
