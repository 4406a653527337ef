"""Audio -> notes and drum hits with the note model (``producer.notes.model``), and its loader.

Weights are ``torch.save`` dicts of plain values and tensors (``torch.load(weights_only=True)``),
found by name in ``embeddings/`` (checked against a SHA-256, as the timbre weights are) or by path::

    {"format": 1, "kind": "notes", "config": {...}, "instruments": [...], "drums": [...],
     "thresholds": {"onset", "frame", "drums"}, "state_dict": {...}, "meta": {...}}

Figures on the dev set (the exact command; NOTES_MODEL_CARD.md has them):

    nice -n 10 .venv/bin/python -m producer.notes.transcribe --eval outputs/devset
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from producer.errors import ModelError
from producer.notes.model import (DRUM_CLASSES, FPS, HOP, INSTRUMENT_CLASSES, LOW_PITCH, N_PITCHES, SR,
                                  build_net)
from producer import weights
from producer.weights import EMBEDDINGS_DIR, sha256_of

FORMAT = 1
# name -> (file in EMBEDDINGS_DIR, sha256); NOTES_MODEL_CARD.md describes each.
REGISTRY: dict[str, tuple[str, str]] = {
    "small": ("notes-small.pt", "2df851f280e8c3b4de64a2f52326abe8b0099f6dd9fb2bbb9ba295c679a9a488"),
}
DEFAULT = "small"
DEFAULT_THRESHOLDS = {"onset": 0.4, "frame": 0.5, "drums": 0.4}
CHUNK_S, MARGIN_S = 10.0, 1.0  # the GRU hears 1 s either side of each 10 s chunk


@dataclass(frozen=True)
class NoteEvent:
    """A transcribed note: MIDI pitch, onset and offset (s), velocity 1-127, the onset head's
    probability (confidence), the instrument head's best class and its probability."""

    pitch: int
    onset: float
    offset: float
    velocity: int
    confidence: float
    instrument: str
    instrument_confidence: float


@dataclass(frozen=True)
class DrumHit:
    time: float
    drum: str  # one of DRUM_CLASSES
    confidence: float


@dataclass
class Transcription:
    notes: list[NoteEvent] = field(default_factory=list)
    drums: list[DrumHit] = field(default_factory=list)


def save_weights(path, net, *, config: dict, meta: dict | None = None, thresholds: dict | None = None,
                 half: bool = True) -> str:
    """Write a note-model weights file (float16 tensors by default); returns its sha256."""
    import torch

    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"format": FORMAT, "kind": "notes", "config": dict(config), "instruments": list(INSTRUMENT_CLASSES),
                "drums": list(DRUM_CLASSES), "thresholds": dict(thresholds or DEFAULT_THRESHOLDS),
                "state_dict": state, "meta": json.loads(json.dumps(meta or {}))}, str(path))
    return sha256_of(path)


def resolve(name: str) -> tuple[Path, str | None]:
    return weights.resolve(name, registry=REGISTRY, default=DEFAULT, folder=EMBEDDINGS_DIR, kind="note")


class NoteModel:
    """A loaded note model: ``transcribe(y, sr)`` -> Transcription."""

    def __init__(self, net, *, thresholds: dict, name: str = "", meta: dict | None = None):
        self.net = net.eval()
        self.thresholds = {**DEFAULT_THRESHOLDS, **thresholds}
        self.name = name
        self.meta = meta or {}

    def transcribe(self, y: np.ndarray, sr: int) -> Transcription:
        """y: mono [shape=(n,)] or channels-first [shape=(c, n)] float audio at ``sr`` Hz."""
        return decode(run_net(self.net, to_model_rate(y, sr)), onset_threshold=self.thresholds["onset"],
                      frame_threshold=self.thresholds["frame"], drum_threshold=self.thresholds["drums"])["result"]


