"""Bench of `producer drums` on held-out style files (run: .venv/bin/python bench/bench_drums.py).

Test set: every distinct bar with a kick of the main grooves of the style files in
``corpus.HELD_OUT_FILES`` (never used in training or to choose a setting). For each bar the
methods below answer the real kick; step F1 of snare, closed hi-hat and ride against the real
bar is pooled (micro) over the bars whose groove plays that voice in that bar:

* ``policy``: the shipped policy of the bar's meter, style = the file's family (``--style``);
* ``policy_matched_style``: the same with the style the program picks from the kick (default);
* ``reward_optimum``: the best pattern of the reward itself (per-voice exhaustive search), to
  tell the policy's search from the reward's taste; ``reward_optimum_style_term_only`` the same
  with every weight but the learned style's at 0 (what the hand-made terms add or cost);
* ``backbeat_template``: snare on the backbeat (4/4 beats 2 and 4; 3/4 beats 2, 3; 6/8 beat 2;
  12/8 beats 2, 4), hi-hat and ride on every eighth note;
* ``kick_complement``: snare on every beat without a kick, hats and ride on every eighth
  without a kick (the seed's rule: play where the kick rests);
* ``random_real_density``: each step at the real bar's density of that voice (seeded);
* ``previous_policy`` (4/4 only, no ride): issue 11's snare/closed/open hi-hat policy.

Also: the policy's reward against the exhaustive optimum (gain over the empty pattern as a share
of the best gain; the bound ignores the hi-hat choke, so the share is a lower bound), inference
time per bar (policy alone, and the whole part pipeline without audio), training time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.drums.agent import POLICY_DIR, DrumPolicy, policy_name  # noqa: E402
from producer.drums.corpus import BACKBEAT_STEPS, BEAT_STEPS, METERS, load_corpus, split  # noqa: E402
from producer.drums.reward import (GrooveReward, RewardWeights,  # noqa: E402
                                   exhaustive_optimum, optimum_bound)
from producer.drums.style import POLICY_VOICES, style_model  # noqa: E402

VOICES = ("snare", "hihat_closed", "ride")
PREVIOUS = POLICY_DIR / "snare+hihat_closed+hihat_open-16x2.zip"


def eighths(meter: str) -> np.ndarray:
    T = METERS[meter][0]
    m = np.zeros(T, bool)
    m[:: (1 if meter == "12/8" else 2)] = True
    return m


def template(meter: str, voice: str, kick: np.ndarray) -> np.ndarray:
    T = METERS[meter][0]
    if voice == "snare":
        out = np.zeros(T, bool)
        out[list(BACKBEAT_STEPS[meter])] = True
        return out
    return eighths(meter)


def complement(meter: str, voice: str, kick: np.ndarray) -> np.ndarray:
    T = METERS[meter][0]
    if voice == "snare":
        beats = np.zeros(T, bool)
        beats[:: BEAT_STEPS[meter]] = True
        return beats & ~kick
    return eighths(meter) & ~kick


class Previous:
    """Issue 11's policy: observation [kick(32), snare(32), closed(32), open(32)], toggles until
    it stops, undoes its last toggle, or 56 toggles; answers a bar looped to two bars."""

    def __init__(self):
        from stable_baselines3 import DQN

        self.model = DQN.load(str(PREVIOUS), device="cpu")

    def answer(self, kick: np.ndarray) -> dict[str, np.ndarray]:
        k = np.tile(kick.astype(np.float32), 2)
        hits = np.zeros((3, 32), np.float32)
        last = None
        for _ in range(56):
            a = int(self.model.predict(np.concatenate([k, hits.ravel()]), deterministic=True)[0])
            if a == 96 or a == last:
                break
            hits[a // 32, a % 32] = 1 - hits[a // 32, a % 32]
            last = a
        return {"snare": hits[0, :16] > 0, "hihat_closed": hits[1, :16] > 0}


def f1(c) -> float:
    tp, fp, fn = c
    return float(2 * tp / max(1, 2 * tp + fp + fn))


def cross_validate(folds: int = 4, distinct: bool = True) -> dict:
    """Step F1 of the learned style's own call (P > HIT_THRESHOLD) against the template, by
    4-fold cross-validation over the TRAINING style files (folds by CRC of the file name): the
    figures the style model's settings were chosen on (then over all bars, ``distinct`` False,
    where a file's repeated bars count again). Held-out files are not touched."""
    import zlib

    from producer.drums.style import HIT_THRESHOLD, StyleModel

    train, _ = split(load_corpus())
    fold = {g.file: zlib.crc32(g.file.encode()) % folds for g in train}
    counts = defaultdict(lambda: np.zeros(3))
    for f in range(folds):
        m = StyleModel([g for g in train if fold[g.file] != f])
        seen = set()
        for g in train:
            if fold[g.file] != f or g.kind != "main" or (g.family, g.meter) not in m.styles:
                continue
            for bar in g.bars:
                key = (g.file, tuple(sorted((v, r.tobytes()) for v, r in bar.items())))
                if "kick" not in bar or (distinct and key in seen):
                    continue
                seen.add(key)
                kick = bar["kick"] > 0
                st = m.get(g.family, g.meter)
                for v in VOICES:
                    if v not in bar:
                        continue
                    real = bar[v] > 0
                    preds = {"style_model": m.prob(g.family, g.meter, v, kick) > HIT_THRESHOLD,
                             "per_step_counts_only": st.prob(v, kick) > HIT_THRESHOLD,
                             "backbeat_template": template(g.meter, v, kick)}
                    for k, p in preds.items():
                        counts[(k, v)] += [(p & real).sum(), (p & ~real).sum(), (~p & real).sum()]
    return {k: {v: round(f1(counts[(k, v)]), 3) for v in VOICES}
            for k in ("style_model", "per_step_counts_only", "backbeat_template")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--policies", default=str(POLICY_DIR),
                    help="folder of drums-<meter> policies (default: the shipped ones)")
    ap.add_argument("--cv", action="store_true",
                    help="print the cross-validation over training files instead")
    args = ap.parse_args()
    if args.cv:
        print(json.dumps({"cross_validation_on_training_files": {
            "distinct_bars": cross_validate(), "all_bars": cross_validate(distinct=False)}},
            indent=2))
        return
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    model = style_model()
    _, held = split(load_corpus())
    # Distinct bars per file: a file's grooves repeat bars (its Sus/Plus variants change only
    # the other instruments), which would weigh a file by how many variants it has.
    bars, seen = [], set()
    for g in held:
        if g.kind != "main" or (g.family, g.meter) not in model.styles:
            continue
        for b in g.bars:
            key = (g.file, tuple(sorted((v, r.tobytes()) for v, r in b.items())))
            if "kick" in b and key not in seen:
                seen.add(key)
                bars.append((g, b))
    folder = Path(args.policies)
    policies = {m: DrumPolicy.load(folder / policy_name(m))
                for m in METERS if (folder / policy_name(m)).with_suffix(".zip").is_file()}
    envs = {m: p.make_env() for m, p in policies.items()}
    previous = Previous() if PREVIOUS.is_file() else None
    counts = defaultdict(lambda: np.zeros(3))  # (method, voice[, "4/4"]) -> tp, fp, fn
    gain_share, ms, cpu_ms, skipped, n_used = [], [], [], defaultdict(int), 0

    def answer(g, kick):
        """Answers of the policy (style given and matched) and the reward optima for one task."""
        pol, env = policies[g.meter], envs[g.meter]
        answers = {}
        for method, fam in (("policy", g.family),
                            ("policy_matched_style", model.best_family(kick[None], g.meter))):
            terms = model.terms(fam, g.meter, POLICY_VOICES, kick)
            t0, c0 = time.perf_counter(), time.process_time()
            ep = pol.generate(kick.astype(np.uint8), terms, env=env)
            ms.append((time.perf_counter() - t0) * 1e3)
            cpu_ms.append((time.process_time() - c0) * 1e3)
            answers[method] = {v: ep.hits[i] > 0 for i, v in enumerate(POLICY_VOICES)}
            if method == "policy":
                r = GrooveReward(POLICY_VOICES, kick, terms, meter=g.meter, weights=pol.config.weights)
                best, _ = exhaustive_optimum(r)
                empty = r.score(np.zeros_like(ep.hits))
                bound = optimum_bound(r)
                gain_share.append((ep.score - empty) / max(1e-9, bound - empty))
                answers["reward_optimum"] = {v: best[i] > 0 for i, v in enumerate(POLICY_VOICES)}
                alone = GrooveReward(POLICY_VOICES, kick, terms, meter=g.meter,
                                     weights=RewardWeights(0, 0, 1, 0, 0))
                best_alone, _ = exhaustive_optimum(alone)
                answers["reward_optimum_style_term_only"] = {
                    v: best_alone[i] > 0 for i, v in enumerate(POLICY_VOICES)}
        return answers

    cache = {}
    for g, bar in bars:
        if g.meter not in policies:
            skipped[g.meter] += 1
            continue
        n_used += 1
        kick = bar["kick"] > 0
        key = (g.family, g.meter, kick.tobytes())
        if key not in cache:
            cache[key] = answer(g, kick)
        answers = cache[key]
        prev = previous.answer(kick) if previous is not None and g.meter == "4/4" else None
        for v in VOICES:
            if v not in bar:
                continue
            real = bar[v] > 0
            preds = {k: a[v] for k, a in answers.items()}
            preds["backbeat_template"] = template(g.meter, v, kick)
            preds["kick_complement"] = complement(g.meter, v, kick)
            preds["random_real_density"] = rng.random(len(real)) < real.mean()
            if prev is not None and v in prev:
                preds["previous_policy"] = prev[v]
            for k, p in preds.items():
                c = np.array([(p & real).sum(), (p & ~real).sum(), (~p & real).sum()])
                counts[(k, v)] += c
                if g.meter == "4/4":
                    counts[(k, v, "4/4")] += c

    methods = ["policy", "policy_matched_style", "reward_optimum",
               "reward_optimum_style_term_only", "backbeat_template",
               "kick_complement", "random_real_density", "previous_policy"]
    table = {k: {v: round(f1(counts[(k, v)]), 3) for v in VOICES if (k, v) in counts}
             for k in methods}
    table_44 = {k: {v: round(f1(counts[(k, v, "4/4")]), 3) for v in VOICES
                    if (k, v, "4/4") in counts} for k in methods}

    # The whole pipeline (8 bars, fills, velocities; no audio), per bar.
    from producer.drums.generate import generate_drums

    kick8 = np.tile(np.array([2, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0], np.uint8), 8)
    kick8[16 * 3 + 10] = 1
    t0, c0 = time.perf_counter(), time.process_time()
    generate_drums(kick8, meter="4/4", style="rock", seed=1, humanize=0.5,
                   policy_path=folder / policy_name("4/4"))
    part_ms = (time.perf_counter() - t0) * 1e3 / 8
    part_cpu_ms = (time.process_time() - c0) * 1e3 / 8

    gs = np.array(gain_share)
    out = {
        "test_set": {"style_files": sorted({g.file for g, _ in bars}), "bars": n_used,
                     "bars_by_meter": {m: sum(1 for g, _ in bars if g.meter == m) for m in METERS},
                     "skipped_no_policy": dict(skipped)},
        "step_f1": table,
        "step_f1_4_4_only": table_44,
        "policy_minus_template": {v: round(table["policy"][v] - table["backbeat_template"][v], 3)
                                  for v in VOICES},
        "targets": "held-out snare F1 >= 0.65 and hi-hat >= 0.70, each >= template + 0.10",
        "reward_vs_optimum": {"mean_gain_share": round(float(gs.mean()), 4),
                              "min_gain_share": round(float(gs.min()), 4),
                              "share_at_least_0.99": round(float((gs >= 0.99).mean()), 4)},
        # Wall time on a shared machine mostly measures the neighbours; CPU time beside it.
        "inference_ms_per_bar": {"policy_wall_mean": round(float(np.mean(ms)), 2),
                                 "policy_wall_p95": round(float(np.percentile(ms, 95)), 2),
                                 "policy_cpu_mean": round(float(np.mean(cpu_ms)), 2),
                                 "policy_cpu_p95": round(float(np.percentile(cpu_ms, 95)), 2),
                                 "whole_8_bar_part_no_audio_wall": round(part_ms, 2),
                                 "whole_8_bar_part_no_audio_cpu": round(part_cpu_ms, 2)},
        "training": {m: {k: p.meta.get(k) for k in ("train_seconds", "train_cpu_seconds",
                                                     "pretrain_seconds", "command")}
                     for m, p in policies.items()},
    }
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
