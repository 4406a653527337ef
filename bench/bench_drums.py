"""Benchmarks of the drum policy; prints figures (run: .venv/bin/python bench/bench_drums.py).

1. One voice, 16 steps: on held-out kicks (never seen in training, see env.is_held_out), the
   shipped policy's final score against the exhaustive optimum (all 2^16 patterns scored), and
   how often it stops by itself.
2. Three voices, two bars: the policy against random search and greedy hill climbing given the
   same number of reward evaluations (an episode costs 1 + toggles evaluations), and at ten times
   that budget; greedy steepest ascent with unlimited evaluations is the reference ceiling.
Episodes use the undo rule (see DrumPolicy.generate); figures without it are printed beside.
3. Inference time per pattern (model already loaded).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.drums.agent import POLICY_DIR, DrumPolicy  # noqa: E402
from producer.drums.env import random_kick  # noqa: E402
from producer.drums.reward import GrooveReward, exhaustive_optimum  # noqa: E402


def random_search(reward: GrooveReward, budget: int, rng: np.random.Generator) -> float:
    """Best of ``budget`` random patterns; each voice drawn at its style-prior density."""
    V, T = len(reward.voices), reward.T
    best = reward.score(np.zeros((V, T), np.uint8))
    dens = reward.d_target[:, None]
    for _ in range(budget - 1):
        h = (rng.random((V, T)) < dens).astype(np.uint8)
        best = max(best, reward.score(h))
    return float(best)


def greedy_hill_climb(reward: GrooveReward, budget: int, rng: np.random.Generator) -> float:
    """First-improvement hill climbing from the empty pattern: try toggles in random order, keep
    any that raises the score, stop at a local optimum or when ``budget`` evaluations are spent."""
    V, T = len(reward.voices), reward.T
    h = np.zeros((V, T), np.uint8)
    cur = reward.score(h)
    used = 1
    while used < budget:
        improved = False
        for a in rng.permutation(V * T):
            if used >= budget:
                break
            v, t = divmod(int(a), T)
            h[v, t] ^= 1
            s = reward.score(h)
            used += 1
            if s > cur:
                cur = s
                improved = True
                break
            h[v, t] ^= 1
        if not improved:
            break
    return float(cur)


def steepest_ascent(reward: GrooveReward) -> tuple[float, int]:
    """Greedy steepest ascent to a local optimum, unlimited budget: (score, evaluations)."""
    V, T = len(reward.voices), reward.T
    h = np.zeros((V, T), np.uint8)
    cur, used = reward.score(h), 1
    while True:
        best, arg = cur, None
        for a in range(V * T):
            v, t = divmod(a, T)
            h[v, t] ^= 1
            s = reward.score(h)
            used += 1
            h[v, t] ^= 1
            if s > best:
                best, arg = s, (v, t)
        if arg is None:
            return float(cur), used
        h[arg] ^= 1
        cur = best


def bench_one_voice(n: int, seed: int) -> dict:
    pol = DrumPolicy.load(POLICY_DIR / "snare-16x1")
    env = pol.make_env()
    rng = np.random.default_rng(seed)
    ratio, closed, exact, stopped, at_opt, steps, ms = [], [], [], [], [], [], []
    why, raw_ratio, raw_stop = [], [], []
    for _ in range(n):
        kick = random_kick(rng, steps_per_bar=16, bars=1, held_out=True)
        raw = pol.generate(kick, env=env, undo_rule=False)
        t0 = time.perf_counter()
        ep = pol.generate(kick, env=env)
        ms.append((time.perf_counter() - t0) * 1e3)
        why.append(ep.stopped_by)
        r = env.reward_fn
        best_h, best = exhaustive_optimum(r)
        empty = r.score(np.zeros((1, 16), np.uint8))
        ratio.append(ep.score / best)
        raw_ratio.append(raw.score / best)
        raw_stop.append(raw.stopped)
        closed.append((ep.score - empty) / (best - empty))
        hit = bool((ep.hits == best_h).all())
        exact.append(hit)
        stopped.append(ep.stopped)
        at_opt.append(hit and ep.stopped)
        steps.append(ep.steps)
    ratio = np.array(ratio)
    return {
        "kicks": n,
        "mean_score_over_optimum": float(ratio.mean()),
        "min_score_over_optimum": float(ratio.min()),
        "share_at_least_0.99": float((ratio >= 0.99).mean()),
        "mean_gain_over_empty_vs_optimal_gain": float(np.mean(closed)),
        "exact_optimum": float(np.mean(exact)),
        "stop_rate": float(np.mean(stopped)),
        "stopped_by": {k: why.count(k) / n for k in ("policy", "undo", "limit")},
        "stopped_on_the_optimum": float(np.mean(at_opt)),
        "mean_toggles": float(np.mean(steps)),
        "without_undo_rule": {"mean_score_over_optimum": float(np.mean(raw_ratio)),
                              "stop_rate": float(np.mean(raw_stop))},
        "inference_ms_mean": float(np.mean(ms)),
        "inference_ms_p95": float(np.percentile(ms, 95)),
        "train_seconds": pol.meta.get("train_seconds"),
        "train_cpu_seconds": pol.meta.get("train_cpu_seconds"),
    }


def bench_three_voices(n: int, seed: int) -> dict:
    pol = DrumPolicy.load(POLICY_DIR / "snare+hihat_closed+hihat_open-16x2")
    env = pol.make_env()
    rng = np.random.default_rng(seed)
    base_rng = np.random.default_rng(seed + 1)
    rows = {k: [] for k in ("policy", "random", "greedy", "random_x10", "greedy_x10",
                            "steepest", "steepest_evals", "evals", "stopped", "ms", "raw",
                            "raw_stopped")}
    why = []
    for _ in range(n):
        kick = random_kick(rng, steps_per_bar=16, bars=2, held_out=True)
        raw = pol.generate(kick, env=env, undo_rule=False)
        rows["raw"].append(raw.score)
        rows["raw_stopped"].append(raw.stopped)
        t0 = time.perf_counter()
        ep = pol.generate(kick, env=env)
        rows["ms"].append((time.perf_counter() - t0) * 1e3)
        why.append(ep.stopped_by)
        r = env.reward_fn
        budget = ep.evaluations
        rows["policy"].append(ep.score)
        rows["evals"].append(budget)
        rows["stopped"].append(ep.stopped)
        rows["random"].append(random_search(r, budget, base_rng))
        rows["greedy"].append(greedy_hill_climb(r, budget, base_rng))
        rows["random_x10"].append(random_search(r, 10 * budget, base_rng))
        rows["greedy_x10"].append(greedy_hill_climb(r, 10 * budget, base_rng))
        s, used = steepest_ascent(r)
        rows["steepest"].append(s)
        rows["steepest_evals"].append(used)
    a = {k: np.array(v, dtype=float) for k, v in rows.items()}
    return {
        "kicks": n,
        "mean_evaluations_per_episode": float(a["evals"].mean()),
        "stop_rate": float(a["stopped"].mean()),
        "stopped_by": {k: why.count(k) / n for k in ("policy", "undo", "limit")},
        "mean_score": {k: float(a[k].mean()) for k in
                       ("policy", "random", "greedy", "random_x10", "greedy_x10", "steepest")},
        "without_undo_rule": {"mean_score": float(a["raw"].mean()),
                              "stop_rate": float(a["raw_stopped"].mean())},
        "policy_beats_random_same_budget": float((a["policy"] > a["random"]).mean()),
        "policy_beats_greedy_same_budget": float((a["policy"] > a["greedy"]).mean()),
        "policy_beats_greedy_x10_budget": float((a["policy"] > a["greedy_x10"]).mean()),
        "policy_over_steepest_ascent": float((a["policy"] / a["steepest"]).mean()),
        "steepest_ascent_mean_evaluations": float(a["steepest_evals"].mean()),
        "inference_ms_mean": float(a["ms"].mean()),
        "inference_ms_p95": float(np.percentile(a["ms"], 95)),
        "train_seconds": pol.meta.get("train_seconds"),
        "train_cpu_seconds": pol.meta.get("train_cpu_seconds"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kicks", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    out = {"one_voice_16_steps": bench_one_voice(args.kicks, args.seed),
           "three_voices_two_bars": bench_three_voices(args.kicks, args.seed)}
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
