"""Bench of `producer match` (run: nice -n 10 .venv/bin/python bench/bench_match.py).

(a) Static, synthetic set: ``--clips`` clips of ``--seconds`` s of varied material, cycled
    through four kinds -- a library phrase (piano / guitar / voice / cello notes), white or pink
    noise, an excerpt of examples/target.wav, a library drum loop -- each processed by a hidden
    random chain (2-4 stages of the matcher's template, knobs uniform in unit space, track gain
    -6..+6 dB). Side by side at equal renders (``--renders``): the unprocessed clip, random
    search, and the optimiser (20 % uniform samples, then CMA-ES). Reported per method: MR-STFT to
    the processed clip (features.SpectralTarget), loudness error (LU, BS.1770), normalised
    parameter error (mean |found - hidden| in unit space over the hidden stages' knobs), seconds.
(c) Why this distance (``--part landscape``): a two-tone source (220 + 2640 Hz) through a hidden
    900 Hz low-pass, scored at candidate cutoffs by the MR-STFT distance at matched loudness, with
    the log floor used here (-100 dB re the reference) and with auraloss' absolute 1e-7.
(b) Follow cases: white noise -> a drum loop rendered from the library, a sawtooth-rich tone ->
    a piano phrase with rests. Reported: loudness-envelope correlation (50 ms K-weighted level
    every 10 ms) of a static search's result and of follow mode's, MR-STFT of both (each search
    with ``--renders``), the reduction, the breakpoints written and follow mode's seconds.

Everything is rendered here from the shipped sample pack and examples/target.wav; the same seed
gives the same figures (wall times aside).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from producer.audio import load_audio  # noqa: E402
from producer.match import choose_stages, match_track, measure  # noqa: E402
from producer.match.features import SpectralTarget, envelope_correlation, integrated_loudness, loudness_curve  # noqa: E402
from producer.match.search import Scorer, search_static  # noqa: E402
from producer.match.space import STAGES, ChainSpace  # noqa: E402
from producer.project import Clip, Project, Track  # noqa: E402
from producer.render.engine import Renderer  # noqa: E402
from producer.samples import Library  # noqa: E402

SR = 44100
KINDS = ("phrase", "noise", "example", "drums")


def drum_loop(seconds: float, bpm: float = 120.0, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    step = 60.0 / bpm / 4
    clips = []
    for i in range(int(seconds / step)):
        t = i * step
        if i % 8 == 0 or (i % 16 == 10 and rng.random() < 0.7):
            clips.append(Clip("drums/kick", t, 0.1, 36))
        if i % 8 == 4:
            clips.append(Clip("drums/snare", t, 0.1, 38))
        if i % 2 == 0:
            clips.append(Clip("drums/hihat_closed", t, 0.05, 42))
    return Track("Drums", "drums", clips=tuple(clips))


def phrase(seconds: float, instrument: str, seed: int, rests: bool = False) -> Track:
    lib = Library.default()
    rng = np.random.default_rng(seed)
    pitches = sorted({s.pitch for s in lib.by_instrument(instrument) if s.pitch is not None})
    clips, t = [], 0.0
    while t < seconds - 0.3:
        hold = float(rng.choice([0.25, 0.5, 0.75]))
        p = int(rng.choice(pitches[len(pitches) // 4: 3 * len(pitches) // 4]))
        clips.append(Clip(lib.nearest(instrument, p).id, round(t, 3), hold, p))
        t += hold + (float(rng.choice([0.0, 0.25, 0.5])) if rests else 0.0)
    return Track(instrument.capitalize(), instrument, clips=tuple(clips))


def material(kind: str, k: int, seconds: float, renderer: Renderer, rng) -> np.ndarray:
    n = int(seconds * SR)
    if kind == "phrase":
        inst = ("piano", "acoustic_guitar", "voice", "cello")[k % 4]
        y = renderer.render(Project(tracks=(phrase(seconds, inst, seed=k),))).mix[0]
    elif kind == "noise":
        white = rng.standard_normal(n)
        if k % 2:  # pink: 1/f power by filtering white noise in the frequency domain
            spec = np.fft.rfft(white)
            f = np.fft.rfftfreq(n, 1 / SR)
            white = np.fft.irfft(spec / np.sqrt(np.maximum(f, 20.0)), n)
        y = white / np.max(np.abs(white)) * 0.3
    elif kind == "example":
        x, _ = load_audio(ROOT / "examples" / "target.wav", sr=SR, mono=True)
        start = int(rng.integers(0, max(1, len(x) - n)))
        y = x[start: start + n]
    else:
        y = renderer.render(Project(tracks=(drum_loop(seconds, seed=k),))).mix[0]
    y = np.pad(np.asarray(y, dtype=np.float32)[:n], (0, max(0, n - len(y))))
    return (y / max(float(np.max(np.abs(y))), 1e-9) * 0.5).astype(np.float32)


def hidden_chain(space: ChainSpace, rng) -> tuple[np.ndarray, list[int]]:
    """A random chain: 2-4 stages on, knobs uniform; the others at neutral."""
    x = space.neutral_vector()
    on = sorted(rng.choice(len(space.stages), size=int(rng.integers(2, 5)), replace=False).tolist())
    i, active = 0, []
    for si, s in enumerate(space.stages):
        if si in on:
            x[i: i + len(s.knobs)] = rng.random(len(s.knobs))
            active += list(range(i, i + len(s.knobs)))
        i += len(s.knobs)
    return x, active


def static_set(args) -> None:
    lib = Library.default()
    space = ChainSpace(STAGES)
    rows = {m: [] for m in ("unprocessed", "random", "cma")}
    with tempfile.TemporaryDirectory() as tmp:
        renderer = Renderer(lib, base_dir=tmp)
        rng = np.random.default_rng(args.seed)
        print(f"(a) static: {args.clips} clips x {args.seconds:g} s, {args.renders} renders each, seed {args.seed}")
        print(f"{'clip':<14}{'hidden stages':<40}{'unproc':>8}{'random':>8}{'cma':>8}{'perr r':>8}{'perr c':>8}{'s cma':>7}")
        for c in range(args.clips):
            kind = KINDS[c % len(KINDS)]
            dry = material(kind, c, args.seconds, renderer, rng)
            sf.write(Path(tmp) / f"clip{c}.wav", dry, SR, subtype="FLOAT")
            track = Track("Source", "voice", clips=(Clip(f"clip{c}.wav", 0.0, args.seconds, 60),))
            x_true, active = hidden_chain(space, rng)
            gain = float(rng.uniform(-6, 6))
            hidden = Track("Source", "voice", gain_db=gain, clips=track.clips, effects=space.effects(x_true))
            ref = renderer.stem(hidden, SR)[:, : int(args.seconds * SR)]
            dry_buf = renderer.dry_track(track, SR)
            target = SpectralTarget(ref)
            ref_lufs = integrated_loudness(ref, SR)
            unproc = measure(np.stack([dry_buf, dry_buf]) * np.float32(0.7071), target, SR, ref_lufs)
            rows["unprocessed"].append((unproc["mr_stft"], unproc["loudness_error_lu"], np.nan, 0.0))
            found = {}
            for method in ("random", "cma"):
                scorer = Scorer(dry_buf, ref, SR, space)
                t0 = time.monotonic()
                res = search_static(scorer, renders=args.renders, seed=args.seed + c, method=method)
                secs = time.monotonic() - t0
                y, g = scorer.stem(res.vector)
                fig = measure(y, target, SR, ref_lufs)
                perr = float(np.mean(np.abs(res.vector[active] - x_true[active])))
                rows[method].append((fig["mr_stft"], fig["loudness_error_lu"], perr, secs))
                found[method] = (fig["mr_stft"], perr, secs)
            names = ",".join(s.kind for si, s in enumerate(space.stages)
                             if any(k in active for k in range(sum(len(t.knobs) for t in space.stages[:si]),
                                                             sum(len(t.knobs) for t in space.stages[:si + 1]))))
            print(f"{kind + str(c):<14}{names:<40}{unproc['mr_stft']:>8.3f}{found['random'][0]:>8.3f}"
                  f"{found['cma'][0]:>8.3f}{found['random'][1]:>8.3f}{found['cma'][1]:>8.3f}{found['cma'][2]:>7.1f}",
                  flush=True)
    print(f"\n{'method':<14}{'MR-STFT mean':>14}{'median':>9}{'LU err':>9}{'param err':>11}{'s/clip':>9}")
    for m, r in rows.items():
        a = np.array(r, dtype=float)
        perr = "" if np.all(np.isnan(a[:, 2])) else f"{np.nanmean(a[:, 2]):.3f}"
        print(f"{m:<14}{a[:, 0].mean():>14.3f}{np.median(a[:, 0]):>9.3f}{a[:, 1].mean():>9.2f}{perr:>11}{a[:, 3].mean():>9.1f}")
    wins = sum(c[0] < r[0] for c, r in zip(rows["cma"], rows["random"]))
    print(f"cma below random on {wins}/{len(rows['cma'])} clips")


def follow_cases(args) -> None:
    lib = Library.default()
    seconds = args.seconds
    n = int(seconds * SR)
    with tempfile.TemporaryDirectory() as tmp:
        renderer = Renderer(lib, base_dir=tmp)
        rng = np.random.default_rng(args.seed)
        t = np.arange(n) / SR
        saw = sum(np.sin(2 * np.pi * 196 * k * t) / k for k in range(1, 30))
        cases = {
            "noise -> drum loop": (rng.standard_normal(n) * 0.2, Project(tracks=(drum_loop(seconds, seed=1),))),
            "tone -> piano phrase": (saw / np.max(np.abs(saw)) * 0.4,
                                     Project(tracks=(phrase(seconds, "piano", seed=3, rests=True),))),
        }
        print(f"\n(b) follow: {seconds:g} s cases, {args.renders} renders for the static chain")
        print(f"{'case':<24}{'corr static':>12}{'corr follow':>12}{'MR static':>11}{'MR follow':>11}{'reduction':>11}"
              f"{'points':>8}{'s':>7}")
        for name, (source, project) in cases.items():
            sf.write(Path(tmp) / "src.wav", source.astype(np.float32), SR, subtype="FLOAT")
            ref = renderer.render(project).mix[:, :n]
            track = Track("Source", "voice", clips=(Clip("src.wav", 0.0, seconds, 60),))
            static = match_track(track, ref, SR, renderer=renderer, mode="static", renders=args.renders, seed=args.seed)
            t0 = time.monotonic()
            res = match_track(track, ref, SR, renderer=renderer, mode="follow", renders=args.renders, seed=args.seed)
            secs = time.monotonic() - t0
            l_ref = loudness_curve(ref, SR)
            corr_static = static.figures["loudness_envelope_correlation"]
            f = res.figures
            f["static"] = static.figures["final"]  # the best static chain: a static search of its own
            points = sum(len(env) for _, env in res.track.automation) + sum(
                len(env) for e in res.track.effects for _, env in e.automation)
            red = 1.0 - f["final"]["mr_stft"] / f["static"]["mr_stft"]
            print(f"{name:<24}{corr_static:>12.3f}{f['loudness_envelope_correlation']:>12.3f}{f['static']['mr_stft']:>11.3f}"
                  f"{f['final']['mr_stft']:>11.3f}{100 * red:>10.1f}%{points:>8}{secs:>7.1f}", flush=True)


def landscape(args) -> None:
    import producer.match.features as F

    with tempfile.TemporaryDirectory() as tmp:
        t = np.arange(SR) / SR
        source = (0.2 * (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 2640 * t))).astype(np.float32)
        sf.write(Path(tmp) / "src.wav", source, SR, subtype="FLOAT")
        renderer = Renderer(Library.default(), base_dir=tmp)
        track = Track("Source", "voice", clips=(Clip("src.wav", 0.0, 1.0, 60),))
        from producer.project import Effect

        hidden = Track("Source", "voice", gain_db=-6.0, clips=track.clips, effects=(Effect.make("lowpass", cutoff_hz=900.0),))
        ref = renderer.stem(hidden, SR)[:, :SR]
        space = ChainSpace(choose_stages("lowpass"))
        knob = space.stages[0].knobs[0]
        print("\n(c) distance landscape: hidden low-pass at 900 Hz, two-tone source")
        print(f"{'cutoff Hz':>10}{'MR-STFT (floor -100 dB)':>26}{'MR-STFT (abs 1e-7)':>21}")
        rel = Scorer(renderer.dry_track(track, SR), ref, SR, space)
        for cutoff in (600, 800, 900, 1000, 1500, 3000, 20000):
            x = np.array([knob.unit(cutoff)])
            y, _ = rel.stem(x)
            d_rel = rel.target.distance(y)
            # the absolute floor: a floor of 1e-7 whatever the reference's level
            target = F.SpectralTarget(ref)
            target.floors = {k: np.float32(1e-7) for k in target.floors}
            target.logs = {k: np.log(m + target.floors[k]) for k, m in target.mags.items()}
            print(f"{cutoff:>10}{d_rel:>26.4f}{target.distance(y):>21.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--renders", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=("all", "static", "follow", "landscape"), default="all")
    args = ap.parse_args()
    if args.part in ("all", "static"):
        static_set(args)
    if args.part in ("all", "follow"):
        follow_cases(args)
    if args.part in ("all", "landscape"):
        landscape(args)


if __name__ == "__main__":
    main()