def load_model(name: str = "default") -> NoteModel:
    """Load by registered name or .pt path; ModelError when missing, corrupt or not fitting."""
    path, blob = weights.read_checked(name, registry=REGISTRY, default=DEFAULT, folder=EMBEDDINGS_DIR,
                                      kind="note", card="NOTES_MODEL_CARD.md")
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("kind") != "notes":
        raise ModelError(f"note model {name!r}: {path} is not a producer note-model weights file")
    if tuple(blob.get("instruments", ())) != INSTRUMENT_CLASSES or tuple(blob.get("drums", ())) != DRUM_CLASSES:
        raise ModelError(f"note model {name!r}: {path} has other instrument or drum classes than this code")
    try:
        net = build_net(blob.get("config"))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        raise ModelError(f"note model {name!r}: weights in {path} do not fit the architecture ({exc})") from None
    return NoteModel(net, thresholds=blob.get("thresholds", {}), name=str(name), meta=blob.get("meta", {}))


def to_model_rate(y: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at SR."""
    y = np.asarray(y, np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    from producer.audio import resample

    return resample(y, int(sr), SR)


def run_net(net, audio: np.ndarray) -> dict[str, np.ndarray]:
    """Mono audio at SR [shape=(n,)] -> per-frame outputs for frames 0 .. n // HOP:
    onset, frame, velocity [shape=(T, 88)], drums [shape=(T, 5)] probabilities, instrument
    (best class index, int8) and instrument_p (its probability) [shape=(T, 88)].

    The audio runs in 10 s chunks, each heard with 1 s of context either side, as one batch."""
    import torch

    n_frames = len(audio) // HOP + 1
    L, M = int(round(CHUNK_S * FPS)), int(round(MARGIN_S * FPS))
    n_chunks = max(1, -(-n_frames // L))
    padded = np.zeros((n_chunks * L + 2 * M) * HOP, np.float32)
    padded[M * HOP:M * HOP + len(audio)] = audio
    batch = np.stack([padded[c * L * HOP:(c * L + L + 2 * M) * HOP] for c in range(n_chunks)])
    outs = {"onset": [], "frame": [], "velocity": [], "drums": [], "instrument": [], "instrument_p": []}
    with torch.inference_mode():
        for i in range(0, n_chunks, 8):  # 8 chunks at a time bounds memory on long inputs
            o = net(torch.from_numpy(batch[i:i + 8]))
            core = slice(M, M + L)
            outs["onset"].append(torch.sigmoid(o["onset"][:, core]).numpy())
            outs["frame"].append(torch.sigmoid(o["frame"][:, core]).numpy())
            outs["velocity"].append(o["velocity"][:, core].numpy())
            outs["drums"].append(torch.sigmoid(o["drums"][:, core]).numpy())
            p, k = torch.softmax(o["instrument"][:, core], dim=-1).max(dim=-1)
            outs["instrument"].append(k.to(torch.int8).numpy())
            outs["instrument_p"].append(p.numpy())
    return {k: np.concatenate(v, axis=0).reshape((-1,) + v[0].shape[2:])[:n_frames] for k, v in outs.items()}


def _peaks(p: np.ndarray, threshold: float, min_gap: int = 3) -> list[tuple[int, float]]:
    """Local maxima of a probability track [shape=(T,)] at or above threshold -> (frame, time in
    frames refined by the centroid of the peak's 3 frames, minus half a frame: a note is labelled
    on the two frames around its onset)."""
    T = len(p)
    prev = np.concatenate([[-np.inf], p[:-1]])
    nxt = np.concatenate([p[1:], [-np.inf]])
    hits: list[tuple[int, float]] = []
    for t in np.flatnonzero((p >= threshold) & (p >= prev) & (p > nxt)):
        if hits and t - hits[-1][0] < min_gap:
            if p[t] > p[hits[-1][0]]:
                hits.pop()
            else:
                continue
        lo, hi = max(0, t - 1), min(T, t + 2)
        w = p[lo:hi]
        hits.append((int(t), float((w * np.arange(lo, hi)).sum() / w.sum()) - 0.5))
    return hits


def decode(out: dict[str, np.ndarray], *, onset_threshold: float = DEFAULT_THRESHOLDS["onset"],
           frame_threshold: float = DEFAULT_THRESHOLDS["frame"], drum_threshold: float = DEFAULT_THRESHOLDS["drums"],
           ) -> dict:
    """run_net's outputs -> {"result": Transcription, "notes": [(pitch, onset s)], "drums": [(time s, class index)]}."""
    T = len(out["onset"])
    notes = []
    for k in range(N_PITCHES):
        peaks = _peaks(out["onset"][:, k], onset_threshold)
        if not peaks:
            continue
        # The note sounds while the frame head (or the onset head) says so, up to the next onset.
        quiet = np.flatnonzero((out["frame"][:, k] < frame_threshold) & (out["onset"][:, k] < onset_threshold))
        for j, (t, tf) in enumerate(peaks):
            nxt = peaks[j + 1][0] if j + 1 < len(peaks) else T
            q = np.searchsorted(quiet, t + 1)
            e = min(int(quiet[q]) if q < len(quiet) else T, nxt)
            e = max(e, t + 2)
            notes.append(NoteEvent(pitch=LOW_PITCH + k, onset=max(0.0, tf / FPS), offset=e / FPS,
                                   velocity=int(np.clip(round(float(out["velocity"][t, k]) * 127), 1, 127)),
                                   confidence=float(out["onset"][t, k]),
                                   instrument=INSTRUMENT_CLASSES[int(out["instrument"][t, k])],
                                   instrument_confidence=float(out["instrument_p"][t, k])))
    notes.sort(key=lambda n: (n.onset, n.pitch))
    hits = []
    for c, name in enumerate(DRUM_CLASSES):
        for t, tf in _peaks(out["drums"][:, c], drum_threshold):
            hits.append(DrumHit(time=max(0.0, tf / FPS), drum=name, confidence=float(out["drums"][t, c])))
    hits.sort(key=lambda h: (h.time, h.drum))
    return {"result": Transcription(notes=notes, drums=hits),
            "notes": [(n.pitch, n.onset, n.instrument) for n in notes],
            "drums": [(h.time, DRUM_CLASSES.index(h.drum)) for h in hits]}


def note_scores(ref, est, *, tolerance: float = 0.05) -> dict:
    """Pitched-note precision/recall/F1 (mir_eval, onset within ``tolerance``, offsets ignored).

    ref: rows (pitch, onset, ...); est: rows (pitch, onset, ...)."""
    import mir_eval

    ref = [(int(r[0]), float(r[1])) for r in ref]
    est = [(int(e[0]), float(e[1])) for e in est]
    if not ref or not est:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0 if ref or est else 1.0}

    def arr(rows):
        on = np.array([r[1] for r in rows])
        return np.stack([on, on + 0.1], axis=1), 440.0 * 2 ** ((np.array([r[0] for r in rows]) - 69) / 12)

    ri, rp = arr(ref)
    ei, ep = arr(est)
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=tolerance,
                                                                     offset_ratio=None)
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def drum_scores(ref, est, *, classes=(0, 1, 2), tolerance: float = 0.05) -> dict:
    """Drum-hit F1 over ``classes`` (default kick, snare, hi-hat), a hit matching only its own class.

    ref, est: rows (time s, class index, ...)."""
    import mir_eval

    tp = n_ref = n_est = 0
    for c in classes:
        r = np.array(sorted(float(x[0]) for x in ref if int(x[1]) == c))
        e = np.array(sorted(float(x[0]) for x in est if int(x[1]) == c))
        n_ref += len(r)
        n_est += len(e)
        if len(r) and len(e):
            tp += len(mir_eval.util.match_events(r, e, tolerance))
    p = tp / n_est if n_est else 0.0
    rc = tp / n_ref if n_ref else 0.0
    return {"precision": p, "recall": rc, "f1": 2 * p * rc / (p + rc) if p + rc else (1.0 if not n_ref and not n_est else 0.0)}


