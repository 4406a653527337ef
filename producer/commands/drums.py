"""`producer drums`: answer a kick pattern with a drum part; `producer drums train`: train a policy.

Heavy libraries (torch, stable-baselines3, gymnasium, dawdreamer) are imported inside ``run``.
"""
from __future__ import annotations

import argparse

DEFAULT_VOICES = "snare,hihat_closed,hihat_open"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "drums",
        help="answer a kick pattern with snare/hi-hat/... (reinforcement-learning sequencer)",
        description="Answer a kick pattern with other drum voices chosen by a trained "
        "stable-baselines3 policy, and write drums.mid, drums.wav and pattern.json. "
        "`producer drums train` trains (and reproduces) a policy.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="pattern text: x hit, X accent, . or - rest, | bar line (ignored), or 1/0.\n"
        "examples:\n"
        "  producer drums --kick 'x...x...x...x...'\n"
        "  producer drums --kick 'x.......x.x.....|x.......x.......' --swing 0.2 --bpm 96\n"
        "  producer drums --kick groove.mid --voices snare --bars 4\n"
        "  producer drums train --voices snare --bars 1",
    )
    p.add_argument("action", nargs="?", choices=("generate", "train"), default="generate",
                   help="generate (default) a part, or train a policy")
    p.add_argument("--kick", metavar="PATTERN|FILE.mid",
                   help="kick pattern text, or a MIDI file whose GM 35/36 notes are the kick")
    p.add_argument("--voices", default=DEFAULT_VOICES,
                   help=f"comma-separated voices to write (default {DEFAULT_VOICES}); aliases: "
                   "hihat, openhat, ...")
    p.add_argument("--bars", type=int, default=None,
                   help="bars to write; the kick is looped to fit (default: the kick's length; "
                   "train: 2)")
    p.add_argument("--steps-per-bar", type=int, default=16, help="steps per 4/4 bar (default 16)")
    p.add_argument("--bpm", type=float, default=120.0, help="tempo (default 120)")
    p.add_argument("--swing", type=float, default=0.0,
                   help="delay of every second step, as a fraction of a step, 0..0.5 (default 0)")
    p.add_argument("--out", help="output folder (default outputs/drums-<kick>-s<seed>/)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed: velocity humanisation when generating, everything when training")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--policy", metavar="PATH",
                   help="a policy from `producer drums train` (default: the shipped one)")
    p.add_argument("--no-audio", action="store_true", help="skip drums.wav")
    t = p.add_argument_group("train")
    t.add_argument("--timesteps", type=int, default=None,
                   help="environment steps (default: the shipped policy's setting for this grid)")
    t.add_argument("--policy-out", metavar="DIR", default=None,
                   help="folder for the trained policy (default outputs/drums-policy/)")
    t.add_argument("--patterns", metavar="MIDI_DIR",
                   help="learn the style prior from this folder of drum MIDI files instead of the "
                   "shipped textbook patterns")
    t.add_argument("--weights", metavar="NAME=W,...",
                   help="reward weights, e.g. complementarity=1,syncopation=0.5,style=1")
    p.set_defaults(func=run)


def _voices(text: str) -> tuple[str, ...]:
    from producer.drums.prior import voice_name

    names = tuple(voice_name(v) for v in text.split(",") if v.strip())
    if not names:
        from producer.errors import InputError

        raise InputError("--voices: no voices given")
    return names


def _weights(text: str | None):
    from dataclasses import fields

    from producer.drums.reward import RewardWeights
    from producer.errors import InputError

    if not text:
        return RewardWeights()
    names = {f.name for f in fields(RewardWeights)}
    values = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise InputError(f"--weights {text!r}: expected NAME=W with NAME one of {', '.join(sorted(names))}")
        try:
            w = float(value)
        except ValueError:
            raise InputError(f"--weights {text!r}: {value!r} is not a number") from None
        if w < 0:
            raise InputError(f"--weights {text!r}: {name}={w:g} must be >= 0")
        values[name] = w
    return RewardWeights(**values)


def run(args) -> int:
    from producer.output import check_seed

    check_seed(args.seed)
    if args.action == "train":
        return _train(args)
    return _generate(args)


