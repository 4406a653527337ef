"""Listening agent bench: held-out figures of the shipped policies beside their baselines, the
compute per block against the block period, and the OSC loopback round trip.

    nice -n 10 .venv/bin/python bench/bench_live.py [--pairs 8] [--targets 8] [--match-pairs 3]
    nice -n 10 .venv/bin/python bench/bench_live.py --pairs 0 --targets 0 --match-pairs 0   # cost only

Cross-adaptive (mean reward per block, 0 = on target; held-out pairs of ``producer.agent.corpus``):
unprocessed, the policy, the best fixed chain (grid search on training pairs), per-block search
(the best of 63 settings rendered for each block, seeing its reward), and ``producer match``
(follow mode, CMA-ES at its default 400 renders) on the first ``--match-pairs`` follow pairs.
"Share of search" = (policy - unprocessed) / (search - unprocessed).
Imitation (z-scored descriptor RMSE; held-out voice trajectories and held-out instruments): the
policy, the default setting, the nearest descriptor-table entry (steady settings, the best any
grid setting reaches block by block) and the table's gap to live rendering.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.agent import corpus  # noqa: E402
from producer.agent.envs import CrossAdaptiveEnv, cross_reward, cross_target  # noqa: E402
from producer.agent.evaluate import best_fixed, evaluate_cross, evaluate_imitation  # noqa: E402
from producer.agent.features import SR, block_features  # noqa: E402
from producer.agent.policies import load_policy, shipped_policies  # noqa: E402


def cross_figures(pol, n_pairs: int, n_train: int) -> dict:
    held = corpus.pairs(n_pairs, held_out=True)
    t0 = time.perf_counter()
    fixed = best_fixed(corpus.pairs(n_train), scaler=pol.scaler, block=pol.config.block)
    fixed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    figs = evaluate_cross(pol, held, fixed=fixed, search=True)
    for m, row in figs.items():
        gain = row["search"] - row["unprocessed"]
        row["policy_share_of_search"] = (row["policy"] - row["unprocessed"]) / gain if gain > 0 else None
        row["fixed_share_of_search"] = (row["fixed"] - row["unprocessed"]) / gain if gain > 0 else None
    return {"figures": figs, "fixed_setting": {m: [round(float(x), 3) for x in a] for m, a in fixed.items()},
            "fixed_search_seconds": round(fixed_s, 1), "eval_seconds": round(time.perf_counter() - t0, 1),
            "held_out_pairs": n_pairs}


def match_figures(pol, n: int, renders: int = 400) -> dict:
    """producer match (follow) per file against the policy, on the follow mapping, same reward."""
    from producer.match import match_track
    from producer.audio import write_audio
    from producer.project import Clip, Track
    from producer.render.engine import Renderer
    from producer.samples import Library

    rows = []
    env_blocks = 512
    for i, (control, source) in enumerate(corpus.pairs(n, held_out=True)):
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "source.wav"
            write_audio(src, source, SR, subtype="FLOAT")
            renderer = Renderer(Library.default(), base_dir=tmp)
            track = Track("Source", "voice", clips=(Clip("source.wav", 0.0, len(source) / SR, 60),))
            t0 = time.perf_counter()
            result = match_track(track, np.stack([control, control]), SR, renderer=renderer, mode="follow",
                                 renders=renders, seed=0)
            seconds = time.perf_counter() - t0
            from producer.project import Project
            out = renderer.render(Project(sample_rate=SR, tracks=(result.track,))).mix[0].astype(np.float64)
        m = len(source) // env_blocks
        fc, fs = block_features(control, block=env_blocks), block_features(source, block=env_blocks)
        fo = block_features(np.pad(out, (0, max(0, len(source) - len(out))))[:len(source)], block=env_blocks)
        warm = 2
        target = cross_target("follow", fc, fs)
        r_match = float(np.mean(cross_reward(fo[warm:m], target[warm:m], fs[warm:m])))
        # the policy on the same pair, one pass, timed
        env = CrossAdaptiveEnv([(control, source)], block=env_blocks, episode_blocks=10**9, scaler=pol.scaler)
        obs, _ = env.reset(options={"clip": 0, "mapping": "follow", "start": env.warm})
        rs, t0 = [], time.perf_counter()
        while True:
            obs, r, _, trunc, _ = env.step(pol.act(obs))
            rs.append(r)
            if trunc:
                break
        p_seconds = time.perf_counter() - t0
        unproc = float(np.mean(cross_reward(fs[warm:m], target[warm:m], fs[warm:m])))
        rows.append({"pair": i, "unprocessed": unproc, "match": r_match, "policy": float(np.mean(rs)),
                     "match_seconds": round(seconds, 1), "policy_seconds": round(p_seconds, 2)})
    agg = {k: float(np.mean([r[k] for r in rows])) for k in ("unprocessed", "match", "policy", "match_seconds", "policy_seconds")}
    gain = agg["match"] - agg["unprocessed"]
    agg["policy_share_of_match"] = (agg["policy"] - agg["unprocessed"]) / gain if gain > 0 else None
    agg["speedup"] = agg["match_seconds"] / agg["policy_seconds"]
    return {"rows": rows, "mean": agg}


def imitation_figures(pol, n: int) -> dict:
    c = pol.config
    n_blocks = int(corpus.CLIP_SECONDS * SR) // c.block
    voice = [corpus.voice_target(s, c.voice, block=c.block, n_blocks=n_blocks, held_out=True) for s in range(n)]
    insts = [corpus.instrument_target(s, held_out=True) for s in range(n)]
    return {"voice_held_out": evaluate_imitation(pol, voice, table=True),
            "instruments_held_out": evaluate_imitation(pol, insts, table=True), "targets": n}


def compute_per_block(pol, *, block: int = 512, seconds: float = 4.0) -> dict:
    from producer.agent.stream import CrossRunner, ImitationRunner, file_blocks, run_blocks

    control, source = corpus.pairs(1, held_out=True)[0]
    if pol.task == "cross":
        runner = CrossRunner(pol, block=block, sr=SR, mapping="duck")
        blocks = file_blocks(control, source, block=block)
    else:
        runner = ImitationRunner(pol, block=block, sr=SR)
        blocks = ((b[0],) for b in file_blocks(source, block=block))
    take = run_blocks(runner, blocks)
    ms = np.array(take.compute) * 1e3
    cpu = np.array(take.cpu) * 1e3
    period = 1e3 * block / SR
    # wall time on a shared machine mostly measures the neighbours; CPU time is the block's own cost
    return {"blocks": len(ms), "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
            "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3), "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3), "period_ms": round(period, 2),
            "p99_share_of_period": round(float(np.percentile(ms, 99)) / period, 3)}


def osc_round_trip(pol, n: int = 500) -> dict:
    from pythonosc.osc_message import OscMessage
    from pythonosc.udp_client import SimpleUDPClient

    from producer.agent.osc import serve
    from producer.agent.stream import CrossRunner, ImitationRunner

    runner = (CrossRunner(pol, block=512, sr=SR, mapping="follow") if pol.task == "cross"
              else ImitationRunner(pol, block=512, sr=SR))
    ready, box = threading.Event(), {}
    th = threading.Thread(target=lambda: box.update(result=serve(runner, port=0, idle_timeout=5.0,
                                                                 on_ready=lambda p: (box.update(port=p), ready.set()))),
                          daemon=True)
    th.start()
    ready.wait(30)
    client = SimpleUDPClient("127.0.0.1", box["port"])
    feats = [-20.0, 11.0, 10.0, -10.0, -25.0, 10.5, 9.5, -20.0] if pol.task == "cross" else [-20.0, 9.0, 8.0, -60.0]
    rtt, lost = [], 0
    for k in range(n):
        t0 = time.perf_counter()
        client.send_message("/producer/features", feats)
        while True:
            data = client.receive(timeout=1.0)
            if not data:
                lost += 1
                break
            if OscMessage(data).address == "/producer/params":
                rtt.append(time.perf_counter() - t0)
                break
    client.send_message("/producer/stop", [])
    th.join(10)
    ms = np.array(rtt) * 1e3
    return {"round_trips": len(ms), "lost": lost, "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--train-pairs", type=int, default=6)
    ap.add_argument("--targets", type=int, default=8)
    ap.add_argument("--match-pairs", type=int, default=3)
    ap.add_argument("--match-renders", type=int, default=400, help="producer match's render budget")
    ap.add_argument("--policies", default=None, help="comma-separated names (default: all shipped)")
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args()
    names = args.policies.split(",") if args.policies else shipped_policies()
    report = {}
    for name in names:
        pol = load_policy(name)
        t0 = time.perf_counter()
        import os

        entry = {"load": round(os.getloadavg()[0], 1), "task": pol.task, "algo": pol.config.algo, "compute": compute_per_block(pol), "osc": osc_round_trip(pol)}
        if pol.task == "cross":
            if args.pairs:
                entry["held_out"] = cross_figures(pol, args.pairs, args.train_pairs)
            if args.match_pairs:
                entry["match"] = match_figures(pol, args.match_pairs, args.match_renders)
        else:
            entry["voice"] = pol.config.voice
            if args.targets:
                entry["held_out"] = imitation_figures(pol, args.targets)
        entry["bench_seconds"] = round(time.perf_counter() - t0, 1)
        report[name] = entry
        print(f"== {name} ==\n{json.dumps(entry, indent=1)}", flush=True)
    print("\nsummary")
    for name, e in report.items():
        c, o = e["compute"], e["osc"]
        line = (f"{name:22s} compute wall p50 {c['p50_ms']:.3f} ms p99 {c['p99_ms']:.3f} ms "
                f"({100 * c['p99_share_of_period']:.1f}% of {c['period_ms']} ms), CPU p50 {c['cpu_p50_ms']:.3f} "
                f"p99 {c['cpu_p99_ms']:.3f} ms; OSC rtt p50 {o['p50_ms']:.2f} p99 {o['p99_ms']:.2f} ms; "
                f"load {e['load']}")
        print(line)
        if e["task"] == "cross":
            for m, r in e.get("held_out", {}).get("figures", {}).items():
                print(f"   {m:6s} unprocessed {r['unprocessed']:.3f} fixed {r['fixed']:.3f} policy {r['policy']:.3f} "
                      f"search {r['search']:.3f}; policy share of search {r['policy_share_of_search']}")
            if "match" in e:
                mm = e["match"]["mean"]
                print(f"   follow vs producer match: unprocessed {mm['unprocessed']:.3f} match {mm['match']:.3f} "
                      f"policy {mm['policy']:.3f}; share {mm['policy_share_of_match']}; {mm['speedup']:.0f}x faster")
        else:
            for k in ("voice_held_out", "instruments_held_out") if "held_out" in e else ():
                r = e["held_out"][k]
                print(f"   {k:20s} RMSE policy {r['policy']:.3f} default {r['default']:.3f} table {r['table']:.3f} "
                      f"(live {r['table_live']:.3f}, gap {r['table_gap']:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