def instrument_note_scores(ref, est, *, tolerance: float = 0.05) -> dict:
    """Note F1 where a match also needs the same instrument: per instrument, then pooled."""
    tp = 0
    for inst in set(r[2] for r in ref) | set(e[2] for e in est):
        rr = [r for r in ref if r[2] == inst]
        ee = [e for e in est if e[2] == inst]
        if rr and ee:
            tp += note_scores(rr, ee, tolerance=tolerance)["recall"] * len(rr)
    p = tp / len(est) if est else 0.0
    r = tp / len(ref) if ref else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def evaluate_devset(model: NoteModel, devset: str | Path, *, log=None) -> dict:
    """Note F1, instrument-aware note F1, drum F1 (kick/snare/hi-hat) and speed on every dev piece."""
    import time

    from producer.audio import load_audio
    from producer.notes.devset import load_piece

    rows = []
    for path in sorted(Path(devset).glob("piece_*.json")):
        truth = load_piece(path)
        y, sr = load_audio(truth["audio_path"])
        t0, c0 = time.perf_counter(), time.process_time()
        res = model.transcribe(y, sr)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ref = [(n["pitch"], n["onset"], n["instrument"]) for n in truth["notes"]]
        est = [(n.pitch, n.onset, n.instrument) for n in res.notes]
        dref = [(d["time"], DRUM_CLASSES.index(d["class"])) for d in truth["drums"] if d["class"] in DRUM_CLASSES]
        dest = [(h.time, DRUM_CLASSES.index(h.drum)) for h in res.drums]
        row = {"piece": path.stem, "note": note_scores(ref, est), "inst": instrument_note_scores(ref, est),
               "drums": drum_scores(dref, dest) if any(d[1] < 3 for d in dref) else None,
               "duration": truth["duration"], "wall": wall, "cpu": cpu}
        rows.append(row)
        if log:
            d = row["drums"]["f1"] if row["drums"] else float("nan")
            log(f"{path.stem} noteF1 {row['note']['f1']:.3f} (P {row['note']['precision']:.3f} R {row['note']['recall']:.3f}) "
                f"instF1 {row['inst']['f1']:.3f} drumF1 {d:.3f} x{truth['duration'] / wall:.0f} real time")
    drums = [r["drums"]["f1"] for r in rows if r["drums"]]
    dur = sum(r["duration"] for r in rows)
    return {"pieces": len(rows), "note_f1": float(np.mean([r["note"]["f1"] for r in rows])),
            "note_precision": float(np.mean([r["note"]["precision"] for r in rows])),
            "note_recall": float(np.mean([r["note"]["recall"] for r in rows])),
            "inst_f1": float(np.mean([r["inst"]["f1"] for r in rows])),
            "drum_f1": float(np.mean(drums)) if drums else float("nan"), "drum_pieces": len(drums),
            "x_realtime_wall": dur / sum(r["wall"] for r in rows), "x_realtime_cpu": dur / sum(r["cpu"] for r in rows),
            "rows": rows}


