"""Staged output folders: results are written to a temporary folder and moved into place at the end.

A failed or interrupted run therefore never leaves a half-written project, and an existing folder
is only replaced when the user asked for it with --force.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from producer.errors import OutputError


def check_output_dir(out: str | os.PathLike, *, force: bool = False) -> Path:
    """Validate an output folder before any work is done; returns it as a Path.

    Raises OutputError when it exists, is not empty and ``force`` is false, when it is a file,
    or when its parent cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"--out {out} is not empty (use --force to replace it)")
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise OutputError(f"--out {out}: folder {probe} is not writable")
    return out


@contextlib.contextmanager
def staged_output(out: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` atomically-ish.

    On any exception (KeyboardInterrupt included) the temporary folder is removed and ``out``
    is left exactly as it was.
    """
    out = check_output_dir(out, force=force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create folder ({exc.strerror})") from None
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    # mkdtemp makes the folder private (0700); give it the mode a plain mkdir would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)
    # Same filesystem, so the final moves are renames: the old folder disappears only once the
    # new one is complete.
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
        os.replace(out, trash / "old")
        os.replace(stage, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(stage, out)