def _generate(args) -> int:
    import zlib
    from pathlib import Path

    from producer.drums.generate import generate_drums, write_drum_files
    from producer.drums.patterns import fit_bars, format_pattern, kick_from_midi, parse_pattern
    from producer.errors import InputError
    from producer.output import check_output_dir, staged_output

    if not args.kick:
        raise InputError("--kick is required (a pattern such as 'x...x...x...x...' or a .mid file)")
    if args.steps_per_bar < 1 or args.steps_per_bar > 64:
        raise InputError(f"--steps-per-bar {args.steps_per_bar}: must be 1..64")
    if args.kick.lower().endswith((".mid", ".midi")):
        kick = kick_from_midi(args.kick, steps_per_bar=args.steps_per_bar)
    else:
        kick = parse_pattern(args.kick, name="--kick")
    kick = fit_bars(kick, steps_per_bar=args.steps_per_bar, bars=args.bars)
    voices = _voices(args.voices)
    if args.out:
        out = Path(args.out)
    else:
        # Named after the request, so the same command lands in the same (numbered) place.
        tag = zlib.crc32(format_pattern(kick).encode()) & 0xFFFFFFFF
        base = Path("outputs") / f"drums-{tag:08x}-s{args.seed}"
        out, n = base, 2
        while out.exists() and not args.force:
            out = base.with_name(f"{base.name}-{n}")
            n += 1
    check_output_dir(out, force=args.force)
    part = generate_drums(kick, voices=voices, steps_per_bar=args.steps_per_bar, bpm=args.bpm,
                          swing=args.swing, seed=args.seed, policy_path=args.policy)
    print(part.grid())
    with staged_output(out, force=args.force) as stage:
        written = write_drum_files(part, stage, audio=not args.no_audio)
    how = {"policy": "stopped by the policy", "undo": "stopped by the undo rule",
           "limit": "cut at the step limit"}
    ends = sorted({how[c["stopped_by"]] for c in part.chunks})
    print(f"policy {part.policy}: score {part.score:.3f}, "
          f"{sum(c['toggles'] for c in part.chunks)} toggles, {' / '.join(ends)}")
    print(f"wrote {', '.join(p.name for p in written)} to {out}/")
    return 0


# Settings of the shipped policies, by (voices, steps): the defaults of `producer drums train`.
# The one-voice policy gets a larger step cost: a wider margin between stopping on the optimum
# and toggling away from it, which is what makes it stop there. The three-voice one trained with
# 0.05 skipped too many small gains (0.79 of steepest ascent against 0.97 with 0.02).
SHIPPED_SETTINGS = {(1, 16): {"timesteps": 300_000, "step_cost": 0.05},
                    (3, 32): {"timesteps": 1_000_000, "step_cost": 0.02}}
DEFAULT_SETTINGS = {"timesteps": 400_000, "step_cost": 0.02}


def _train(args) -> int:
    from pathlib import Path

    from producer.drums.agent import TrainConfig, policy_name, train
    from producer.drums.prior import StylePrior, load_midi_folder
    from producer.errors import InputError

    voices = _voices(args.voices)
    bars = args.bars or 2
    if bars < 1:
        raise InputError(f"--bars {bars}: must be at least 1")
    steps = args.steps_per_bar * bars
    settings = SHIPPED_SETTINGS.get((len(voices), steps), DEFAULT_SETTINGS)
    timesteps = args.timesteps or settings["timesteps"]
    if timesteps < 1000:
        raise InputError(f"--timesteps {timesteps}: at least 1000")
    prior = StylePrior.fit(load_midi_folder(args.patterns)) if args.patterns else StylePrior.default()
    cfg = TrainConfig(voices=voices, steps_per_bar=args.steps_per_bar, bars=bars,
                      timesteps=timesteps, seed=args.seed, weights=_weights(args.weights),
                      step_cost=settings["step_cost"])
    if args.timesteps and timesteps < 20 * cfg.learning_starts:
        from dataclasses import replace

        # Tiny runs (tests, smoke checks) would otherwise spend everything before learning starts.
        cfg = replace(cfg, learning_starts=max(100, timesteps // 20), buffer_size=max(1000, timesteps))
    out = Path(args.policy_out or "outputs/drums-policy")
    name = policy_name(voices, args.steps_per_bar, bars)
    print(f"training {name}: {timesteps} steps, seed {args.seed} ...", flush=True)
    pol = train(cfg, prior=prior)
    pol.meta["name"] = name
    pol.meta["command"] = "producer drums train " + " ".join(
        [f"--voices {','.join(voices)}", f"--steps-per-bar {args.steps_per_bar}", f"--bars {bars}",
         f"--timesteps {timesteps}", f"--seed {args.seed}"]
        + ([f"--weights {args.weights}"] if args.weights else [])
        + ([f"--patterns {args.patterns}"] if args.patterns else []))
    out.mkdir(parents=True, exist_ok=True)
    zpath = pol.save(out / name)
    print(f"trained in {pol.meta['train_seconds']:.0f} s; wrote {zpath} and {zpath.with_suffix('.json').name}")
    return 0