def main(argv=None) -> None:
    import argparse

    import torch

    ap = argparse.ArgumentParser(prog="python -m producer.notes.transcribe", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default", help="registered name or .pt path")
    ap.add_argument("--eval", metavar="DEVSET", help="score the model on a dev set folder (producer.notes.devset)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("audio", nargs="?", help="an audio file to transcribe (prints its notes)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    if args.eval:
        s = evaluate_devset(model, args.eval, log=print)
        print(f"mean over {s['pieces']} pieces: note F1 {s['note_f1']:.3f} (P {s['note_precision']:.3f} "
              f"R {s['note_recall']:.3f}), instrument note F1 {s['inst_f1']:.3f}, drum F1 (kick/snare/hi-hat, "
              f"{s['drum_pieces']} pieces) {s['drum_f1']:.3f}; speed x{s['x_realtime_wall']:.0f} real time (wall, "
              f"{args.threads} threads), x{s['x_realtime_cpu']:.0f} per CPU second")
    if args.audio:
        from producer.audio import load_audio

        y, sr = load_audio(args.audio)
        res = model.transcribe(y, sr)
        for n in res.notes:
            print(f"{n.onset:8.3f} {n.offset:8.3f} pitch {n.pitch:3d} vel {n.velocity:3d} p {n.confidence:.2f} "
                  f"{n.instrument} ({n.instrument_confidence:.2f})")
        for h in res.drums:
            print(f"{h.time:8.3f} {h.drum} p {h.confidence:.2f}")


if __name__ == "__main__":
    main()
