"""`producer recreate INPUT --out DIR`: rebuild a sound as an editable multitrack project."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "recreate",
        help="rebuild a sound as a multitrack project of library samples (MCTS planner)",
        description="Search for a multitrack arrangement of library samples that sounds like INPUT "
        "(Monte Carlo tree search on a timbre + chroma reward). Writes mix.wav, stems/, "
        "arrangement.mid, project.json, report.html, search_log.jsonl and recreate.json. "
        "Ctrl-C stops the search and still writes the best project found.",
    )
    p.add_argument("input", help="target audio file (wav, flac, ogg, mp3, ...; any rate, mono or stereo)")
    p.add_argument("--out", required=True, help="output folder (must be empty or absent unless --force)")
    p.add_argument("--preset", default="default",
                   help="search preset: fast, default, thorough (search/*.toml), or a .toml path")
    p.add_argument("--budget", type=float, metavar="SECONDS",
                   help="wall-clock budget of the whole run (s, at least 10; analysis and writing included): "
                   "a budget too small for a long input recreates its start")
    p.add_argument("--evaluations", type=int, metavar="N", help="cap on candidate evaluations")
    p.add_argument("--tracks", type=int, metavar="N", help="tracks in the recreated project")
    p.add_argument("--samples", metavar="DIR", help="a folder of your own one-shots, used beside the shipped pack")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--max-duration", type=float, metavar="S",
                   help="refuse inputs longer than this many seconds (default 600)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--model", default="default", help="timbre model: a registered name or a .pt file")
    p.add_argument("--tempo", type=float, metavar="BPM",
                   help="the song's tempo (20-400 BPM) instead of the estimated one")
    p.add_argument("--quantize", metavar="GRID",
                   help="snap notes to the beat grid: a note value such as 1/16 or 1/8t (default: off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="score candidates on N processes (a local Ray instance; default 1)")
    p.set_defaults(func=run)


def _progress_bar():
    import sys

    # On a terminal the line is redrawn in place; in a log file (not a terminal) a plain line is
    # written every 10 s instead of hundreds of carriage-return updates.
    tty = sys.stderr.isatty()
    last = [-10.0]

    def show(elapsed: float, evaluations: int, best: float) -> None:
        width = 24
        filled = int(round(max(0.0, min(1.0, best)) * width))
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {elapsed:7.1f} s  {evaluations:7d} evaluations  best reward {best:.4f}"
        if tty:
            sys.stderr.write("\r" + line)
        elif elapsed - last[0] >= 10.0:
            last[0] = elapsed
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return show


def run(args) -> int:
    import sys

    from producer import api

    progress = None if args.quiet else _progress_bar()
    summary = api.recreate(args.input, args.out, preset=args.preset, budget_seconds=args.budget,
                       evaluations=args.evaluations, tracks=args.tracks, samples=args.samples, seed=args.seed,
                       max_duration=args.max_duration, force=args.force, model_name=args.model,
                       tempo=args.tempo, quantize=args.quantize,
                       progress=progress, workers=args.workers)
    if progress is not None and sys.stderr.isatty():
        sys.stderr.write("\n")
    note = " (interrupted: best project so far)" if summary.interrupted else ""
    if summary.evaluations == 0:
        note = " (the budget was spent on the analysis before the search began: raise --budget)"
    if summary.analysed_seconds < summary.input_seconds:
        note += (f" (the budget covered the first {summary.analysed_seconds:g} s of {summary.input_seconds:.1f} s:"
                 " raise --budget for more)")
    print(f"recreated with reward {summary.reward:.4f}{note}: {summary.tracks} tracks, {summary.clips} clips, "
          f"{summary.tempo:g} BPM, {summary.evaluations} evaluations in {summary.seconds:.1f} s -> {summary.out}/")
    return 0
