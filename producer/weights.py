"""Shipped model weights: where they live, their checksums, and the checks every loader makes.

Registries map a model name to ``(file name, sha256)``; a name not registered may be a ``.pt``
path of the user's own (no checksum then). The timbre CNN and the note model load through here.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

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
