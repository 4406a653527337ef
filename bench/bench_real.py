"""Benchmark of `producer recreate` on the dev set of real-sounding music (issue 17).

    .venv/bin/python -m producer.notes.devset --out outputs/devset --pieces 30 --seed 0   # once, ~2 min
    nice -n 10 .venv/bin/python bench/bench_real.py --only rhythm              # tempo/beats/meter, all pieces
    nice -n 10 .venv/bin/python bench/bench_real.py --only rhythm --without-drums   # the same, drums muted
    nice -n 10 .venv/bin/python bench/bench_real.py --pieces 3 --budget 60     # strategies side by side
    nice -n 10 .venv/bin/python bench/bench_real.py --only transcribers --basic-pitch /work/bp-venv/bin/python

basic-pitch (Spotify's transcriber) lives in its own venv outside the repo, since on Linux it pulls
tensorflow<2.15.1 and numpy<2; these worked (Python 3.11, basic-pitch 0.4.0, tensorflow 2.15.0.post1,
numpy 1.26.4, no extras needed; its models ship inside the package, so nothing is fetched at run time):

    python3 -m venv /work/bp-venv
    /work/bp-venv/bin/pip install --upgrade pip && /work/bp-venv/bin/pip install basic-pitch

``--basic-pitch PYTHON`` names that venv's python; it runs there in one subprocess (default settings,
its TensorFlow model, one thread) and writes its notes to a temporary JSON file that this side scores.
A python that cannot import basic-pitch is refused in one line (exit status 2) before any work.

Transcribers (``--only transcribers``, every piece): note precision, recall and F1 of the note model
(``--note-model``) and of basic-pitch, scored as ``producer.notes.transcribe.evaluate_devset`` scores
our model (mir_eval, onset within 50 ms, offsets ignored, drums excluded, instrument ignored), and
speed (x real time: piece seconds per wall second, and per CPU second; the models' load and a first
warm-up call are not timed; basic-pitch's time includes reading the file). On the 30-piece dev set
(seed 0), on the busy 2-core machine: note model "small" F1 0.409 (P 0.379, R 0.472), x70 real time;
basic-pitch 0.4.0 F1 0.646 (P 0.678, R 0.648), x27 (x49 per CPU second).

Rhythm (every piece; cheap): the tempo of ``producer.rhythm.analyze_rhythm`` against the truth
(relative error; within 4 % of the truth, its double or its half), mir_eval's beat F-measure
(70 ms), the meter (beats per bar) and the downbeat F-measure, beside the tempo the planner used
before (``planner.target.detect_onsets``: librosa's tempogram alone); and the project's bar lines
(``rhythm.with_bar_grid``: bar 1, tempo, any tempo map, drawn as the exports draw them) against the
true downbeats (each one's distance to the nearest bar line), beside bar 1 at 0 as before.

Strategies (the first ``--pieces`` pieces), each on the same analysed target and library:

- recreate: the MCTS planner with the default preset (``--budget`` s of search);
- prior+render: the note prior's notes (every note it backs at each kept onset, at its gain,
  held to the instrument's next note, at most 2 s), one track per instrument, no search;
- notes+render: the note model's transcription (``producer.notes.transcribe``, ``--note-model``,
  default its registered default; skipped while no weights load) rendered with the library: each
  note on its named instrument's nearest-rooted sample, gain from its velocity, each drum hit on
  the kit's sample of its class; no search;
- greedy: the onset-by-onset baseline, same budget;
- basic-pitch (with ``--basic-pitch PYTHON``, a separate venv with basic-pitch installed): its
  notes rendered with our piano.

Columns: note F1 (pitched notes; mir_eval, onset within 50 ms, offsets ignored, drums excluded);
instrument F1 (the same, a match also needs the track's instrument to be the truth note's
nearest instrument of our vocabulary); drum F1 (kick, snare, hi-hat hits, 50 ms, voice must agree);
tempo error of the project (%, * = within 4 % incl. double/half); beat F of the analysis; the
mix metrics of ``planner.metrics`` (MR-STFT and MFCC: lower is better); wall time (s); peak RSS of
the bench process so far (MiB; it only grows).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from producer.audio import load_audio  # noqa: E402
from producer.constants import GM_KEY_VOICE  # noqa: E402
from producer.notes.devset import DRUM_CLASSES, load_piece  # noqa: E402
from producer.planner import features as F  # noqa: E402
from producer.export.conductor import Conductor  # noqa: E402
from producer.project import Project  # noqa: E402
from producer.rhythm import analyze_rhythm, beat_f_measure, tempo_error, with_bar_grid  # noqa: E402

DRUM_EVAL = ("kick", "snare", "hihat")


def pieces_of(devset: Path) -> list[Path]:
    paths = sorted(devset.glob("piece_*.json"))
    if not paths:
        raise SystemExit(f"no pieces in {devset}: build them with "
                         f".venv/bin/python -m producer.notes.devset --out {devset} --pieces 30 --seed 0")
    return paths


def mono_target(truth: dict) -> np.ndarray:
    from producer.planner.target import to_planner_rate

    y, sr = load_audio(truth["audio_path"])
    return to_planner_rate(y, sr)


# --- rhythm ----------------------------------------------------------------------------------

def without_drums(truth: dict, synth) -> np.ndarray:
    """The piece's MIDI rendered again without its drum part (dry, no effects), mono 22,050 Hz."""
    import pretty_midi

    from producer.soundfont import Note

    midi = pretty_midi.PrettyMIDI(str(Path(truth["audio_path"]).parent / truth["midi"]))
    parts = [([Note(int(n.pitch), int(n.velocity), float(n.start), float(n.end)) for n in inst.notes],
              int(inst.program), False) for inst in midi.instruments if not inst.is_drum]
    y = synth.render_parts(parts, duration=truth["duration"]).mean(axis=0)
    return (y / max(float(np.max(np.abs(y))), 1e-9)).astype(np.float32)


