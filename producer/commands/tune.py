"""`producer tune PROJECT.json --out DIR`: steer a project's effects and gains by answering "A or B"
in a local web page."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "tune",
        help="tune a project's effects and gains by choosing between two versions in a local web page",
        description="Serve a page on this machine that plays two versions of the project's first seconds (A and "
        "B) and asks which you prefer (A, B, both fine, neither, optionally a 1-5 rating). A preference model "
        "(a Gaussian process over the parameters) learns from every answer and picks the next pair: your "
        "favourite against the version it expects to improve on it most. 'save' writes the favourite as a "
        "project folder (mix, stems, MIDI, project.json, DAW sessions) into --out. Answers are kept in the "
        "session folder (OUT.tune-session by default) as you give them; --resume continues a session.",
    )
    p.add_argument("project", nargs="?", help="project.json to tune (optional with --resume)")
    p.add_argument("--out", help="folder the favourite is saved into (must be empty or absent unless --force)")
    p.add_argument("--resume", metavar="SESSION", help="continue the session in this session folder")
    p.add_argument("--session", metavar="DIR", help="session folder of a new session (default: OUT.tune-session)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    p.add_argument("--budget", type=int, help="answers to ask for (default 30; a resumed session may raise it)")
    p.add_argument("--params", metavar="NAMES",
                   help="parameters to tune, comma-separated names or patterns such as 'Bass:*,*:reverb.wet' "
                   "(default: every effect parameter and track gain)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the passage played (s, default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair choices (default 0)")
    p.add_argument("--force", action="store_true", help="let 'save' replace a folder producer wrote")
    p.add_argument("--samples", metavar="DIR", help="a folder of your own one-shots, used beside the shipped pack")
    p.set_defaults(func=run)


def run(args) -> int:
    from producer import api

    def ready(server) -> None:
        session = server.session
        print(f"tuning {len(session.knobs)} parameters of {session.settings.project_file} "
              f"({session.settings.seconds:g} s passage, budget {session.settings.budget} answers, "
              f"{len(session.answers)} given)")
        print(f"session folder: {session.folder}/  (continue later with --resume {session.folder})")
        print(f"open {server.url} in a browser; Ctrl-C stops (every answer is kept)", flush=True)

    summary = api.tune(args.project, args.out, resume=args.resume, session=args.session, host=args.host,
                       port=args.port, budget=args.budget, params=args.params, seconds=args.seconds,
                       seed=args.seed, force=args.force, samples=args.samples, on_ready=ready)
    print(f"\nstopped after {summary.answers} answer{'s' if summary.answers != 1 else ''}; "
          f"favourite {summary.favourite}")
    for path in summary.saved:
        print(f"saved -> {path}/")
    if not summary.saved:
        print(f"nothing saved; resume with: producer tune --resume {summary.session}")
    return 0
