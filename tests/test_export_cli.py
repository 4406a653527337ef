"""`producer export`: every format written, a chosen subset only, and bad input refused with one
line, exit status 2 and nothing written."""
from __future__ import annotations

import shutil
import zipfile

import pytest

from producer.cli import main
from producer.export.sessions import FORMATS, parse_formats
from producer.errors import InputError
from producer.project import Clip, Effect, Project, Track


def write_project(folder, sample="piano/60"):
    p = Project(tempo=120.0, tracks=(
        Track("Keys", "piano", gain_db=-6.0, pan=-0.2, effects=(Effect.make("compressor"),),
              clips=(Clip(sample, 0.0, 0.4, 60), Clip(sample, 0.5, 0.4, 62))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.25, 0.1, 36),)),
    ))
    path = folder / "song.json"
    p.save(path)
    return path


def _fails(args, capsys, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_export_writes_every_format(tmp_path, tiny_library_dir, capsys):
    out = tmp_path / "out"
    assert main(["export", str(write_project(tmp_path)), "--out", str(out), "--samples", str(tiny_library_dir)]) == 0
    assert "exported ardour, dawproject, rpp, midi, stems" in capsys.readouterr().out
    top = sorted(p.name for p in out.iterdir())
    assert top == [".producer-output", "ardour", "arrangement.mid", "clips", "session.dawproject", "session.rpp",
                   "stems"]
    assert (out / "ardour" / "session.ardour").is_file()
    audio = sorted(p.name for p in (out / "ardour" / "interchange" / "session" / "audiofiles").iterdir())
    assert audio == sorted(p.name for p in (out / "clips").iterdir()) and len(audio) == 3
    assert [p.name for p in sorted((out / "stems").iterdir())] == ["01_Keys.wav", "02_Kit.wav"]
    assert "project.xml" in zipfile.ZipFile(out / "session.dawproject").namelist()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left behind


def test_export_writes_only_what_is_asked(tmp_path, tiny_library_dir):
    out = tmp_path / "out"
    args = ["export", str(write_project(tmp_path)), "--format", "rpp,midi", "--out", str(out),
            "--samples", str(tiny_library_dir), "--name", "take 2"]
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [".producer-output", "arrangement.mid", "clips", "take 2.rpp"]


def test_parse_formats():
    assert parse_formats("all") == FORMATS
    assert parse_formats(" RPP, midi,rpp ") == ("rpp", "midi")
    with pytest.raises(InputError, match="unknown format 'wav'"):
        parse_formats("midi,wav")


def test_bad_input_exits_2_and_writes_nothing(tmp_path, tiny_library_dir, capsys):
    lib = ["--samples", str(tiny_library_dir)]
    project = write_project(tmp_path)
    out = tmp_path / "out"
    _fails(["export", str(project), "--format", "ardour,protools", "--out", str(out), *lib], capsys,
           "unknown format 'protools'")
    # an output folder that cannot be made: its parent is a file
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    _fails(["export", str(project), "--out", str(blocker / "out"), *lib], capsys, "blocker is not a folder")
    _fails(["export", str(project), "--out", str(blocker), *lib], capsys, "exists and is not a folder")
    # a project whose clip audio is gone: from the library (file removed) or a missing path
    broken_lib = tmp_path / "lib"
    shutil.copytree(tiny_library_dir, broken_lib)
    (broken_lib / "piano_60.wav").unlink()
    _fails(["export", str(project), "--out", str(out), "--samples", str(broken_lib)], capsys, "is missing")
    missing = write_project(tmp_path / "p2" if (tmp_path / "p2").mkdir() is None else tmp_path, sample="takes/gone.wav")
    _fails(["export", str(missing), "--out", str(out), *lib], capsys, "unknown sample 'takes/gone.wav'")
    assert not out.exists()
    assert not [p for p in tmp_path.rglob(".out*")]
    assert blocker.read_text() == "a file, not a folder"
