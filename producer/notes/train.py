"""Train the note model on the training set of ``producer.notes.data``.

    nice -n 10 .venv/bin/python -m producer.notes.train --data outputs/notes-train \\
        --out embeddings/notes-small.pt --steps 3000 --minutes 45 --seed 0 --threads 1

Random 3 s crops (batch 8) of the training pieces, all but the last ``--val`` pieces (held out:
they pick the decoding thresholds at the end). Loss per crop: binary cross-entropy of onsets,
frames and drum hits, squared error of velocities at true onsets, cross-entropy of the instrument
at true onsets (weight 0.5). AdamW, learning rate 2e-3 with a cosine decay over ``--steps`` or
``--minutes``, whichever ends first; a crop's level is changed by -12..+3 dB. The weights file
holds the thresholds chosen on the held-out pieces (onset, drum: the best mean F1 over a small
grid; frame 0.5).

One thread: on a shared 2-core machine two torch threads ran a step 5x slower than one (each
parallel region waits for its slowest thread).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

CROP_S = 3.0
BATCH = 8


def _targets(items):
    from producer.notes.model import FPS, HOP, frame_targets

    for it in items:
        n_frames = len(it["audio"]) // HOP + 1
        t = frame_targets(it["notes"], it["drums"], n_frames)
        it["t"] = {"onset": t["onset"].astype(bool), "frame": t["frame"].astype(bool),
                   "velocity": np.round(t["velocity"] * 127).astype(np.uint8), "drums": t["drums"].astype(bool),
                   "instrument": t["instrument"].astype(np.int8)}
    return FPS


def _batch(items, rng, crop: int):
    from producer.notes.model import HOP

    frames = crop // HOP + 1
    audio = np.zeros((BATCH, crop), np.float32)
    keys = ("onset", "frame", "velocity", "drums", "instrument")
    tg = {k: [] for k in keys}
    for b in range(BATCH):
        it = items[int(rng.integers(len(items)))]
        n = len(it["audio"])
        s0 = int(rng.integers(0, max(1, (n - crop) // HOP)))
        seg = it["audio"][s0 * HOP:s0 * HOP + crop]
        audio[b, :len(seg)] = seg * 10 ** (rng.uniform(-12, 3) / 20)
        for k in keys:
            arr = it["t"][k][s0:s0 + frames]
            pad = np.full((frames - len(arr),) + arr.shape[1:], -1 if k == "instrument" else 0, arr.dtype)
            tg[k].append(np.concatenate([arr, pad]))
    return audio, {k: np.stack(v) for k, v in tg.items()}


def loss_of(out, tg):
    import torch
    import torch.nn.functional as Fn

    on = torch.from_numpy(tg["onset"]).float()
    fr = torch.from_numpy(tg["frame"]).float()
    dr = torch.from_numpy(tg["drums"]).float()
    vel = torch.from_numpy(tg["velocity"]).float() / 127
    inst = torch.from_numpy(tg["instrument"]).long()
    l_on = Fn.binary_cross_entropy_with_logits(out["onset"], on)
    l_fr = Fn.binary_cross_entropy_with_logits(out["frame"], fr)
    l_dr = Fn.binary_cross_entropy_with_logits(out["drums"], dr)
    mask = on > 0
    l_vel = ((out["velocity"] - vel) ** 2)[mask].mean() if mask.any() else out["velocity"].sum() * 0
    has = inst >= 0  # the instrument is only asked where a note starts
    l_inst = Fn.cross_entropy(out["instrument"][has], inst[has]) if has.any() else out["instrument"].sum() * 0
    parts = {"onset": l_on, "frame": l_fr, "drums": l_dr, "velocity": l_vel, "instrument": l_inst}
    return l_on + l_fr + l_dr + l_vel + 0.5 * l_inst, parts


def choose_thresholds(net, items) -> dict:
    """Onset / frame / drum thresholds with the best mean F1 on ``items`` (held-out training pieces)."""
    from producer.notes.transcribe import decode, drum_scores, note_scores, run_net

    outs = [run_net(net, it["audio"]) for it in items]
    best = {}
    # A small net trained briefly gives onsets low probabilities (they are rare): the grid goes low.
    grid_on = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
    scores = {}
    for th in grid_on:
        f = [note_scores(it["notes"], decode(o, onset_threshold=th)["notes"])["f1"] for it, o in zip(items, outs)]
        scores[th] = float(np.mean(f))
    best["onset"] = max(scores, key=scores.get)
    dscores = {}
    for th in grid_on:
        f = [drum_scores(it["drums"], decode(o, drum_threshold=th)["drums"])["f1"] for it, o in zip(items, outs)
             if len(it["drums"])]
        dscores[th] = float(np.mean(f)) if f else 0.0
    best["drums"] = max(dscores, key=dscores.get)
    return {"thresholds": {"onset": best["onset"], "frame": 0.5, "drums": best["drums"]},
            "val_note_f1": scores, "val_drum_f1": dscores}


def _start_net(config: dict | None, init: str | None):
    """(net, config, history): a fresh net, or the one in the weights file ``init`` to continue
    (its architecture; ``history`` lists the stages it has been through)."""
    import torch

    from producer.notes.model import DEFAULT_CONFIG, HARMONIC_CONFIG, build_net

    if not init:
        base = HARMONIC_CONFIG if (config or {}).get("arch") == "harmonic" else DEFAULT_CONFIG
        cfg = {**base, **(config or {})}
        return build_net(cfg), cfg, []
    from producer.notes.transcribe import load_model

    start = load_model(init)
    cfg = dict(torch.load(init, map_location="cpu", weights_only=True)["config"])
    history = [*start.meta.get("history", []), {k: start.meta.get(k) for k in ("steps", "train_seconds", "lr")}]
    return start.net.train(), cfg, history


def train(data: str, out: str, *, steps: int, minutes: float, seed: int, val: int, config: dict | None = None,
          init: str | None = None, lr: float = 2e-3, log=print) -> dict:
    import torch

    from producer.notes.data import load_set
    from producer.notes.model import SR
    from producer.notes.transcribe import save_weights

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    items = load_set(data)
    if len(items) <= val:
        raise SystemExit(f"{data}: {len(items)} pieces, need more than --val {val}")
    train_items, val_items = items[:-val], items[-val:]
    _targets(train_items)
    net, cfg, history = _start_net(config, init)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    t0 = time.perf_counter()

    def progress(s: int) -> float:
        # Whichever limit comes first ends the cosine: on a shared machine the steps that fit in
        # --minutes are not known in advance (so a run stopped by time is not bit-reproducible).
        return min(1.0, max(s / steps, (time.perf_counter() - t0) / (minutes * 60)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * progress(s))))
    crop = int(CROP_S * SR)
    hours = sum(len(it["audio"]) for it in train_items) / SR / 3600
    log(f"{len(train_items)} training pieces ({hours:.2f} h), {len(val_items)} held out; {sum(p.numel() for p in net.parameters())} parameters")
    step, run = 0, {}
    net.train()
    while step < steps and time.perf_counter() - t0 < minutes * 60:
        audio, tg = _batch(train_items, rng, crop)
        outs = net(torch.from_numpy(audio))
        loss, parts = loss_of(outs, tg)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 3.0)
        opt.step()
        sched.step()
        step += 1
        for k, v in parts.items():
            v = float(v.detach())
            run[k] = 0.98 * run.get(k, v) + 0.02 * v
        if step % 50 == 0:
            log(f"step {step} {time.perf_counter() - t0:.0f}s lr {sched.get_last_lr()[0]:.2e} "
                + " ".join(f"{k} {v:.4f}" for k, v in run.items()))
        if step % 500 == 0:
            save_weights(out, net, config=cfg, meta={"step": step, "partial": True})
    train_s = time.perf_counter() - t0
    net.eval()
    chosen = choose_thresholds(net, val_items)
    log(f"thresholds {chosen}")
    meta = {"steps": step, "steps_planned": steps, "train_seconds": round(train_s, 1), "seed": seed, "lr": lr,
            "history": history, "init": init,
            "data": str(data), "train_pieces": len(train_items), "train_hours": round(hours, 3),
            "val_pieces": len(val_items), "final_loss": {k: round(v, 5) for k, v in run.items()}, **chosen}
    digest = save_weights(out, net, config=cfg, meta=meta, thresholds=chosen["thresholds"])
    Path(out).with_suffix(".train.json").write_text(json.dumps({**meta, "sha256": digest}, indent=1) + "\n")
    log(f"wrote {out} sha256 {digest} after {step} steps, {train_s:.0f} s")
    return meta


def retune(data: str, weights: str, *, val: int, log=print) -> dict:
    """Choose the thresholds of an existing weights file again (the same held-out pieces) and
    rewrite it with them; its other contents stay."""
    import torch

    from producer.notes.data import load_set
    from producer.notes.transcribe import load_model, save_weights

    model = load_model(weights)
    items = load_set(data, last=val)
    chosen = choose_thresholds(model.net, items)
    log(f"thresholds {chosen}")
    blob = torch.load(weights, map_location="cpu", weights_only=True)
    meta = {**blob.get("meta", {}), **chosen}
    digest = save_weights(weights, model.net, config=blob["config"], meta=meta, thresholds=chosen["thresholds"])
    Path(weights).with_suffix(".train.json").write_text(json.dumps({**meta, "sha256": digest}, indent=1) + "\n")
    log(f"rewrote {weights} sha256 {digest}")
    return meta


def main(argv=None) -> None:
    import argparse

    import torch

    ap = argparse.ArgumentParser(prog="python -m producer.notes.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--minutes", type=float, default=45.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", help="continue training from this weights file")
    ap.add_argument("--arch", choices=("harmonic", "mel"), default="harmonic",
                    help="architecture of a net trained from scratch (producer.notes.model)")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--retune", action="store_true", help="only choose the thresholds of --out again")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.retune:
        retune(args.data, args.out, val=args.val, log=lambda s: print(s, flush=True))
        return
    train(args.data, args.out, steps=args.steps, minutes=args.minutes, seed=args.seed, val=args.val,
          init=args.init, lr=args.lr, config={"arch": args.arch}, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