def rhythm(args) -> None:
    from producer.planner.target import detect_onsets

    paths = pieces_of(Path(args.devset))
    synth = None
    if args.without_drums:
        from producer.notes.devset import find_soundfont
        from producer.soundfont import SoundFontSynth

        synth = SoundFontSynth(find_soundfont(), sr=F.SR)
    print(f"\n== rhythm on {len(paths)} pieces of {args.devset}"
          f"{' re-rendered without their drums (dry)' if synth else ''} ==")
    print(f"{'piece':>9} {'groove':>13} {'true':>6} {'meter':>5} | {'tempo':>7} {'err%':>6} {'ok':>3} "
          f"{'beatF':>6} {'meter':>5} {'downF':>6} | {'old':>7} {'ok':>3} | {'bar1':>6} {'map':>3} {'barms':>6} "
          f"{'at0ms':>6}")
    rows, bar_errors, bar_errors_at0, maps = [], [], [], 0
    for path in paths:
        truth = load_piece(path)
        y = without_drums(truth, synth) if synth else mono_target(truth)
        r = analyze_rhythm(y, F.SR)
        _, old = detect_onsets(y, F.SR)
        err, ok = tempo_error(r.tempo, truth["tempo"])
        _, old_ok = tempo_error(old, truth["tempo"])
        bf = beat_f_measure(np.array(truth["beats"]), r.beats)
        df = beat_f_measure(np.array(truth["downbeats"]), r.downbeats)
        meter_ok = r.beats_per_bar == truth["time_signature"][0]
        rows.append((err, ok, bf, meter_ok, df, old_ok, abs(old - truth["tempo"]) / truth["tempo"]))
        ts = truth["time_signature"]
        # The project's bar lines (as every export draws them) against the true downbeats: each
        # true downbeat's distance to the nearest bar line; beside bar 1 at 0, as before.
        at0 = Project(tempo=round(r.project_tempo, 2), time_signature=r.time_signature)
        project = with_bar_grid(at0, r.beats, r.downbeats)
        maps += bool(project.tempo_map)
        true_db = np.array(truth["downbeats"])
        for p, errors in ((project, bar_errors), (at0, bar_errors_at0)):
            lines = np.array(Conductor.of(p).bar_lines(truth["duration"] + 5.0))
            errors.extend(np.min(np.abs(lines[None, :] - true_db[:, None]), axis=1))
        piece_ms = 1000 * np.median(bar_errors[-len(true_db):])
        at0_ms = 1000 * np.median(bar_errors_at0[-len(true_db):])
        print(f"{path.stem:>9} {truth['groove']:>13} {truth['tempo']:6.1f} {ts[0]}/{ts[1]:<3} | {r.tempo:7.2f} "
              f"{100 * err:6.2f} {'yes' if ok else 'NO':>3} {bf:6.3f} "
              f"{r.time_signature[0]}/{r.time_signature[1]:<3} {df:6.3f} | {old:7.2f} {'yes' if old_ok else 'NO':>3} | "
              f"{project.downbeat:6.3f} {len(project.tempo_map):3d} {piece_ms:6.1f} {at0_ms:6.1f}",
              flush=True)
    a = np.array(rows, dtype=float)
    print(f"tempo within 4 % (incl. double/half): {a[:, 1].mean():.1%} of pieces (target >= 90 %); "
          f"exact octave within 4 %: {(a[:, 0] <= 0.04).mean():.1%}; median error {100 * np.median(a[:, 0]):.2f} %")
    print(f"beat F-measure: mean {a[:, 2].mean():.3f} (target >= 0.80), min {a[:, 2].min():.3f}")
    print(f"meter (beats per bar) right: {a[:, 3].mean():.1%}; downbeat F-measure mean {a[:, 4].mean():.3f}")
    print(f"before (detect_onsets' librosa tempo): within 4 % incl. double/half on {a[:, 5].mean():.1%}, "
          f"exact octave within 4 % on {(a[:, 6] <= 0.04).mean():.1%}")
    e, e0 = 1000 * np.array(bar_errors), 1000 * np.array(bar_errors_at0)
    print(f"bar lines of the project (bar 1 and tempo from rhythm.bar_grid) to the {len(e)} true downbeats: "
          f"median {np.median(e):.1f} ms, 90th percentile {np.percentile(e, 90):.1f} ms, within 70 ms "
          f"{(e <= 70).mean():.1%}; tempo maps on {maps} of {len(rows)} pieces")
    print(f"bar 1 at 0 at the analysis' tempo (before): median {np.median(e0):.1f} ms, 90th percentile "
          f"{np.percentile(e0, 90):.1f} ms, within 70 ms {(e0 <= 70).mean():.1%}")


