"""`producer embeddings` (arguments and wiring are filled in by the module's owner)."""
from __future__ import annotations

from producer.errors import ProducerError


def add_parser(sub) -> None:
    p = sub.add_parser("embeddings", help="(not built yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise ProducerError("'embeddings' is not built yet")
