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
    finally:
        if argv is None:  # the program itself (not a test calling main): the process ends next
            _skip_final_collection()


def _skip_final_collection() -> None:
    """Leave the objects alive now out of the garbage collection that interpreter shutdown runs.

    After torch, librosa and numba are loaded, that collection took 1-2 s on a busy 2-core machine
    (0.4 s with this), time a user waits after every file is written and closed; nothing of
    producer's waits on a finaliser of an object in a reference cycle."""
    import gc

    gc.freeze()