# --- note metrics ----------------------------------------------------------------------------

def _hz(pitches) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitches, float) - 69) / 12)


def note_scores(truth: dict, est: list[tuple[str, int, float]]) -> dict:
    """est: [(instrument, MIDI pitch, onset s)] of pitched notes. Onset-only F1, and instrument-aware."""
    import mir_eval

    ref = [(n["instrument"], n["pitch"], n["onset"]) for n in truth["notes"]]

    def f1(r, e) -> tuple[float, int]:
        if not r or not e:
            return 0.0, 0
        ri = np.array([[t, t + 0.1] for _, _, t in r])
        ei = np.array([[t, t + 0.1] for _, _, t in e])
        m = mir_eval.transcription.match_notes(ri, _hz([p for _, p, _ in r]), ei, _hz([p for _, p, _ in e]),
                                               onset_tolerance=0.05, offset_ratio=None)
        return 2 * len(m) / (len(r) + len(e)), len(m)

    plain, _ = f1(ref, est)
    matched = 0
    for inst in {i for i, _, _ in ref} | {i for i, _, _ in est}:
        _, k = f1([x for x in ref if x[0] == inst], [x for x in est if x[0] == inst])
        matched += k
    inst_f1 = 2 * matched / (len(ref) + len(est)) if ref or est else 0.0
    return {"note_f1": plain, "inst_f1": inst_f1}


def drum_f1(truth: dict, hits: list[tuple[str, float]]) -> float:
    """hits: [(class, time s)]; kick, snare and hi-hat only, 50 ms, one-to-one per class."""
    import mir_eval

    ref = [(d["class"], d["time"]) for d in truth["drums"] if d["class"] in DRUM_EVAL]
    est = [(c, t) for c, t in hits if c in DRUM_EVAL]
    matched = 0
    for c in DRUM_EVAL:
        r = np.array(sorted(t for k, t in ref if k == c))
        e = np.array(sorted(t for k, t in est if k == c))
        if len(r) and len(e):
            matched += len(mir_eval.util.match_events(r, e, 0.05))
    return 2 * matched / (len(ref) + len(est)) if ref or est else 1.0


