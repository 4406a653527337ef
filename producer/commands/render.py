"""`producer render PROJECT.json --out DIR`: a project file to mix, stems, MIDI and sessions."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render",
        help="render a project.json to mix, stems, MIDI and DAW sessions",
        description="Render a producer project: mix.wav, stems/NN_<track>.wav (24-bit, equal length), "
        "arrangement.mid (type 1, GM programs, drums on channel 10), DAW sessions (Ardour, DAWproject, "
        "REAPER) referencing the dry clips in clips/, and a copy of project.json.",
    )
    p.add_argument("project", help="project.json to render")
    p.add_argument("--out", required=True, help="output folder (must be empty or absent unless --force)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--samples", metavar="DIR", help="a folder of your own one-shots, used beside the shipped pack")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from producer import api

    summary = api.render(args.project, args.out, force=args.force, samples=args.samples)
    print(f"rendered {summary.tracks} tracks, {summary.clips} clips, {summary.duration:.2f} s -> {summary.out}/")
    print_files(summary.files)
    if summary.peak_dbfs > 0:
        print(
            f"warning: the mix peaks at {summary.peak_dbfs:+.1f} dBFS and clips in the 24-bit files; "
            "lower the track gains",
            file=sys.stderr,
        )
    return 0


def print_files(files: list[str]) -> None:
    """List top-level files, and folders with how many files they hold (a session folder has dozens)."""
    folders: dict[str, int] = {}
    for f in files:
        head, sep, _ = f.partition("/")
        if sep:
            folders[head] = folders.get(head, 0) + 1
        else:
            print(f"  {f}")
    for name, count in folders.items():
        print(f"  {name}/ ({count} files)")
