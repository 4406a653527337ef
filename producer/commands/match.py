"""`producer match SOURCE --like REFERENCE --out DIR`: an effect chain (and automation) that makes
SOURCE sound like REFERENCE, written as a one-track project."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "match",
        help="find an effect chain (and automation) that makes one sound like another",
        description="Search an effect chain (high-pass, shelves, peak, low-pass, compressor, distortion, "
        "reverb) with CMA-ES so SOURCE played through it sounds like REFERENCE (multi-resolution STFT "
        "distance at matched loudness). --mode follow adds track-gain and low-pass automation so the "
        "result follows the reference's loudness and brightness over time. Writes mix.wav, stems/, "
        "project.json (SOURCE copied to samples/), DAW sessions, match.json and report.html.",
    )
    p.add_argument("source", help="the sound to process (audio file)")
    p.add_argument("--like", required=True, metavar="REFERENCE", help="the sound to match (at least 0.5 s)")
    p.add_argument("--out", required=True, help="output folder (must be empty or absent unless --force)")
    p.add_argument("--mode", default="static", choices=("static", "follow"),
                   help="static: one chain; follow: the chain plus automation over time (default static)")
    p.add_argument("--renders", type=int, default=400, help="renders the search may spend, 10..5000 (default 400)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    p.add_argument("--effects", metavar="LIST", help="comma-separated stages to search (default: all)")
    p.add_argument("--max-duration", type=float, default=60.0, help="longest input in seconds (default 60)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder producer wrote")
    p.set_defaults(func=run)


def run(args) -> int:
    from producer import api

    s = api.match(args.source, args.like, args.out, mode=args.mode, renders=args.renders, seed=args.seed,
                  effects=args.effects, force=args.force, max_duration=args.max_duration)
    f = s.figures
    print(f"matched in {s.renders} renders, {s.seconds:.1f} s -> {s.out}/")
    print(f"  chain: {' -> '.join(s.chain) or '(none)'}" + (f"; {s.breakpoints} automation points" if s.breakpoints else ""))
    print(f"  MR-STFT to reference: unprocessed {f['unprocessed']['mr_stft']:.3f}, "
          f"static {f['static']['mr_stft']:.3f}, final {f['final']['mr_stft']:.3f}")
    print(f"  loudness error {f['final']['loudness_error_lu']:.2f} LU; "
          f"loudness-envelope correlation {f['loudness_envelope_correlation']:.3f}")
    return 0
