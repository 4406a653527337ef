"""`producer drums`: answer a kick with a drum part; `train` a policy; rebuild the `corpus`.

Parsing and printing only; the work is in producer.drums (imported inside ``run``).
"""
from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "drums",
        help="answer a kick with a whole drum part in a style learned from real grooves",
        description="Answer a kick (pattern text, a MIDI file or audio) with snare, hi-hats, "
        "ride, crash and tom fills chosen by a reinforcement-learning policy in a style learned "
        "from MMA's groove library; write drums.mid, drums.wav and pattern.json. "
        "`producer drums train` reproduces a shipped policy; `producer drums corpus` rebuilds "
        "the groove corpus from the installed mma package.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="pattern text: x hit, X accent, . or - rest, | bar line (ignored), or 1/0.\n"
        "examples:\n"
        "  producer drums --kick 'x...x...x...x...' --style rock --bars 8\n"
        "  producer drums --kick 'x.....x.x.......' --style funk --swing 0.2 --humanize 0.5\n"
        "  producer drums --kick 'x.....x.....' --meter 3/4 --style waltz\n"
        "  producer drums --kick loop.wav --bars 4        (kick and tempo from audio)\n"
        "  producer drums train --meter 4/4",
    )
    p.add_argument("action", nargs="?", choices=("generate", "train", "corpus"),
                   default="generate", help="generate (default) a part, train a policy, or "
                   "rebuild the groove corpus")
    p.add_argument("--kick", metavar="PATTERN|FILE",
                   help="kick pattern text, a MIDI file (GM 35/36 notes) or an audio file")
    p.add_argument("--meter", default="4/4", help="4/4 (default), 3/4, 6/8 or 12/8")
    p.add_argument("--style", help="style family, e.g. rock, funk, latin, jazz, swing, ballad, "
                   "waltz (default: the one whose kicks best match the kick)")
    p.add_argument("--bars", type=int, default=None,
                   help="bars to write, 1-16; the kick is looped to fit (default: its length)")
    p.add_argument("--bpm", type=float, default=None,
                   help="tempo in quarter notes per minute (default: found in audio, else 120)")
    p.add_argument("--swing", type=float, default=0.0,
                   help="delay of every second step, as a fraction of a step, 0..0.5")
    p.add_argument("--humanize", type=float, default=0.0,
                   help="0..1: seeded velocity spread and micro-timing (1 = 7 velocity, 10 ms)")
    p.add_argument("--voices", default=None,
                   help="comma-separated voices to write (default: all the style plays): snare, "
                   "hihat_closed, hihat_open, ride, crash, tom_high, tom_mid, tom_low")
    p.add_argument("--out", help="output folder (default outputs/drums-<kick>-s<seed>/); "
                   "corpus: the JSON file to write")
    p.add_argument("--seed", type=int, default=0, help="seed of variations, fills, humanize, "
                   "training")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--policy", metavar="PATH", help="a policy from `producer drums train`")
    p.add_argument("--no-audio", action="store_true", help="skip drums.wav")
    t = p.add_argument_group("train")
    t.add_argument("--timesteps", type=int, default=None,
                   help="DQN steps after imitation pre-training (default: the shipped setting)")
    t.add_argument("--policy-out", metavar="DIR", default=None,
                   help="folder for the trained policy (default outputs/drums-policy/)")
    p.set_defaults(func=run)


def run(args) -> int:
    from producer import api

    if args.action == "train":
        print(f"training the {args.meter} policy (seed {args.seed}) ...", flush=True)
        pol, zpath = api.drums_train(meter=args.meter, timesteps=args.timesteps, seed=args.seed,
                                     out=args.policy_out)
        print(f"trained in {pol.meta['train_seconds']:.0f} s; wrote {zpath} and "
              f"{zpath.with_suffix('.json').name}")
        return 0
    if args.action == "corpus":
        path, n_files, n_grooves = api.drums_corpus(args.out)
        print(f"wrote {n_grooves} grooves from {n_files} MMA style files to {path}")
        return 0
    part, out, written = api.drums(
        kick=args.kick, out=args.out, force=args.force, meter=args.meter, style=args.style,
        bars=args.bars, bpm=args.bpm, swing=args.swing, humanize=args.humanize, seed=args.seed,
        voices=args.voices, policy_path=args.policy, audio=not args.no_audio)
    print(part.grid())
    print(f"style {part.style} ({part.style_source}), {part.meter}, {part.bars} bar"
          f"{'s' if part.bars > 1 else ''} at {part.bpm:g} bpm; policy {part.policy}")
    print(f"wrote {', '.join(p.name for p in written)} to {out}/")
    return 0
