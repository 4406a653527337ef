"""`producer render PROJECT.json --out DIR`: a project file to mix, stems, MIDI and sessions."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render",
        help="render a project.json to mix.wav, stems/, arrangement.mid",
        description="Render a producer project: mix.wav, stems/NN_<track>.wav (24-bit, equal length), "
        "arrangement.mid (type 1, GM programs, drums on channel 10) and a copy of project.json.",
    )
    p.add_argument("project", help="project.json to render")
    p.add_argument("--out", required=True, help="output folder (must be empty or absent unless --force)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--samples", metavar="DIR", help="sample library folder (default: the shipped pack)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from producer import api
    from producer.samples import Library

    library = Library.from_manifest(args.samples) if args.samples else None
    summary = api.render(args.project, args.out, force=args.force, library=library)
    print(f"rendered {summary.tracks} tracks, {summary.clips} clips, {summary.duration:.2f} s -> {summary.out}/")
    for f in summary.files:
        print(f"  {f}")
    if summary.peak_dbfs > 0:
        print(
            f"warning: the mix peaks at {summary.peak_dbfs:+.1f} dBFS and clips in the 24-bit files; "
            "lower the track gains",
            file=sys.stderr,
        )
    return 0
