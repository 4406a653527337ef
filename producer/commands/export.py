"""`producer export PROJECT.json --format ardour,dawproject,rpp,midi,stems --out DIR`."""
from __future__ import annotations

FORMAT_HELP = "ardour, dawproject, rpp, midi, stems (comma-separated), or all"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write DAW sessions of a project.json: Ardour, DAWproject, REAPER, MIDI, stems",
        description="Export a producer project for other DAWs. Sessions (Ardour 7 folder, .dawproject, "
        ".rpp) place the dry clip audio (written to clips/) at the clips' exact positions with the "
        "tracks' gain, pan and effects as plugins; stems/ are the printed (wet) tracks; "
        "arrangement.mid is the type-1 MIDI file.",
    )
    p.add_argument("project", help="project.json to export")
    p.add_argument("--format", default="all", metavar="LIST", help=f"formats to write: {FORMAT_HELP} (default: all)")
    p.add_argument("--out", required=True, help="output folder (must be empty or absent unless --force)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--samples", metavar="DIR", help="a folder of your own one-shots, used beside the shipped pack")
    p.add_argument("--name", default="session", help="session name used for the files (default: session)")
    p.set_defaults(func=run)


def run(args) -> int:
    # Imported here, after parsing, so `producer --help` stays instant.
    from producer import api

    summary = api.export(args.project, args.out, formats=args.format, force=args.force, samples=args.samples,
                         name=args.name)
    print(f"exported {', '.join(summary.formats)} -> {summary.out}/")
    for kind, paths in summary.written.items():
        shown = paths if len(paths) <= 3 else paths[:2] + [f"... {len(paths) - 2} more"]
        print(f"  {kind}: " + ", ".join(str(p) for p in shown))
    return 0