def project_notes(project) -> tuple[list, list]:
    pitched, drums = [], []
    for t in project.tracks:
        for c in t.clips:
            if t.instrument == "drums":
                drums.append((DRUM_CLASSES.get(GM_KEY_VOICE.get(int(c.pitch), ""), "other"), float(c.start)))
            else:
                pitched.append((t.instrument, int(c.pitch), float(c.start)))
    return pitched, drums


# --- strategies ------------------------------------------------------------------------------

def transcribe_and_render(problem):
    """The note prior's notes as a project, no search (see the module doc)."""
    from producer.planner.state import Catalogue  # noqa: F401  (the problem's catalogue type)
    from producer.project import Clip, Project, Track

    target, prior, cat = problem.target, problem.prior, problem.catalogue
    project = Project(tempo=round(float(target.tempo), 2), time_signature=target.time_signature)
    if prior is None:
        return project
    backed = prior.backed_all
    onsets = target.onsets
    by_inst: dict[str, list[Clip]] = {}
    for inst in dict.fromkeys(prior.instrument.tolist()):
        cols = np.flatnonzero(prior.instrument == inst)
        rows = np.flatnonzero(backed[:, cols].any(axis=1))
        for a, k in enumerate(rows):
            nxt = onsets[rows[a + 1]] if a + 1 < len(rows) else target.duration
            hold = float(np.clip(nxt - onsets[k], 0.05, 2.0))
            for j in cols[backed[k, cols]]:
                note = cat.notes[j]
                by_inst.setdefault(inst, []).append(Clip(sample=note.sample, start=round(float(onsets[k]), 4),
                                                         hold=round(hold, 4), pitch=int(note.pitch),
                                                         gain_db=float(prior.gain_db[k, j])))
    tracks = tuple(Track(name=inst.replace("_", " ").capitalize(), instrument=inst, clips=tuple(clips))
                   for inst, clips in by_inst.items())
    return Project(tempo=project.tempo, time_signature=project.time_signature, tracks=tracks)


BASIC_PITCH_SCRIPT = """
import json, sys, time
try:
    import basic_pitch
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import Model, predict
except ImportError as exc:
    sys.exit(f"NO_BASIC_PITCH {exc}")
try:  # one thread, as our note model is timed (and the other core stays free)
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except ImportError:
    pass
from importlib.metadata import version
t0 = time.perf_counter()
model = Model(ICASSP_2022_MODEL_PATH)
load = time.perf_counter() - t0
rows = []
for i, audio in enumerate(sys.argv[2:]):
    if i == 0:
        predict(audio, model)  # warm-up (graph tracing), not timed
    t0, c0 = time.perf_counter(), time.process_time()
    _, _, events = predict(audio, model)
    rows.append({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                 "notes": [[float(s), float(e), int(p)] for s, e, p, *_ in events]})
json.dump({"version": version("basic-pitch"), "model": str(ICASSP_2022_MODEL_PATH), "load_s": load,
           "rows": rows}, open(sys.argv[1], "w"))
"""


