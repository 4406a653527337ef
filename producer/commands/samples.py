"""`producer samples`: build the default pack from a soundfont, list a library, scan a user folder."""
from __future__ import annotations

import sys

from producer.errors import InputError


def add_parser(sub) -> None:
    p = sub.add_parser("samples", help="build, list or scan sample libraries",
                       description="The default one-shot library (samples/) and user sample folders.")
    ss = p.add_subparsers(dest="samples_command", metavar="ACTION")

    b = ss.add_parser("build", help="render the default pack from a General MIDI soundfont")
    b.add_argument("--soundfont", default=None, metavar="PATH",
                   help="sf2/sf3 file (default: /usr/share/sounds/sf2/FluidR3_GM.sf2)")
    b.add_argument("--out", default=None, metavar="DIR", help="library folder (default: the repository's samples/)")
    b.add_argument("--force", action="store_true", help="replace a non-empty --out")
    b.add_argument("--instruments", default=None, metavar="A,B",
                   help="comma-separated subset of instruments (default: all, drums included)")
    b.add_argument("--every", type=int, default=None, metavar="N",
                   help="semitones between pitched roots (default 4: every note within 2 of a root)")
    b.add_argument("--quiet", action="store_true", help="no progress on stderr")
    b.set_defaults(func=run_build)

    ls = ss.add_parser("list", help="summarise a library (default: the shipped pack)")
    ls.add_argument("--samples", default=None, metavar="DIR", help="a user folder of one-shots instead")
    ls.add_argument("--json", action="store_true", help="print every sample's manifest entry as JSON")
    ls.set_defaults(func=run_list)

    sc = ss.add_parser("scan", help="index a user folder of one-shots (pitch by pYIN) and cache the result")
    sc.add_argument("dir", metavar="DIR")
    sc.add_argument("--json", action="store_true", help="print the entries as JSON")
    sc.set_defaults(func=run_list)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args) -> int:
    from producer import api

    instruments = [s.strip() for s in args.instruments.split(",") if s.strip()] if args.instruments else None
    folder, manifest = api.samples_build(args.out, soundfont=args.soundfont, instruments=instruments,
                                         every=args.every, force=args.force,
                                         progress=None if args.quiet else _progress)
    print(f"wrote {len(manifest['samples'])} samples to {folder}")
    return 0


def _progress(i: int, n: int, sample_id: str) -> None:
    print(f"\r[{i + 1}/{n}] {sample_id:<24}", end="" if i + 1 < n else "\n", file=sys.stderr, flush=True)


def run_list(args) -> int:
    import json

    from producer import api

    library = api.samples_library(getattr(args, "dir", None) or args.samples)
    if args.json:
        print(json.dumps([library.entry(s) for s in library], indent=1, ensure_ascii=False))
        return 0
    rows = library.summary()
    if not rows:
        raise InputError(f"{library.root}: no samples")
    headers = ("instrument", "samples", "range", "source")
    table = [headers] + [(r["instrument"], str(r["count"]), r["range"], r["source"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    print(f"{len(library)} samples in {library.root}", file=sys.stderr)
    return 0
