"""The one loader for timbre weights: by name (checked against a SHA-256) or by file path.

Weights files are ``torch.save`` dicts holding only plain values and tensors, loaded with
``torch.load(weights_only=True)``::

    {"format": 1, "arch": "han" | "fast", "config": {...constructor keywords...},
     "classes": [...11 names...], "state_dict": {...}, "meta": {...free-form, JSON-able...}}
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from producer.errors import ModelError

# Shipped weights live in the repository's top-level embeddings/ folder (override with
# PRODUCER_EMBEDDINGS_DIR, e.g. for an installed package).
EMBEDDINGS_DIR = Path(os.environ.get("PRODUCER_EMBEDDINGS_DIR", Path(__file__).resolve().parents[2] / "embeddings"))

# name -> (file name in EMBEDDINGS_DIR, sha256). "default" is the model the planner uses;
# MODEL_CARD.md explains why it is the one it is.
REGISTRY: dict[str, tuple[str, str]] = {
    "fast": ("timbre-fast.pt", "543d47a093ab2e83fd2af6dbb7bb62dd78189e9cd88b26f4b138454db6b3fcec"),
    "han": ("timbre-han.pt", "65df4d09bc9b9cd6e39cb85ae38b4f6622cb4b4a0a2c4a21cd833206f65f20da"),
    "tiny": ("timbre-tiny.pt", "e9783df55151d7dc1f42ce8f763a72e15d3609aacdcbe5b5b0633323aa0b3f24"),
}
DEFAULT = "fast"
FORMAT = 1


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def available() -> list[str]:
    """Registered model names, 'default' included."""
    return ["default", *REGISTRY]


def resolve(name: str) -> tuple[Path, str | None]:
    """name or path -> (weights path, expected sha256 or None for a user-given file)."""
    if name == "default":
        name = DEFAULT
    if name in REGISTRY:
        fname, digest = REGISTRY[name]
        return EMBEDDINGS_DIR / fname, digest
    path = Path(name)
    if path.suffix == ".pt" or path.exists():
        return path, None
    raise ModelError(f"no timbre model named {name!r} (known: {', '.join(available())}; or give a .pt path)")


def save_weights(path: str | os.PathLike, net, *, arch: str, config: dict, classes, meta: dict | None = None,
                 half: bool = False) -> str:
    """Write a weights file for ``net``; returns its sha256.

    half: store floating tensors as float16 (half the size; ``load_state_dict`` casts them back
    to float32, the embeddings move by about 1e-3).
    """
    import torch

    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"format": FORMAT, "arch": arch, "config": dict(config), "classes": list(classes),
                "state_dict": state, "meta": json.loads(json.dumps(meta or {}))}, str(path))
    return sha256_of(path)


def load_model(name: str = "default"):
    """Load a timbre model by registered name ('default', 'tiny', ...) or by .pt path.

    Returns a ``TimbreModel`` in eval mode. Raises ModelError when the file is missing, does not
    match its registered checksum, cannot be read, or does not fit the architecture it names.
    """
    import torch

    from producer.timbre.model import CLASSES, TimbreModel, build_net

    path, digest = resolve(name)
    if not path.is_file():
        raise ModelError(f"timbre model {name!r}: weights file {path} is missing")
    if digest is not None and sha256_of(path) != digest:
        raise ModelError(f"timbre model {name!r}: weights file {path} is corrupt (checksum mismatch; "
                         "restore it from git or retrain it as MODEL_CARD.md says)")
    try:
        blob = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"timbre model {name!r}: cannot read {path} ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or "state_dict" not in blob:
        raise ModelError(f"timbre model {name!r}: {path} is not a producer timbre weights file")
    if tuple(blob.get("classes", ())) != CLASSES:
        raise ModelError(f"timbre model {name!r}: {path} has classes {blob.get('classes')}, expected {list(CLASSES)}")
    try:
        net = build_net(blob["arch"], blob.get("config"))
        net.load_state_dict(blob["state_dict"])
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        raise ModelError(f"timbre model {name!r}: weights in {path} do not fit their architecture ({exc})") from None
    model = TimbreModel(net=net, name=str(name), arch=blob["arch"])
    model.meta = blob.get("meta", {})
    model.path = path
    return model
