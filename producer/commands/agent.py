"""`producer agent train / eval / list`: the listening agent's policies.

Parsing and printing only; the work is in producer.api (agent_train, agent_eval).
"""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "agent",
        help="train, evaluate or list the listening agent's policies (producer live)",
        description="Train a stable-baselines3 policy (SAC or PPO) for the cross-adaptive task "
        "(gain and low-pass on a source in answer to a control signal) or the imitation task "
        "(a sine or FM voice imitating incoming audio) on material generated from the sample "
        "library, evaluate it on held-out material beside its baselines, or list the shipped ones.",
    )
    p.add_argument("action", choices=("train", "eval", "list"))
    p.add_argument("--task", default=None, choices=("cross", "imitate"), help="train: the task (default "
                   "cross); eval: refuse a policy trained for another task")
    p.add_argument("--voice", default="sine", choices=("sine", "fm"), help="imitate: the synth voice")
    p.add_argument("--algo", default="sac", choices=("sac", "ppo"))
    p.add_argument("--timesteps", type=int, default=30_000, help="environment steps (blocks) to train")
    p.add_argument("--pretrain-blocks", type=int, default=0, help="train: blocks of per-block search "
                   "choices to clone before RL (0: RL only)")
    p.add_argument("--clips", type=int, default=None, help="train: training clips (default 48); "
                   "eval: held-out clips (default 12)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--policy", default=None, help="eval: shipped name or path to NAME.zip")
    p.add_argument("--search", action="store_true",
                   help="eval: also the per-block search (cross) or descriptor-table oracle (imitate); slow")
    p.add_argument("--out", default=None, help="train: folder for NAME.zip + NAME.json")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from producer import api
    from producer.errors import InputError

    if args.action == "list":
        for name, meta in api.agent_policies():
            print(f"{name}: task {meta['task']}, {meta['config']['algo']}, block {meta['config']['block']}")
        return 0
    if args.action == "train":
        if not args.out:
            raise InputError("--out is required for train (a folder for the policy files)")
        print("training (this takes minutes) ...", flush=True)
        s = api.agent_train(args.out, task=args.task or "cross", voice=args.voice, algo=args.algo,
                            timesteps=args.timesteps, seed=args.seed, clips=args.clips or 48,
                            pretrain_blocks=args.pretrain_blocks, force=args.force)
        print(f"trained {s.name} in {s.train_seconds:.0f} s; held-out figures:")
        print(json.dumps(s.figures, indent=2))
        print(f"wrote {s.name}.zip and {s.name}.json to {s.out}/")
        return 0
    if not args.policy:
        raise InputError("--policy is required for eval")
    r = api.agent_eval(args.policy, task=args.task, clips=args.clips or 12, search=args.search)
    print(json.dumps(r, indent=2))
    return 0
