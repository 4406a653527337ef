"""The library's catalogue kept on disk, so a search does not render and embed it again.

``Catalogue.build`` renders every note the library can play and runs the timbre CNN over them:
about 2-3.5 s on 2 busy cores for the shipped pack, the largest fixed cost of a short
``recreate --budget``. ``load_or_build`` keeps what it computed in one ``.npz`` file per key under
``$XDG_CACHE_HOME/producer/catalogue/`` (``~/.cache/producer/catalogue/`` by default) and reads it
back next time (tens of milliseconds). The key is a SHA-256 of everything the catalogue is computed
from, so a cached file is never used for something it was not built from:

- every sample's id, instrument, root pitch and the bytes of its audio file, in catalogue order;
- the timbre model's weights (every tensor's bytes), class, rate and batch size;
- the source of every module of the ``producer`` package (rendering, features, the CNN) and the
  versions of the numerical libraries, so an update rebuilds;
- the catalogue's settings (``max_shift``, the rate) and torch's thread count.

A file is written to a temporary name in the same folder and moved into place (``os.replace``), so
a reader sees a whole file or none; two runs building the same key at once each write a whole file.
A file that cannot be read or does not match what it should hold is rebuilt over; a folder that
cannot be written leaves the run uncached. Only the ``KEEP`` most recently used files are kept.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "producer-catalogue-1"
KEEP = 8  # files kept (each ~7 MB for the shipped pack)
_LIBRARIES = ("numpy", "scipy", "torch", "librosa", "dawdreamer", "soundfile")


def cache_dir() -> Path:
    """Where cached catalogues live: ``$XDG_CACHE_HOME/producer/catalogue`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "producer" / "catalogue"


def load_or_build(library, renderer, model, *, max_shift: int = 2, folder: Path | None = None):
    """The ``Catalogue`` of ``library`` (as ``Catalogue.build`` with every instrument), from the
    cache when an entry with the same key is there, otherwise built and cached.

    Returns (catalogue, ``"cached"`` or ``"built"``). A model without weights to hash (a test
    double) is never cached."""
    from producer.planner.catalogue import Catalogue

    key = cache_key(library, model, max_shift=max_shift)
    if key is None:
        return Catalogue.build(library, renderer, model, max_shift=max_shift), "built"
    folder = cache_dir() if folder is None else Path(folder)
    path = folder / f"{key}.npz"
    found = _read(path)
    if found is not None:
        return found, "cached"
    catalogue = Catalogue.build(library, renderer, model, max_shift=max_shift)
    _write(path, catalogue)
    return catalogue, "built"


def cache_key(library, model, *, max_shift: int) -> str | None:
    """Hex SHA-256 of what the catalogue is computed from (see the module doc); None when the
    model has no weights to hash."""
    import torch

    from producer.planner import features as F

    net = getattr(model, "net", None)
    if net is None or not hasattr(net, "state_dict"):
        return None
    h = hashlib.sha256(FORMAT.encode())
    h.update(repr((max_shift, F.SR, torch.get_num_threads())).encode())
    for name in _LIBRARIES:
        h.update(f"{name}={_version(name)};".encode())
    h.update(_source_digest().encode())
    h.update(repr((type(model).__name__, getattr(model, "sr", None), getattr(model, "max_batch", None))).encode())
    for name, tensor in net.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for inst in library.instruments:
        for s in library.by_instrument(inst):
            h.update(repr((inst, s.id, s.instrument, s.pitch)).encode())
            h.update(_file_digest(s.path).encode())
    return h.hexdigest()


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def _source_digest() -> str:
    root = Path(__file__).resolve().parents[1]  # the producer package
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return "unreadable"  # the build reports it, naming the sample
    return h.hexdigest()


_ARRAYS = ("emb", "templates", "chroma", "mel", "power")


def _read(path: Path):
    """The catalogue in ``path``, or None when it is missing, unreadable or not whole."""
    from producer.planner.catalogue import Catalogue, Note

    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                return None
            arrays = {name: data[name] for name in _ARRAYS}
            samples, instruments = data["note_sample"], data["note_instrument"]
            pitches, seconds = data["note_pitch"], data["note_seconds"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    n = len(samples)
    if not (n and len(instruments) == len(pitches) == len(seconds) == n
            and all(a.shape[0] == n for name, a in arrays.items() if name != "templates")
            and arrays["templates"].ndim == 2 and arrays["templates"].shape[1] == n):
        return None
    notes = [Note(str(s), str(i), int(p), float(t)) for s, i, p, t in zip(samples, instruments, pitches, seconds)]
    try:
        os.utime(path)  # most recently used: kept when older files are pruned
    except OSError:
        pass
    return Catalogue(notes, **arrays)


def _write(path: Path, catalogue) -> None:
    """Write atomically; any failure leaves the run uncached and the folder as it was."""
    notes = catalogue.notes
    arrays = {name: getattr(catalogue, name) for name in _ARRAYS}
    fields = dict(format=np.array(FORMAT),
                  note_sample=np.array([n.sample for n in notes]),
                  note_instrument=np.array([n.instrument for n in notes]),
                  note_pitch=np.array([n.pitch for n in notes], np.int64),
                  note_seconds=np.array([n.seconds if math.isfinite(n.seconds) else np.inf for n in notes]))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **fields, **arrays)
        os.replace(tmp, path)
        tmp = None
        _prune(path.parent)
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _prune(folder: Path) -> None:
    """Keep the ``KEEP`` most recently used files; remove temporary files a killed run left (an
    hour old: a live writer finishes in seconds)."""
    import time

    dated = []
    for p in folder.glob("*.npz"):
        try:
            dated.append((p.stat().st_mtime, p))
        except OSError:
            continue  # removed meanwhile by another run
    whole = sorted(((t, p) for t, p in dated if not p.name.startswith(".")), reverse=True)
    stale = [p for t, p in dated if p.name.startswith(".partial-") and t < time.time() - 3600]
    for _, p in whole[KEEP:]:
        stale.append(p)
    for p in stale:
        try:
            p.unlink()
        except OSError:
            pass