def fail(message: str) -> NoReturn:
    """Bad input: one line, exit status 2."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


def run_basic_pitch_python(python: str, args: list[str]) -> None:
    """Run ``python args`` (basic-pitch's venv); one line and exit 2 when it cannot run, lacks
    basic-pitch (the scripts exit 'NO_BASIC_PITCH ...') or fails."""
    try:
        proc = subprocess.run([python, *args], capture_output=True, text=True)
    except OSError as exc:
        fail(f"--basic-pitch {python}: cannot run it ({exc.strerror})")
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        last = err[-1] if err else f"exit status {proc.returncode}"
        if last.startswith("NO_BASIC_PITCH"):
            fail(f"--basic-pitch {python}: basic-pitch is not installed there ({last.removeprefix('NO_BASIC_PITCH ')}); "
                 f"make its venv as this bench's doc says")
        fail(f"--basic-pitch {python}: basic-pitch failed: {last}")


def check_basic_pitch(python: str) -> None:
    """Before any other work: can ``python`` import basic-pitch?"""
    probe = "import sys\ntry:\n import basic_pitch.inference\nexcept ImportError as e:\n sys.exit(f'NO_BASIC_PITCH {e}')"
    run_basic_pitch_python(python, ["-c", probe])


def basic_pitch_notes(python: str, audios: list[str]) -> dict:
    """basic-pitch (default settings) on each file, in one subprocess of ``python`` (its own venv):
    {"version", "model", "load_s", "rows": [{"wall", "cpu", "notes": [[onset, offset, pitch]]}]}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "notes.json"
        run_basic_pitch_python(python, ["-c", BASIC_PITCH_SCRIPT, str(out), *audios])
        return json.loads(out.read_text())


def basic_pitch_project(python: str, audio: str, lib, tempo: float):
    from producer.project import Clip, Project, Track

    events = basic_pitch_notes(python, [audio])["rows"][0]["notes"]
    piano = [s for s in lib.by_instrument("piano") if s.pitch is not None]
    clips = []
    for s, e, p in events:
        sample = min(piano, key=lambda x: (abs(x.pitch - p), x.pitch))
        clips.append(Clip(sample=sample.id, start=round(s, 4), hold=round(max(0.05, e - s), 4), pitch=int(p)))
    return Project(tempo=round(tempo, 2), tracks=(Track(name="Piano", instrument="piano", clips=tuple(clips)),))


DRUM_SAMPLE = {"kick": "kick", "snare": "snare", "hihat": "hihat_closed", "tom": "tom_mid", "cymbal": "crash"}


def notes_project(transcription, lib, *, tempo: float, time_signature):
    """A transcription (``producer.notes.transcribe.Transcription``) as a project of library clips."""
    from producer.export.midi import gain_for_velocity
    from producer.project import Clip, Project, Track

    rooted = {inst: [s for s in lib.by_instrument(inst) if s.pitch is not None] for inst in lib.instruments}
    drums = {s.id.split("/")[-1]: s for s in lib.by_instrument("drums")}
    by_inst: dict[str, list] = {}
    for n in transcription.notes:
        inst = n.instrument if rooted.get(n.instrument) and n.instrument != "drums" else "piano"
        sample = min(rooted[inst], key=lambda s: (abs(s.pitch - n.pitch), s.pitch))
        by_inst.setdefault(inst, []).append(Clip(sample=sample.id, start=round(n.onset, 4),
                                                 hold=round(max(0.05, n.offset - n.onset), 4), pitch=int(n.pitch),
                                                 gain_db=round(gain_for_velocity(n.velocity), 2)))
    for h in transcription.drums:
        s = drums.get(DRUM_SAMPLE.get(h.drum, ""))
        if s is not None:
            by_inst.setdefault("drums", []).append(Clip(sample=s.id, start=round(h.time, 4), hold=0.2, pitch=int(s.pitch)))
    tracks = tuple(Track(name=i.replace("_", " ").capitalize(), instrument=i, clips=tuple(c)) for i, c in by_inst.items())
    return Project(tempo=round(float(tempo), 2), time_signature=tuple(time_signature), tracks=tracks)


def compare(args) -> None:
    from producer.config import load_preset
    from producer.planner.baselines import run_strategy
    from producer.planner.metrics import all_metrics
    from producer.planner.problem import build_problem
    from producer.planner.recreate import single_thread, usable_library
    from producer.render.engine import Renderer
    from producer.samples import Library
    from producer.timbre import load_model

    paths = pieces_of(Path(args.devset))[: args.pieces]
    cfg = load_preset("default")
    if args.budget:
        cfg = cfg.with_overrides(seconds=args.budget)
    lib = usable_library(Library.default())
    model = load_model("default")
    renderer = Renderer(lib)
    note_model = None
    try:
        from producer.notes.transcribe import load_model as load_note_model

        note_model = load_note_model(args.note_model)
    except Exception as exc:  # no weights shipped yet, or a bad path: the row is left out, said why
        print(f"notes+render left out: {exc}")
    names = (["recreate", "prior+render"] + (["notes+render"] if note_model else []) + ["greedy"]
             + (["basic-pitch"] if args.basic_pitch else []))
    print(f"\n== strategies on {len(paths)} pieces, preset {cfg.name}, search budget {cfg.budget.seconds:g} s / "
          f"{cfg.budget.evaluations} evaluations ==")
    head = (f"{'piece':>9} {'strategy':>17} {'noteF1':>6} {'instF1':>6} {'drumF1':>6} {'tempo%':>7} {'beatF':>5} "
            f"{'mrstft':>6} {'mfcc':>6} {'chroma':>6} {'onsetF':>6} {'notes':>9} {'wall':>6} {'MiB':>6}")
    print(head)
    table: dict[str, list[dict]] = {n: [] for n in names}
    for path in paths:
        truth = load_piece(path)
        y = mono_target(truth)
        t0 = time.perf_counter()
        with single_thread():
            base = build_problem(y, lib, model, cfg, renderer=renderer)
        setup = time.perf_counter() - t0
        beat_f = beat_f_measure(np.array(truth["beats"]), base.target.beats)
        for name in names:
            t0 = time.perf_counter()
            with single_thread():
                if name == "recreate":
                    project = run_strategy("mcts", base, seed=args.seed).project
                elif name == "greedy":
                    problem = build_problem(y, lib, model, cfg, renderer=renderer, target=base.target,
                                            catalogue=base.catalogue)
                    project = run_strategy("greedy", problem, seed=args.seed).project
                elif name == "prior+render":
                    project = transcribe_and_render(base)
                elif name == "notes+render":
                    audio, sr = load_audio(truth["audio_path"])
                    project = notes_project(note_model.transcribe(audio, sr), lib, tempo=base.target.tempo,
                                            time_signature=base.target.time_signature)
                else:
                    project = basic_pitch_project(args.basic_pitch, truth["audio_path"], lib, base.target.tempo)
            wall = time.perf_counter() - t0 + (setup if name not in ("basic-pitch", "notes+render") else 0.0)
            if project.tracks:
                from producer.planner.target import to_planner_rate

                out = to_planner_rate(renderer.render(project).mix, project.sample_rate)
            else:
                out = np.zeros_like(y)
            m = all_metrics(y, out, F.SR)
            pitched, hits = project_notes(project)
            s = note_scores(truth, pitched)
            err, ok = tempo_error(project.tempo, truth["tempo"])
            row = {**s, "drum_f1": drum_f1(truth, hits), "tempo_err": err, "tempo_ok": ok,
                   "beat_f": beat_f, **m, "wall": wall,
                   "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
            table[name].append(row)
            print(f"{path.stem:>9} {name:>17} {row['note_f1']:6.3f} {row['inst_f1']:6.3f} {row['drum_f1']:6.3f} "
                  f"{100 * err:6.1f}{'*' if ok else ' '} {row['beat_f']:5.2f} {m['mrstft']:6.3f} {m['mfcc']:6.2f} "
                  f"{m['chroma']:6.3f} {m['onset_f']:6.3f} {len(pitched) + len(hits):>4}/{len(truth['notes']) + len(truth['drums']):<4} "
                  f"{wall:6.1f} {row['mib']:6.0f}", flush=True)
    print("\nmeans over pieces (mrstft, mfcc: lower is better):")
    print(f"{'strategy':>17} {'noteF1':>6} {'instF1':>6} {'drumF1':>6} {'tempo ok':>8} {'beatF':>5} {'mrstft':>6} "
          f"{'mfcc':>6} {'chroma':>6} {'onsetF':>6} {'wall':>6}")
    for name, rows in table.items():
        mean = {k: float(np.nanmean([r[k] for r in rows])) if rows else float("nan") for k in rows[0]}
        print(f"{name:>17} {mean['note_f1']:6.3f} {mean['inst_f1']:6.3f} {mean['drum_f1']:6.3f} "
              f"{mean['tempo_ok']:8.0%} {mean['beat_f']:5.2f} {mean['mrstft']:6.3f} {mean['mfcc']:6.2f} "
              f"{mean['chroma']:6.3f} {mean['onset_f']:6.3f} {mean['wall']:6.1f}")
    print(f"peak RSS of the bench process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


# --- transcribers ---------------------------------------------------------------------------

def transcribers(args) -> None:
    """Our note model beside basic-pitch (with ``--basic-pitch``) on every dev piece: note
    precision, recall, F1 (instrument-free, as ``producer.notes.transcribe.evaluate_devset``) and speed."""
    from producer.errors import ModelError
    from producer.notes.transcribe import evaluate_devset, load_model as load_note_model
    from producer.notes.transcribe import note_scores as pitch_onset_scores
    from producer.planner.recreate import single_thread

    paths = pieces_of(Path(args.devset))
    try:
        model = load_note_model(args.note_model)
    except ModelError as exc:
        fail(f"--note-model {args.note_model}: {exc}")
    with single_thread():
        model.transcribe(np.zeros(22050, np.float32), 22050)  # warm-up, not timed (basic-pitch gets one too)
        ours = evaluate_devset(model, args.devset)["rows"]
    truths = [load_piece(p) for p in paths]
    bp, bp_rows = None, [None] * len(paths)
    if args.basic_pitch:
        bp = basic_pitch_notes(args.basic_pitch, [t["audio_path"] for t in truths])
        bp_rows = [{"note": pitch_onset_scores([(n["pitch"], n["onset"]) for n in t["notes"]],
                                               [(p, on) for on, _, p in r["notes"]]), "wall": r["wall"], "cpu": r["cpu"],
                    "n": len(r["notes"])} for t, r in zip(truths, bp["rows"])]
    print(f"\n== transcribers on {len(paths)} pieces of {args.devset}: note P/R/F1 (mir_eval, onset 50 ms, offsets "
          f"ignored, drums excluded, instrument ignored); x = real time / wall, one thread ==")
    print(f"our note model: {args.note_model!r}" + (f"; basic-pitch {bp['version']} ({Path(bp['model']).name}, "
                                                    f"model load {bp['load_s']:.1f} s, not timed)" if bp else ""))
    head = f"{'piece':>9} {'dur s':>5} {'notes':>5} | {'ours P':>6} {'R':>5} {'F1':>5} {'x':>5}"
    print(head + (f" | {'bp P':>6} {'R':>5} {'F1':>5} {'x':>5} {'notes':>5}" if bp else ""))
    for t, path, o, b in zip(truths, paths, ours, bp_rows):
        line = (f"{path.stem:>9} {t['duration']:5.1f} {len(t['notes']):5d} | {o['note']['precision']:6.3f} "
                f"{o['note']['recall']:5.3f} {o['note']['f1']:5.3f} {t['duration'] / o['wall']:5.0f}")
        if b:
            line += (f" | {b['note']['precision']:6.3f} {b['note']['recall']:5.3f} {b['note']['f1']:5.3f} "
                     f"{t['duration'] / b['wall']:5.0f} {b['n']:5d}")
        print(line)
    dur = sum(t["duration"] for t in truths)
    for name, rows in (("ours", ours), ("basic-pitch", bp_rows if bp else [])):
        if rows:
            m = {k: float(np.mean([r["note"][k] for r in rows])) for k in ("precision", "recall", "f1")}
            print(f"mean {name:>11}: note F1 {m['f1']:.3f} (P {m['precision']:.3f} R {m['recall']:.3f}); "
                  f"x{dur / sum(r['wall'] for r in rows):.0f} real time (wall), "
                  f"x{dur / sum(r['cpu'] for r in rows):.0f} per CPU second")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", default="outputs/devset")
    ap.add_argument("--only", choices=["rhythm", "compare", "transcribers"])
    ap.add_argument("--pieces", type=int, default=3, help="pieces for the strategy comparison")
    ap.add_argument("--budget", type=float, help="search seconds per strategy (default: the preset's)")
    ap.add_argument("--basic-pitch", metavar="PYTHON", help="python of a venv with basic-pitch installed")
    ap.add_argument("--note-model", default="default", help="note model for notes+render (name or .pt)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--without-drums", action="store_true",
                    help="rhythm section: the pieces re-rendered without their drum part (harder)")
    args = ap.parse_args()
    if args.basic_pitch:
        check_basic_pitch(args.basic_pitch)
    if args.only in (None, "rhythm"):
        rhythm(args)
    if args.only in (None, "compare"):
        compare(args)
    if args.only == "transcribers":
        transcribers(args)


if __name__ == "__main__":
    main()
