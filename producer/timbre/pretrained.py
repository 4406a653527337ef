"""The one loader for timbre weights: by name (checked against a SHA-256) or by file path.

Weights files are ``torch.save`` dicts holding only plain values and tensors, loaded with
``torch.load(weights_only=True)``::

    {"format": 1, "arch": "han" | "fast", "config": {...constructor keywords...},
     "classes": [...11 names...], "state_dict": {...}, "meta": {...free-form, JSON-able...}}
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from producer import weights
from producer.errors import ModelError
from producer.weights import EMBEDDINGS_DIR, sha256_of  # noqa: F401 (re-exported)

# name -> (file name in EMBEDDINGS_DIR, sha256). "default" is the model the planner uses;
# MODEL_CARD.md explains why it is the one it is.
REGISTRY: dict[str, tuple[str, str]] = {
    "fast": ("timbre-fast.pt", "543d47a093ab2e83fd2af6dbb7bb62dd78189e9cd88b26f4b138454db6b3fcec"),
    "han": ("timbre-han.pt", "65df4d09bc9b9cd6e39cb85ae38b4f6622cb4b4a0a2c4a21cd833206f65f20da"),
    "tiny": ("timbre-tiny.pt", "e9783df55151d7dc1f42ce8f763a72e15d3609aacdcbe5b5b0633323aa0b3f24"),
}
DEFAULT = "fast"
FORMAT = 1


def available() -> list[str]:
    """Registered model names, 'default' included."""
    return ["default", *REGISTRY]


def resolve(name: str) -> tuple[Path, str | None]:
    """name or path -> (weights path, expected sha256 or None for a user-given file)."""
    return weights.resolve(name, registry=REGISTRY, default=DEFAULT, folder=EMBEDDINGS_DIR, kind="timbre")


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
    from producer.timbre.model import CLASSES, TimbreModel, build_net

    path, blob = weights.read_checked(name, registry=REGISTRY, default=DEFAULT, folder=EMBEDDINGS_DIR,
                                      kind="timbre", card="MODEL_CARD.md")
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
