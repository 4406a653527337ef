"""The `producer` command: parse arguments, call the library, print. Nothing else lives here."""
from __future__ import annotations

import argparse
import importlib
import sys

from producer import __version__
from producer.commands import COMMAND_MODULES
from producer.errors import ProducerError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="producer",
        description="A DAW production agent: rebuilds a sound as an editable multitrack project, "
        "renders and exports projects, and writes drum parts.",
    )
    parser.add_argument("--version", action="version", version=f"producer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"producer.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ProducerError as exc:
        print(f"producer {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"producer {args.command}: interrupted", file=sys.stderr)
        return 130
