import pytest

from producer.errors import OutputError
from producer.output import MARK, check_output_dir, staged_output


def test_staged_output_moves_into_place(tmp_path):
    out = tmp_path / "project"
    with staged_output(out) as stage:
        (stage / "mix.wav").write_bytes(b"x")
        assert not out.exists()  # nothing visible until the end
    assert (out / "mix.wav").read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["project"]  # no temp folders left behind


def test_failure_leaves_nothing(tmp_path):
    out = tmp_path / "project"
    with pytest.raises(RuntimeError):
        with staged_output(out) as stage:
            (stage / "half.wav").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_interrupt_keeps_the_old_folder(tmp_path):
    out = tmp_path / "project"
    with staged_output(out) as stage:
        (stage / "keep.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with staged_output(out, force=True) as stage:
            (stage / "new.txt").write_text("new")
            raise KeyboardInterrupt
    assert (out / "keep.txt").read_text() == "old" and not (out / "new.txt").exists()


def test_non_empty_needs_force(tmp_path):
    out = tmp_path / "project"
    with staged_output(out) as stage:
        (stage / "old.txt").write_text("old")
    with pytest.raises(OutputError, match="is not empty .use --force"):
        check_output_dir(out)
    with staged_output(out, force=True) as stage:
        (stage / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MARK, "new.txt"]


def test_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output_dir(tmp_path / "f")


def test_output_folder_gets_ordinary_permissions(tmp_path):
    import os

    out = tmp_path / "project"
    with staged_output(out):
        pass
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
