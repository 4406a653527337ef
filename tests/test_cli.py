import json
import subprocess
import sys

import numpy as np
import soundfile as sf

from producer.cli import main
from producer.project import Clip, Effect, Project, Track


def write_project(folder, tracks=None):
    p = Project(tempo=120.0, tracks=tracks or (
        Track("Keys", "piano", gain_db=-6.0, effects=(Effect.make("reverb", wet=0.4),), clips=(
            Clip("piano/60", 0.0, 0.4, 60), Clip("piano/64", 0.5, 0.4, 64), Clip("piano/68", 1.0, 0.4, 67))),
        Track("Kit", "drums", gain_db=-6.0, pan=0.3, clips=(Clip("drums/kick", 0.0, 0.2, 36), Clip("drums/snare", 0.5, 0.2, 38))),
    ))
    path = folder / "song.json"
    p.save(path)
    return path


def test_help_is_instant_and_lists_every_subcommand():
    code = ("import sys, producer.cli as c; h = c.build_parser().format_help(); "
            "print(sorted(m for m in ('torch','dawdreamer','librosa','stable_baselines3','gymnasium','ray',"
            "'selenium','cma','pythonosc') if m in sys.modules)); print(h)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, help_text = out.split("\n", 1)
    assert heavy == "[]"
    for name in ("recreate", "render", "export", "drums", "samples", "embed", "embeddings", "match", "tune",
                 "live", "agent", "batch"):
        assert name in help_text


def test_render_writes_everything(tmp_path, tiny_library_dir, capsys):
    project = write_project(tmp_path)
    out = tmp_path / "out"
    assert main(["render", str(project), "--out", str(out), "--samples", str(tiny_library_dir)]) == 0
    assert "rendered 2 tracks, 5 clips" in capsys.readouterr().out
    stems = sorted((out / "stems").iterdir())
    assert [p.name for p in stems] == ["01_Keys.wav", "02_Kit.wav"]
    mix, sr = sf.read(str(out / "mix.wav"), always_2d=True)
    assert sf.info(str(out / "mix.wav")).subtype == "PCM_24"
    total = np.zeros_like(mix)
    for p in stems:
        y, _ = sf.read(str(p), always_2d=True)
        assert y.shape == mix.shape and sf.info(str(p)).subtype == "PCM_24"
        total += y
    # the null test, through 24-bit files: each file rounds by at most 2^-24
    assert np.max(np.abs(total - mix)) < 1e-4
    assert json.loads((out / "project.json").read_text())["tracks"][0]["name"] == "Keys"
    assert (out / "arrangement.mid").stat().st_size > 0


def _assert_fails(args, capsys, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_bad_inputs_exit_2_and_write_nothing(tmp_path, tiny_library_dir, capsys):
    lib = ["--samples", str(tiny_library_dir)]
    out = tmp_path / "out"
    _assert_fails(["render", str(tmp_path / "nope.json"), "--out", str(out), *lib], capsys, "no such file")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    _assert_fails(["render", str(bad), "--out", str(out), *lib], capsys, "invalid JSON")
    unknown = write_project(tmp_path, (Track("Kit", "drums", clips=(Clip("drums/cowbell", 0, 0.1, 56),)),))
    _assert_fails(["render", str(unknown), "--out", str(out), *lib], capsys, "unknown sample 'drums/cowbell'")
    escape = write_project(tmp_path, (Track("Kit", "drums", clips=(Clip("../../secret.wav", 0, 0.1, 56),)),))
    _assert_fails(["render", str(escape), "--out", str(out), *lib], capsys, "escapes the project folder")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "song.json"]

    good = write_project(tmp_path)
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    _assert_fails(["render", str(good), "--out", str(out), *lib], capsys, "is not empty (use --force")
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    # --force replaces only a folder producer wrote: the user's own folder is refused, untouched.
    _assert_fails(["render", str(good), "--out", str(out), "--force", *lib], capsys, "was not written by producer")
    assert [p.name for p in out.iterdir()] == ["precious.txt"]
    (out / "precious.txt").unlink()
    assert main(["render", str(good), "--out", str(out), *lib]) == 0
    (out / "extra.txt").write_text("made after the render")
    assert main(["render", str(good), "--out", str(out), "--force", *lib]) == 0
    assert not (out / "extra.txt").exists() and (out / "mix.wav").exists()


def test_samples_from_the_project_folder_are_copied(tmp_path, tiny_library_dir):
    y = 0.5 * np.sin(2 * np.pi * 220 * np.arange(4410) / 44100)
    sf.write(str(tmp_path / "my_hit.wav"), y, 44100)
    project = write_project(tmp_path, (Track("Mine", "piano", clips=(Clip("my_hit.wav", 0.1, 0.1, 57),)),))
    out = tmp_path / "out"
    assert main(["render", str(project), "--out", str(out), "--samples", str(tiny_library_dir)]) == 0
    data = json.loads((out / "project.json").read_text())
    assert data["tracks"][0]["clips"][0]["sample"] == "samples/my_hit.wav"
    assert (out / "samples" / "my_hit.wav").exists()
    # and the copy renders on its own, from its own folder
    assert main(["render", str(out / "project.json"), "--out", str(tmp_path / "again"),
                 "--samples", str(tiny_library_dir)]) == 0


def test_clipping_mix_is_reported(tmp_path, tiny_library_dir, capsys):
    loud = write_project(tmp_path, (Track("Kit", "drums", gain_db=18.0, clips=(Clip("drums/kick", 0, 0.2, 36),)),))
    assert main(["render", str(loud), "--out", str(tmp_path / "o"), "--samples", str(tiny_library_dir)]) == 0
    assert "warning: the mix peaks at +" in capsys.readouterr().err


def test_user_folder_samples_travel_with_the_project(tmp_path):
    """A project made from a user's sample folder renders later without that folder."""
    user = tmp_path / "my_sounds"
    user.mkdir()
    t = np.arange(22050) / 44100
    sf.write(str(user / "blip.wav"), 0.4 * np.sin(2 * np.pi * 330 * t) * np.exp(-8 * t), 44100)
    project = write_project(tmp_path, (Track("Mine", "piano", clips=(Clip("user/blip.wav", 0.0, 0.3, 64),)),))
    out = tmp_path / "out"
    assert main(["render", str(project), "--out", str(out), "--samples", str(user)]) == 0
    assert json.loads((out / "project.json").read_text())["tracks"][0]["clips"][0]["sample"] == "samples/blip.wav"
    assert main(["render", str(out / "project.json"), "--out", str(tmp_path / "again")]) == 0
    a, _ = sf.read(str(out / "mix.wav"))
    b, _ = sf.read(str(tmp_path / "again" / "mix.wav"))
    assert np.array_equal(a, b)
