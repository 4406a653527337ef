"""`producer batch INPUTS... --out DIR`: one recreate, render, drums or match job per input, on Ray."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "batch",
        help="run one recreate/render/drums/match job per input file, in parallel on Ray",
        description="Run one job per input (files, or folders searched for audio, project.json or "
        "MIDI files) on a local Ray instance sized to this machine, or on a Ray cluster with "
        "--address. Each job writes its own folder under --out exactly as the single command "
        "would; batch.json records every input's status, figures, seconds and error. A failed "
        "job does not stop the others; a crashed worker's job is retried; run the same command "
        "with --resume to finish an interrupted batch.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input files or folders")
    p.add_argument("--out", required=True, help="batch folder: one folder per input, and batch.json")
    p.add_argument("--job", default="recreate", choices=("recreate", "render", "drums", "match"),
                   help="what to do with each input (default recreate)")
    p.add_argument("--like", metavar="REF", help="match jobs: the reference every input is matched to")
    p.add_argument("--workers", type=int, metavar="N",
                   help="jobs at once (default: every CPU of the machine or cluster)")
    p.add_argument("--address", metavar="HOST:PORT", help="join this running Ray cluster")
    p.add_argument("--resume", action="store_true", help="skip inputs whose folder is complete")
    p.add_argument("--force", action="store_true", help="run every job again, replacing producer's own folders")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="runs of a job again after its worker died (default 3)")
    r = p.add_argument_group("recreate jobs")
    r.add_argument("--preset", default="default", help="search preset: fast, default, thorough, or a .toml path")
    r.add_argument("--budget", type=float, metavar="SECONDS",
                   help="wall-clock budget of each recreate, analysis and writing included (s, at least 10)")
    r.add_argument("--evaluations", type=int, metavar="N", help="cap on candidate evaluations per recreate")
    r.add_argument("--model", default="default", help="timbre model: a registered name or a .pt file")
    p.add_argument("--samples", metavar="DIR", help="a folder of your own one-shots, used beside the shipped pack")
    p.add_argument("--seed", type=int, default=0, help="random seed of every job (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def _progress_line():
    import sys

    tty = sys.stderr.isatty()

    def show(c) -> None:
        left = "?" if c.seconds_left is None else f"{c.seconds_left:.0f} s"
        line = (f"batch: {c.done} done, {c.running} running, {c.failed} failed, {c.waiting} waiting; "
                f"{c.elapsed:.0f} s elapsed, about {left} left")
        sys.stderr.write(("\r" + line + "\033[K") if tty else line + "\n")
        sys.stderr.flush()

    return show


def run(args) -> int:
    import sys

    from producer import api

    progress = None if args.quiet else _progress_line()
    s = api.batch(args.inputs, args.out, job=args.job, workers=args.workers, address=args.address,
                  resume=args.resume, force=args.force, preset=args.preset, budget_seconds=args.budget,
                  evaluations=args.evaluations, samples=args.samples, seed=args.seed, model_name=args.model,
                  like=args.like, max_retries=args.retries, progress=progress)
    if progress is not None and sys.stderr.isatty():
        sys.stderr.write("\n")
    for r in s.records:
        if r["status"] == "failed":
            print(f"failed: {r['name']}: {r.get('error', '')}")
    skipped = f", {s.skipped} complete already" if s.skipped else ""
    print(f"batch of {s.jobs}: {s.done} done, {s.failed} failed{skipped} in {s.seconds:.1f} s "
          f"(Ray start {s.ray_start_seconds:.1f} s) -> {s.out}/batch.json")
    # Exit 0 when every job ended as asked; 1 when some failed (their lines say why).
    return 1 if s.failed else 0
