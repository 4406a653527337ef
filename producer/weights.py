"""Shipped model weights: where they live, their checksums, and the checks every loader makes.

Registries map a model name to ``(file name, sha256)``; a name not registered may be a ``.pt``
path of the user's own (no checksum then). The timbre CNN and the note model load through here.

The policies (the listening agent's and the drummer's) are file pairs instead: ``STEM.zip``
(stable-baselines3's model) beside ``STEM.json`` (the training config and the zip's sha256);
``write_model_files`` writes a pair, ``to_json`` / ``from_json`` carry a config through JSON.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import typing
from pathlib import Path
from typing import Callable

from producer.errors import ModelError

# Shipped weights live in the repository's top-level embeddings/ folder (override with
# PRODUCER_EMBEDDINGS_DIR, e.g. for an installed package).
EMBEDDINGS_DIR = Path(os.environ.get("PRODUCER_EMBEDDINGS_DIR", Path(__file__).resolve().parents[1] / "embeddings"))


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve(name: str, *, registry: dict[str, tuple[str, str]], default: str, folder: Path,
            kind: str) -> tuple[Path, str | None]:
    """name or path -> (weights path, expected sha256 or None for a user-given file)."""
    if name == "default":
        name = default
    if name in registry:
        fname, digest = registry[name]
        return folder / fname, digest
    path = Path(name)
    if path.suffix == ".pt" or path.exists():
        return path, None
    raise ModelError(f"no {kind} model named {name!r} (known: default, {', '.join(registry)}; "
                     "or give a .pt path)")


def read_checked(name: str, *, registry: dict[str, tuple[str, str]], default: str, folder: Path, kind: str,
                 card: str) -> tuple[Path, object]:
    """Resolve ``name``, check the file is there and matches its checksum, and read it with
    ``torch.load(weights_only=True)``. Returns (path, the loaded object); ModelError otherwise,
    naming the model (``kind``) and the model card (``card``) that says how to rebuild it."""
    import torch

    path, digest = resolve(name, registry=registry, default=default, folder=folder, kind=kind)
    if not path.is_file():
        raise ModelError(f"{kind} model {name!r}: weights file {path} is missing")
    if digest is not None and sha256_of(path) != digest:
        raise ModelError(f"{kind} model {name!r}: weights file {path} is corrupt (checksum mismatch; "
                         f"restore it from git or retrain it as {card} says)")
    try:
        return path, torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{kind} model {name!r}: cannot read {path} ({type(exc).__name__})") from None


def write_model_files(path_stem: str | os.PathLike, save_model: Callable[[str], None], meta: dict) -> Path:
    """Write ``STEM.zip`` with ``save_model(path)`` and ``STEM.json``: ``meta`` plus the zip's
    ``sha256``. Staged: temporary names beside them, then ``os.replace``, the json last, so a reader
    never pairs a new zip with an old checksum; a failed save leaves neither temporary file.
    Returns the zip's path."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    zpath, jpath = stem.with_suffix(".zip"), stem.with_suffix(".json")
    ztmp, jtmp = stem.with_name(f".{stem.name}.tmp.zip"), stem.with_name(f".{stem.name}.tmp.json")
    try:
        save_model(str(ztmp))
        jtmp.write_text(json.dumps({**meta, "sha256": sha256_of(ztmp)}, indent=2) + "\n")
        os.replace(ztmp, zpath)
        os.replace(jtmp, jpath)
    finally:
        for p in (ztmp, jtmp):
            p.unlink(missing_ok=True)
    return zpath


def to_json(value):
    """A dataclass (a training config) as JSON values: nested dataclasses as dicts, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(cls, data: dict):
    """``to_json``'s inverse: a field annotated as a tuple gets its list back as a tuple, one
    annotated as a dataclass is built from its dict. Missing keys take the defaults; a key the
    class does not have raises TypeError, as its constructor does."""
    hints = typing.get_type_hints(cls)
    kwargs = dict(data)
    for f in dataclasses.fields(cls):
        if f.name not in kwargs:
            continue
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            kwargs[f.name] = from_json(kind, kwargs[f.name])
        elif typing.get_origin(kind) is tuple:
            kwargs[f.name] = tuple(kwargs[f.name])
    return cls(**kwargs)
