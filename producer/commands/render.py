"""`producer render` (arguments and wiring are filled in by the module's owner)."""
from __future__ import annotations

from producer.errors import ProducerError


def add_parser(sub) -> None:
    p = sub.add_parser("render", help="(not built yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise ProducerError("'render' is not built yet")
