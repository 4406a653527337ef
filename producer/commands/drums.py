"""`producer drums` (arguments and wiring are filled in by the module's owner)."""
from __future__ import annotations

from producer.errors import ProducerError


def add_parser(sub) -> None:
    p = sub.add_parser("drums", help="(not built yet)")
    p.set_defaults(func=run)


def run(args) -> int:
    raise ProducerError("'drums' is not built yet")
