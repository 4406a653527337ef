"""Staged output: results are written to a temporary folder and moved into place at the end.

A failed or interrupted run therefore never leaves a half-written folder. The rules that keep a
user's files safe:

- the output folder is checked before any work: it may not be (or hold) the current folder or an
  input of the run, an existing non-empty folder needs ``--force``, and its parent must really
  take a new folder (a probe folder is created and removed there);
- ``--force`` replaces only a folder producer wrote itself (it carries the ``MARK`` file) or an
  empty one; anything else is refused;
- the final move is a rename that fails rather than overwrite: when another run filled the folder
  in the meantime, the result goes to the first free ``NAME-2``, ``NAME-3``, ... and the caller
  reports where (``stage.final``);
- stage folders left behind by a killed run (their process is gone) are removed on the next run.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from producer.errors import InputError, OutputError

# Written into every folder producer writes: proof that --force may replace it.
MARK = ".producer-output"
MAX_SEED = 2**32 - 1


class StagePath(type(Path())):
    """The stage folder (a Path); once the block has ended, ``final`` is where it now lives."""

    final: Path


def check_seed(seed: int) -> int:
    """Seeds reach numpy, torch and Python's random: one range for all of them."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed {seed}: must be an integer 0..{MAX_SEED}")
    return seed


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dir(out: str | os.PathLike, *, force: bool = False,
                     inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Validate an output folder before any work is done; returns it as a Path.

    Raises OutputError naming the problem: an empty name; a folder that is, or holds, the current
    folder or one of ``inputs`` (files the run reads: they would be lost on replacement); a file
    in the way; an existing non-empty folder without ``force``, or one producer did not write;
    a parent where no folder can be created.
    """
    text = os.fspath(out)
    if not str(text).strip():
        raise OutputError("--out is empty: name a folder to write")
    out = Path(out)
    real = Path(os.path.realpath(out))
    if _inside(Path.cwd().resolve(), real):
        raise OutputError(f"--out {out} is the current folder or holds it; name a new folder")
    for item in inputs:
        if _inside(Path(os.path.realpath(item)), real):
            raise OutputError(f"--out {out} holds {item}, which this run reads; choose another folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputError(f"--out {out} is not empty (use --force to replace it)")
        if not (out / MARK).is_file():
            raise OutputError(f"--out {out} was not written by producer; --force replaces only "
                              "producer's own folders (empty it or choose another)")
    probe = real.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"--out {out}: {probe} is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".producer-probe-", dir=probe))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create a folder in {probe} ({exc.strerror})") from None
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(parent: Path, name: str) -> None:
    """Remove stage and trash folders of ``name`` whose process no longer runs."""
    for kind in ("partial", "old"):
        for folder in parent.glob(f".{glob_escape(name)}.{kind}-*-*"):
            pid = folder.name[len(f".{name}.{kind}-"):].split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)) and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _replaceable(out: Path) -> bool:
    return out.is_dir() and ((out / MARK).is_file() or not any(out.iterdir()))


def _move_into_place(stage: Path, out: Path, *, force: bool) -> Path:
    """Rename ``stage`` to ``out``; never over a folder that is not ours to replace."""
    parent = stage.parent
    if force and out.exists() and _replaceable(out):
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=parent))
        os.rename(out, trash / "old")
        try:
            os.rename(stage, out)
            return out
        except OSError:
            pass  # another run filled it meanwhile: theirs stays, ours takes a new name
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    candidates = [out] + [out.with_name(f"{out.name}-{k}") for k in range(2, 1000)]
    for candidate in candidates:
        try:
            # rename() replaces only an empty folder; a non-empty one or a file makes it fail.
            os.rename(stage, candidate)
            return candidate
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise OutputError(f"--out {out}: cannot move the result into place ({exc.strerror})") from None
    raise OutputError(f"--out {out}: no free name beside it")


@contextlib.contextmanager
def staged_output(out: str | os.PathLike, *, force: bool = False,
                  inputs: Iterable[str | os.PathLike] = ()) -> Iterator[StagePath]:
    """Yield a temporary folder beside ``out``; on success it becomes ``out`` (see the module's
    rules) and ``stage.final`` names where it landed.

    On any exception (KeyboardInterrupt included) the temporary folder is removed and ``out``
    is left exactly as it was.
    """
    out = check_output_dir(out, force=force, inputs=inputs)
    parent = Path(os.path.abspath(out)).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(parent, out.name)
        stage = StagePath(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create folder ({exc.strerror})") from None
    try:
        yield stage
        (stage / MARK).write_text("written by producer; `--force` may replace this folder\n")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    # mkdtemp makes the folder private (0700); give it the mode a plain mkdir would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    try:
        final = _move_into_place(stage, Path(os.path.abspath(out)), force=force)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    stage.final = out if final == Path(os.path.abspath(out)) else Path(out).with_name(final.name)


@contextlib.contextmanager
def staged_file(path: str | os.PathLike, *, force: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    Raises OutputError before any work when ``path`` has the wrong suffix, is a folder, or exists
    without ``force``. On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    if suffix is not None and path.suffix != suffix:
        raise OutputError(f"--out must name a {suffix} file, given {path}")
    if path.is_dir():
        raise OutputError(f"--out {path} is a folder, not a file")
    if path.exists() and not force:
        raise OutputError(f"--out {path} exists (use --force to replace it)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {path}: cannot create its folder ({exc.strerror})") from None
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")  # loaders read the suffix
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
