"""`producer live`: a listening-agent policy plays an effect chain or a synth, block by block.

Parsing and printing only; the work is in producer.api.live.
"""
from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "live",
        help="run a listening agent on a file or an OSC feature stream, block by block",
        description="Run a reinforcement-learning policy block by block: a cross-adaptive one "
        "plays gain and a low-pass on INPUT in answer to a control signal (--control, default "
        "INPUT itself; --mapping duck or follow), an imitation one plays a synth voice that "
        "imitates INPUT. INPUT 'osc:' takes descriptors over OSC instead (--osc-in). Writes "
        "the audio, trajectory.csv, live.json and, for a cross-adaptive take, project.json "
        "whose automation replays it. Ctrl-C ends the take and keeps what was played.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="OSC address space (see producer/agent/osc.py):\n"
        "  in:  /producer/features f x4 (imitate) | x8 control+source | x12 +processed\n"
        "       /producer/stop\n"
        "  out: /producer/params i block, f per parameter;  /producer/param/<name> f\n"
        "examples:\n"
        "  producer live vocal.wav --control drums.wav --mapping duck --out outputs/live/\n"
        "  producer live flute.wav --policy imitate-fm-sac --out outputs/imitate/\n"
        "  producer live osc: --osc-in 9000 --osc-out 127.0.0.1:9001 --out outputs/osc-take/",
    )
    p.add_argument("input", metavar="INPUT", help="audio file, or osc: for a descriptor stream")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--policy", default=None, help="shipped policy name (producer agent list) or a "
                   "path to NAME.zip from `producer agent train` (default cross-sac)")
    p.add_argument("--block", type=int, default=512, help="block size in samples, 64-8192 (default 512)")
    p.add_argument("--control", default=None, help="control signal file (cross-adaptive; default INPUT)")
    p.add_argument("--mapping", default=None, choices=("follow", "duck"),
                   help="cross-adaptive target: the source follows or ducks under the control (default duck)")
    p.add_argument("--osc-in", type=int, default=None, metavar="PORT", help="UDP port for INPUT osc:")
    p.add_argument("--osc-out", default=None, metavar="HOST:PORT", help="send the parameter stream here")
    p.add_argument("--realtime", action="store_true", help="play a file at its own pace (default: as fast as possible)")
    p.add_argument("--idle-timeout", type=float, default=5.0,
                   help="osc: end the take after this many seconds without a message (default 5)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder producer wrote")
    p.set_defaults(func=run)


def run(args) -> int:
    from producer.api import live

    def ready(port: int) -> None:
        if args.input == "osc:":
            print(f"listening for /producer/features on 127.0.0.1:{port} (Ctrl-C or /producer/stop ends)",
                  flush=True)

    s = live(args.input, args.out, policy=args.policy, block=args.block, control=args.control,
             mapping=args.mapping, osc_in=args.osc_in, osc_out=args.osc_out, realtime=args.realtime,
             idle_timeout=args.idle_timeout, force=args.force, on_ready=ready)
    print(f"{s.policy} ({s.task}): {s.blocks} blocks, {s.seconds:.2f} s; ended by {s.ended_by}")
    print(f"compute per block p50 {s.compute_p50_ms:.3f} ms, p99 {s.compute_p99_ms:.3f} ms "
          f"(block period {s.block_ms:.2f} ms)")
    if s.osc_ignored:
        print(f"ignored {s.osc_ignored} OSC message(s) (see the log lines above)")
    thinned = {k: v for k, v in s.automation_deviation.items() if v}
    if thinned:
        print("automation thinned to fit the project's limit; largest deviation: "
              + ", ".join(f"{k} {v:.3g}" for k, v in thinned.items()))
    print(f"wrote {', '.join(s.files)} to {s.out}/")
    return 0
