"""producer's use cases, one function per command, with explicit keyword arguments.

Each one checks everything the user gave it (input files, settings, the output folder) before any
work, then computes with the rooms below (planner, export, render, timbre, ...) and writes through
one staged output folder, so bad input costs nothing and writes nothing. The CLI only parses,
calls these and prints; everything it does is callable from Python.

``samples`` means the same everywhere: a folder of the user's own one-shots, used beside the
shipped pack (``producer.samples.open_library``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class RenderSummary:
    out: Path
    duration: float  # seconds
    peak_dbfs: float
    tracks: int
    clips: int
    files: list[str]


@dataclass(frozen=True)
class RecreateSummary:
    out: Path
    reward: float
    evaluations: int
    seconds: float
    tracks: int
    clips: int
    interrupted: bool
    tempo: float  # BPM written into the project
    analysed_seconds: float = 0.0  # the start of the input that was analysed and recreated (s)
    input_seconds: float = 0.0  # the whole input (s): longer than the above when the budget was small


def _open_project(project_path, out, *, force: bool, samples, inputs=()):
    """Every check before writing a project's files: the project loads and validates, ``out`` may
    be written (and holds neither the project nor its samples), every clip's sample resolves to
    audio that is there. Returns ``(project, renderer)``; the renderer resolves paths against the
    project's folder."""
    from producer.output import check_output_dir
    from producer.project import load_project
    from producer.render.engine import Renderer
    from producer.samples import open_library

    project_path = Path(project_path)
    project = load_project(project_path)
    renderer = Renderer(open_library(samples), base_dir=project_path.parent)
    renderer.check_samples(project)
    used = {renderer.sample_for(c).path for t in project.tracks for c in t.clips}
    check_output_dir(out, force=force, inputs=(project_path, *inputs, *sorted(used)))
    return project, renderer


def render(project_path: str | os.PathLike, out: str | os.PathLike, *, force: bool = False,
           samples: str | os.PathLike | None = None) -> RenderSummary:
    """``producer render``: a project file to mix, stems, MIDI and sessions in ``out``."""
    from producer.audio import peak_dbfs
    from producer.export.bundle import write_bundle
    from producer.output import staged_output

    project, renderer = _open_project(project_path, out, force=force, samples=samples)
    with staged_output(out, force=force) as stage:
        result = write_bundle(project, renderer, stage)
        files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    return RenderSummary(out=stage.final, duration=result.duration, peak_dbfs=peak_dbfs(result.mix),
                         tracks=len(project.tracks), clips=sum(len(t.clips) for t in project.tracks),
                         files=files)


@dataclass(frozen=True)
class ExportSummary:
    out: Path
    formats: tuple[str, ...]
    written: dict[str, list[Path]]  # format (and "clips") -> paths under ``out``


def export(project_path: str | os.PathLike, out: str | os.PathLike, *, formats: str = "all",
           force: bool = False, samples: str | os.PathLike | None = None,
           name: str = "session") -> ExportSummary:
    """``producer export``: the chosen formats (``"ardour,rpp"`` or ``"all"``) of a project into
    ``out``."""
    from producer.errors import InputError
    from producer.export.sessions import parse_formats, write_sessions
    from producer.output import staged_output

    chosen = parse_formats(formats)  # an unknown name fails before anything is read
    if not name or any(c in name for c in '/\\:*?"<>|') or name.startswith(".") or len(name) > 100:
        raise InputError(f"--name {name!r}: use letters, digits, spaces, '-' or '_' (at most 100)")
    project, renderer = _open_project(project_path, out, force=force, samples=samples)
    with staged_output(out, force=force) as stage:
        written = write_sessions(project, renderer, stage, chosen, name=name)
    return ExportSummary(out=stage.final, formats=chosen,
                         written={k: [stage.final / p.relative_to(stage) for p in v] for k, v in written.items()})


def _check_recreate_options(*, seed: int, workers: int, tempo: float | None, quantize: str | None) -> None:
    """recreate's own options, checked before anything is read."""
    from producer.errors import InputError
    from producer.output import check_seed
    from producer.rhythm import check_tempo, parse_grid

    check_seed(seed)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise InputError(f"--workers {workers!r}: an integer 1..64")
    if tempo is not None:
        check_tempo(tempo)
    if quantize is not None:
        parse_grid(quantize)


def recreate(
    input_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    preset: str = "default",
    budget_seconds: float | None = None,
    evaluations: int | None = None,
    tracks: int | None = None,
    samples: str | os.PathLike | None = None,
    seed: int = 0,
    max_duration: float | None = None,
    force: bool = False,
    model_name: str = "default",
    tempo: float | None = None,
    quantize: str | None = None,
    progress: Callable[[float, int, float], None] | None = None,
    workers: int = 1,
) -> RecreateSummary:
    """``producer recreate``: rebuild the sound in ``input_path`` as a multitrack project in ``out``.
    Ctrl-C stops the search and the best project so far is written. Same input, settings, library
    and seed, same files (when the evaluation budget ends the search). ``tempo`` (BPM) overrides
    the estimate; ``quantize`` (``"1/16"``, ...) snaps the notes to the beat grid; ``workers`` > 1
    scores the candidates on that many processes of a local Ray instance."""
    import contextlib
    import time

    from producer.config import load_preset
    from producer.export.bundle import write_recreation
    from producer.output import check_output_dir, staged_output
    from producer.planner.recreate import plan_project, usable_library
    from producer.planner.target import MAX_DURATION, load_target
    from producer.render.engine import Renderer
    from producer.samples import open_library
    from producer.timbre import load_model
    started = time.monotonic()
    _check_recreate_options(seed=seed, workers=workers, tempo=tempo, quantize=quantize)
    cfg = load_preset(preset).with_overrides(seconds=budget_seconds, tracks=tracks, evaluations=evaluations)
    check_output_dir(out, force=force, inputs=(input_path,))
    y, sr = load_target(input_path, max_duration=MAX_DURATION if max_duration is None else max_duration,
                        window_seconds=cfg.analysis.window_seconds)
    library = usable_library(open_library(samples))
    model = load_model(model_name)
    renderer = Renderer(library)
    # The wall-clock budget covers the whole run, reading and analysing the input included.
    with contextlib.ExitStack() as stack:
        if workers > 1:
            from producer.batch import RayCluster

            stack.enter_context(RayCluster(workers=workers))
        found = plan_project(y, sr, library=library, model=model, renderer=renderer, config=cfg, seed=seed,
                             started=started, tempo=tempo, quantize=quantize, progress=progress, workers=workers)
    result, target, project = found.result, found.target, found.project

    with staged_output(out, force=force) as stage:
        write_recreation(stage, project=project, renderer=renderer, result=result, target=target, audio=y,
                         sr=sr, settings={"input": str(Path(input_path).name), "preset": cfg.name, "seed": seed})
    return RecreateSummary(out=stage.final, reward=result.reward, evaluations=result.evaluations,
                           seconds=result.seconds, tracks=len(project.tracks), tempo=float(project.tempo),
                           clips=sum(len(t.clips) for t in project.tracks), interrupted=result.interrupted,
                           analysed_seconds=target.duration, input_seconds=target.input_duration or target.duration)


def samples_build(out: str | os.PathLike | None = None, *, soundfont: str | None = None,
                  instruments: list[str] | None = None, every: int | None = None, force: bool = False,
                  progress: Callable | None = None) -> tuple[Path, dict]:
    """``producer samples build``: render the default pack (or ``out``) from a GM soundfont.
    Returns (folder, manifest written)."""
    from producer import sample_build
    from producer.samples import default_library_dir

    folder = Path(out) if out else default_library_dir()
    manifest = sample_build.build(folder, soundfont=soundfont or sample_build.DEFAULT_SOUNDFONT,
                                  instruments=instruments, every=every or sample_build.DEFAULT_EVERY,
                                  force=force, progress=progress)
    return folder, manifest


def samples_library(folder: str | os.PathLike | None = None):
    """``producer samples list / scan``: the shipped pack, or a user folder scanned (and cached)."""
    from producer.samples import Library

    return Library.from_folder(folder) if folder else Library.default()


def embed(path: str | os.PathLike, *, model_name: str = "default", window: float = 3.0, hop: float = 1.0,
          max_duration: float = 600.0) -> dict:
    """``producer embed``: per-window instrument probabilities and the file's timbre embedding."""
    from producer.timbre.embed import embed_file

    return embed_file(path, model_name=model_name, window=window, hop=hop, max_duration=max_duration)


def drums(*, kick: str, out: str | os.PathLike | None = None, force: bool = False, meter: str = "4/4",
          style: str | None = None, bars: int | None = None, bpm: float | None = None, swing: float = 0.0,
          humanize: float = 0.0, seed: int = 0, voices: str | None = None,
          policy_path: str | os.PathLike | None = None, audio: bool = True):
    """``producer drums``: answer ``kick`` (pattern text, a .mid file or audio) with a drum part;
    writes drums.mid, drums.wav and pattern.json. Returns (part, folder written, files)."""
    from producer.drums.generate import make_drums
    from producer.errors import InputError

    if not kick:
        raise InputError("--kick is required (pattern text such as 'x...x...x...x...', a .mid file or an audio file)")
    return make_drums(kick=kick, out=out, force=force, meter=meter, style=style, bars=bars, bpm=bpm, swing=swing,
                      humanize=humanize, seed=seed, voices=voices, policy_path=policy_path, audio=audio)


def drums_train(*, meter: str = "4/4", timesteps: int | None = None, seed: int = 0,
                out: str | os.PathLike | None = None):
    """``producer drums train``: the meter's policy with its shipped settings; returns (policy, zip path)."""
    from producer.drums.train import train_policy

    return train_policy(meter=meter, timesteps=timesteps, seed=seed, out=out)


def drums_corpus(out: str | os.PathLike | None = None) -> tuple[Path, int, int]:
    """``producer drums corpus``: rebuild the groove corpus from the installed MMA style library;
    returns (path, style files, grooves)."""
    from producer.drums.corpus import write_corpus

    return write_corpus(out)


def timbre_corpus(soundfonts: list[str], out: str | os.PathLike, *, clips_per_class: int = 300, seed: int = 0,
                  workers: int = 2, force: bool = False, log: Callable[[str], None] | None = None) -> int:
    """``producer embeddings corpus``: render 3 s training clips from soundfonts into ``out``
    (IRMAS layout plus manifest.csv). Returns the number of clips."""
    from producer.errors import InputError
    from producer.output import check_seed, staged_output
    from producer.timbre.data import build_corpus

    check_seed(seed)
    if clips_per_class < 1:
        raise InputError(f"--clips-per-class must be at least 1, given {clips_per_class}")
    with staged_output(out, force=force) as stage:
        return build_corpus(soundfonts, stage, clips_per_class=clips_per_class, seed=seed, workers=workers,
                            log=log)


def train_timbre(out: str | os.PathLike, *, irmas: str | None = None, corpus: str | None = None,
                 arch: str = "fast", width: float = 1.0, epochs: int = 30, batch_size: int = 64, lr: float = 2e-3,
                 seed: int = 0, max_minutes: float | None = None, threads: int | None = None,
                 val_fraction: float = 0.1, supcon: float = 0.5, force: bool = False, command: str = "",
                 log: Callable[[str], None] = print) -> dict:
    """``producer embeddings train``: train the timbre CNN on IRMAS (``irmas``) or a rendered
    corpus (``corpus``); write the weights to ``out`` (.pt) and the metrics beside it (.json).
    Returns the metrics (with the IRMAS test figures when its testing part is there)."""
    import platform
    import time

    import torch

    from producer.errors import InputError
    from producer.output import check_seed, staged_file
    from producer.timbre import data
    from producer.timbre.evaluate import evaluate_irmas
    from producer.timbre.model import CLASSES, scaled_config
    from producer.timbre.pretrained import load_model, save_weights
    from producer.timbre.train import TrainSettings, train_on_clips

    check_seed(seed)
    if (irmas is None) == (corpus is None):
        raise InputError("give exactly one of --irmas DIR or --corpus DIR")
    if supcon < 0:
        raise InputError(f"--supcon must be at least 0, given {supcon}")
    if epochs < 1:
        raise InputError(f"--epochs must be at least 1, given {epochs}")
    out = Path(out)
    with staged_file(out, force=force, suffix=".pt") as tmp_weights, \
            staged_file(out.with_suffix(".json"), force=True) as tmp_metrics:
        t0 = time.perf_counter()
        if irmas:
            train_clips, test_clips = data.find_irmas(irmas)
            source = f"IRMAS at {irmas}"
        else:
            train_clips, test_clips = data.load_training(corpus), []
            source = f"soundfont corpus at {corpus}"
        log(f"{len(train_clips)} training clips, {len(test_clips)} testing excerpts ({source})")
        settings = TrainSettings(arch=arch, config=scaled_config(arch, width), epochs=epochs, batch_size=batch_size,
                                 lr=lr, seed=seed, max_minutes=max_minutes, threads=threads,
                                 val_fraction=val_fraction, supcon=supcon)
        net, hist = train_on_clips(train_clips, settings, log=log)
        meta = {"source": source, "n_clips": len(train_clips), "command": command, "torch": str(torch.__version__),
                "threads": torch.get_num_threads(), "machine": platform.machine(), "history": hist}
        save_weights(tmp_weights, net, arch=arch, config=settings.config, classes=CLASSES, meta=meta, half=True)
        metrics = {"weights": str(out), "arch": arch, "source": source, "n_train_clips": len(train_clips),
                   "best_epoch": hist["best_epoch"], "val_accuracy": hist["val_acc"][hist["best_epoch"] - 1],
                   "train_seconds": hist["train_seconds"], "feature_seconds": hist["feature_seconds"]}
        if test_clips:
            metrics["irmas_test"] = evaluate_irmas(load_model(str(tmp_weights)), test_clips, log=log)
        metrics["total_seconds"] = round(time.perf_counter() - t0, 1)
        tmp_metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def evaluate_timbre(soundfont: str, out: str | os.PathLike, *, clips: int = 440, model_name: str = "default",
                    seed: int = 2024, force: bool = False) -> tuple[dict, Path]:
    """``producer embeddings eval``: accuracy, per-class figures and retrieval on fresh clips
    rendered from ``soundfont``; writes confusion.png and metrics.json into ``out``.
    Returns (metrics, folder written)."""
    from producer.errors import InputError
    from producer.output import check_output_dir, check_seed, staged_output
    from producer.timbre.evaluate import evaluate_clips, render_eval_clips
    from producer.timbre.pretrained import load_model

    check_seed(seed)
    if clips < 11:
        raise InputError(f"--clips must be at least 11 (one per class), given {clips}")
    check_output_dir(out, force=force)  # a file in the way fails now, not after the rendering
    model = load_model(model_name)
    ys, labels = render_eval_clips(soundfont, clips, seed=seed)
    with staged_output(out, force=force) as stage:
        res = evaluate_clips(model, ys, labels, png=stage / "confusion.png",
                             title=f"{model.name} on {Path(soundfont).name}")
        res["soundfont"] = str(soundfont)
        res["seed"] = seed
        (stage / "metrics.json").write_text(json.dumps(res, indent=2) + "\n")
    return res, stage.final


@dataclass(frozen=True)
class TuneSummary:
    url: str
    session: Path  # the session folder (answers, versions, audio): pass it to --resume
    knobs: int  # parameters tuned
    answers: int
    favourite: str  # version id
    saved: list[str]  # folders "save" wrote


def tune(
    project_path: str | os.PathLike | None,
    out: str | os.PathLike | None,
    *,
    resume: str | os.PathLike | None = None,
    session: str | os.PathLike | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    budget: int | None = None,
    params: str | None = None,
    seconds: float = 10.0,
    seed: int = 0,
    force: bool = False,
    samples: str | os.PathLike | None = None,
    on_ready: Callable[[object], None] | None = None,
) -> TuneSummary:
    """``producer tune``: a listening session in a local web page that learns which setting of
    the project's effect parameters and track gains the listener prefers.

    Everything is checked, and the port bound, before the session folder is written. The
    session folder (``session``, by default ``OUT.tune-session`` beside ``out``) keeps every
    answer as it is given; ``resume`` names one to continue (its project, knobs and passage;
    ``budget`` may grow). Serves until Ctrl-C or ``server.stop()``; ``on_ready(server)`` is
    called once the first pair is playable (``server.url``). Renders run on the calling thread. The page's "save" writes the
    favourite as a project folder into ``out`` (staged, as every output).

    Long because it checks a new and a resumed session alike before binding the port,
    then wires renders and saves to the one rendering thread; a candidate for splitting.
    """
    from producer.errors import InputError
    from producer.export.bundle import write_bundle
    from producer.output import check_seed, staged_output
    from producer.tune.params import select_knobs
    from producer.tune.server import make_server
    from producer.tune.session import Settings, TuneSession, read_settings

    check_seed(seed)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 1000):
        raise InputError(f"--budget {budget!r}: expected an integer 1-1000")
    if not 1.0 <= seconds <= 120.0:
        raise InputError(f"--seconds {seconds!r}: expected 1-120 (the passage played to compare)")
    if resume is not None:
        folder = Path(resume)
        stored = read_settings(folder)
        if project_path is not None and Path(project_path).resolve() != Path(stored.project_file).resolve():
            raise InputError(f"--resume {folder}: the session tunes {stored.project_file}, not {project_path}")
        if params is not None:
            raise InputError("--params: a resumed session keeps the parameters it started with")
        project_path = stored.project_file
        out = out if out is not None else stored.out
        settings = Settings(stored.project_file, stored.knobs, stored.seconds, stored.seed,
                            budget if budget is not None else stored.budget, str(Path(out).resolve()))
    else:
        if project_path is None:
            raise InputError("name a PROJECT.json to tune (or --resume a session folder)")
        if out is None:
            raise InputError("--out: name the folder the favourite is saved into")
        folder = Path(session) if session is not None else Path(f"{os.fspath(out).rstrip('/')}.tune-session")
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InputError(f"session folder {folder} exists: continue it with --resume {folder}, or remove it")
    folder_real = Path(os.path.realpath(folder))
    out_real = Path(os.path.realpath(out))
    if folder_real == out_real or out_real in folder_real.parents or folder_real in out_real.parents:
        raise InputError(f"session folder {folder} and --out {out} must be separate folders")
    # A folder this session saved before may be replaced by its next save without --force.
    ours = _tune_saved_here(out, folder)
    project, renderer = _open_project(project_path, out, force=force or ours, samples=samples, inputs=(folder,))
    if resume is None:
        knobs = select_knobs(project, params)
        settings = Settings(str(Path(project_path).resolve()), tuple(k.name for k in knobs), float(seconds),
                            seed, budget if budget is not None else 30, str(out_real))

    saved_once = [ours]

    def render_passage(version):
        result = renderer.render(version)
        return result.mix, result.sr

    def save(favourite, info):
        with staged_output(out, force=force or saved_once[0], inputs=(project_path, folder)) as stage:
            write_bundle(favourite, renderer, stage)
            (stage / "tune.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        saved_once[0] = True
        return stage.final

    server = make_server(None, host=host, port=port)  # a taken port fails before anything is written
    try:
        # DawDreamer renders on one thread only: the request threads hand it this one.
        hooks = {"render": lambda version: server.call(render_passage, version),
                 "save": lambda favourite, info: server.call(save, favourite, info)}
        if resume is not None:
            server.session = TuneSession.resume(folder, settings, **hooks)
            (folder / "session.json").write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
        else:
            server.session = TuneSession.create(folder, project, knobs, settings, **hooks)
        if on_ready is not None:
            on_ready(server)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
    finally:
        server.server_close()
    state = server.session.state()
    return TuneSummary(url=server.url, session=folder, knobs=len(settings.knobs), answers=state["answers"],
                       favourite=state["favourite"]["id"], saved=state["saved"])


def _tune_saved_here(out, session_folder) -> bool:
    """Whether ``out`` holds a favourite saved by the tune session in ``session_folder``."""
    from producer.output import MARK

    out = Path(out)
    try:
        info = json.loads((out / "tune.json").read_text())
    except (OSError, ValueError):
        return False
    return (out / MARK).is_file() and isinstance(info, dict) and info.get("session") == str(Path(session_folder).resolve())


# ---- the listening agent (issue 14): producer live, producer agent train / eval -----------------
@dataclass(frozen=True)
class LiveSummary:
    out: Path
    policy: str
    task: str
    blocks: int
    seconds: float  # audio time the take covers
    block_ms: float  # the block period
    compute_p50_ms: float
    compute_p99_ms: float
    interrupted: bool
    ended_by: str
    osc_ignored: int
    automation_deviation: dict  # parameter -> largest deviation the envelope thinning caused
    files: list[str]


def live(input_path: str | os.PathLike, out: str | os.PathLike, *, policy: str | None = None,
         block: int = 512, control: str | os.PathLike | None = None, mapping: str | None = None,
         osc_in: int | None = None, osc_out: str | None = None, realtime: bool = False,
         idle_timeout: float = 5.0, max_duration: float | None = None, force: bool = False,
         on_ready: Callable[[int], None] | None = None) -> LiveSummary:
    """``producer live``: run a listening-agent policy block by block on a file (the source; the
    control signal is ``control``, or the input itself) or, with ``input_path="osc:"``, on
    descriptors arriving at UDP port ``osc_in``; parameters go out over OSC to ``osc_out``
    (``HOST:PORT``). Writes the output audio, ``trajectory.csv``, ``live.json`` and, for the
    cross-adaptive task on a file, ``project.json`` whose automation replays the take.
    Ctrl-C ends the take and keeps what was played.

    Long because the file and the OSC inputs share the checks, the policy and the staged
    take; a candidate for splitting."""
    import csv

    import numpy as np

    from producer.agent.envs import MAPPINGS
    from producer.agent.features import SR, check_block
    from producer.agent.osc import ParamSender, parse_host_port, serve
    from producer.agent.policies import DEFAULT_POLICY, load_policy, read_meta
    from producer.agent.stream import CrossRunner, ImitationRunner, file_blocks, run_blocks, take_project
    from producer.audio import load_audio, to_mono, write_audio
    from producer.errors import InputError
    from producer.output import check_output_dir, staged_output

    check_block(block)
    from_osc = str(input_path) == "osc:"
    if from_osc and osc_in is None:
        raise InputError("INPUT osc: needs --osc-in PORT (the UDP port descriptors arrive at)")
    if not from_osc and osc_in is not None:
        raise InputError("--osc-in is for INPUT osc: (a file is read from disk)")
    if osc_in is not None and not (isinstance(osc_in, int) and 0 <= osc_in <= 65535):
        raise InputError(f"--osc-in {osc_in}: a UDP port 0..65535 (0: any free port)")
    reply_to = parse_host_port(osc_out) if osc_out else None
    if not (isinstance(idle_timeout, (int, float)) and 0.05 <= idle_timeout <= 3600):
        raise InputError(f"--idle-timeout {idle_timeout}: 0.05..3600 s")
    name = policy or DEFAULT_POLICY
    _, meta = read_meta(name)
    wants_cross = control is not None or mapping is not None
    if wants_cross and meta["task"] != "cross":
        raise InputError(f"--policy {name}: an {meta['task']!r} policy; --control and --mapping need a "
                         "cross-adaptive one (task 'cross')")
    if mapping is not None and mapping not in MAPPINGS:
        raise InputError(f"--mapping {mapping!r}: one of {', '.join(MAPPINGS)}")
    mapping = mapping or "duck"
    inputs = [] if from_osc else [input_path] + ([control] if control is not None else [])
    if not from_osc:
        source, _ = load_audio(input_path, sr=SR, max_duration=max_duration)
        ctrl = to_mono(load_audio(control, sr=SR, max_duration=max_duration)[0]) if control is not None else to_mono(source)
    check_output_dir(out, force=force, inputs=inputs)
    pol = load_policy(name)
    task = pol.task
    if task == "cross":
        runner = CrossRunner(pol, block=block, sr=SR, mapping=mapping)
    else:
        runner = ImitationRunner(pol, block=block, sr=SR)
    ignored = 0
    if from_osc:
        take, stats = serve(runner, port=osc_in, reply_to=reply_to, idle_timeout=idle_timeout, on_ready=on_ready)
        ignored = stats["ignored"]
    else:
        sender = ParamSender(*reply_to, runner.names) if reply_to else None
        # the project plays a file as one mono clip, so the take is mono too
        blocks = (file_blocks(ctrl, to_mono(source), block=block) if task == "cross"
                  else ((b[0],) for b in file_blocks(to_mono(source), block=block)))
        if on_ready is not None:
            on_ready(0)
        take = run_blocks(runner, blocks, realtime=realtime, on_block=sender.send if sender else None)
    values = take.value_array()
    deviation: dict = {}
    with staged_output(out, force=force, inputs=inputs) as stage:
        with open(stage / "trajectory.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["block", "end_s", *runner.names])
            for k, v in enumerate(values):
                w.writerow([k, f"{(k + 1) * block / SR:.6f}", *(f"{x:.6g}" for x in v)])
        audio = take.audio_array(1)
        if task == "cross" and not from_osc and take.blocks:
            from producer.render.engine import pan_gains

            n = min(source.shape[1], take.blocks * block)
            # live.wav is the take as the project's track stem: centre-panned (-3 dB a channel)
            stem = np.asarray(pan_gains(0.0), dtype=np.float32)[:, None] * audio[:, :n].astype(np.float32)
            write_audio(stage / "live.wav", stem, SR, subtype="FLOAT")
            write_audio(stage / "source.wav", to_mono(source)[:n], SR, subtype="FLOAT")
            project, deviation = take_project(values, block=block, sr=SR, sample="source.wav", duration=n / SR)
            project.save(stage / "project.json")
        elif task == "imitate" and audio.shape[1]:
            write_audio(stage / "synth.wav", audio, SR, subtype="FLOAT")
        compute = np.array(take.compute) * 1000.0 if take.compute else np.zeros(1)
        info = {"policy": name, "task": task, "voice": pol.config.voice if task == "imitate" else None,
                "mapping": mapping if task == "cross" else None, "block": block, "sample_rate": SR,
                "blocks": take.blocks, "input": "osc:" if from_osc else str(input_path),
                "control": None if control is None else str(control), "ended_by": take.ended_by,
                "interrupted": take.interrupted, "osc_ignored": ignored,
                "compute_ms": {"p50": round(float(np.percentile(compute, 50)), 4),
                               "p99": round(float(np.percentile(compute, 99)), 4)},
                "automation_thinning_deviation": deviation}
        (stage / "live.json").write_text(json.dumps(info, indent=2) + "\n")
        files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    return LiveSummary(out=stage.final, policy=name, task=task, blocks=take.blocks, seconds=take.blocks * block / SR,
                       block_ms=1000.0 * block / SR, compute_p50_ms=info["compute_ms"]["p50"],
                       compute_p99_ms=info["compute_ms"]["p99"], interrupted=take.interrupted,
                       ended_by=take.ended_by, osc_ignored=ignored, automation_deviation=deviation, files=files)


@dataclass(frozen=True)
class AgentTrainSummary:
    out: Path
    name: str
    train_seconds: float
    figures: dict


def agent_train(out: str | os.PathLike, *, task: str = "cross", voice: str = "sine", algo: str = "sac",
                timesteps: int = 30_000, seed: int = 0, clips: int = 48, eval_clips: int = 12,
                pretrain_blocks: int = 0, force: bool = False) -> AgentTrainSummary:
    """``producer agent train``: train a listening-agent policy, evaluate it on held-out
    material, write ``NAME.zip`` + ``NAME.json`` (figures inside) into ``out``."""
    from producer.agent.policies import ALGOS, TASKS, TrainConfig, train
    from producer.agent.synth import VOICES
    from producer.errors import InputError
    from producer.output import check_output_dir, check_seed, staged_output

    if task not in TASKS:
        raise InputError(f"--task {task!r}: one of {', '.join(TASKS)}")
    if algo not in ALGOS:
        raise InputError(f"--algo {algo!r}: one of {', '.join(ALGOS)}")
    if voice not in VOICES:
        raise InputError(f"--voice {voice!r}: one of {', '.join(VOICES)}")
    for flag, v, lo, hi in (("--timesteps", timesteps, 0, 2_000_000), ("--clips", clips, 2, 1000),
                            ("--eval-clips", eval_clips, 1, 200), ("--pretrain-blocks", pretrain_blocks, 0, 1_000_000)):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise InputError(f"{flag} {v}: an integer {lo}..{hi}")
    check_seed(seed)
    check_output_dir(out, force=force)
    if not timesteps and not pretrain_blocks:
        raise InputError("--timesteps 0 and --pretrain-blocks 0: nothing to train")
    config = TrainConfig(task=task, voice=voice, algo=algo, timesteps=timesteps, seed=seed, clips=clips,
                         pretrain_blocks=pretrain_blocks)
    pol = train(config)
    pol.meta["held_out"] = _agent_figures(pol, eval_clips)
    pol.meta["command"] = (f"producer agent train --task {task} --algo {algo} --timesteps {timesteps} "
                           f"--seed {seed} --clips {clips} --pretrain-blocks {pretrain_blocks}"
                           + (f" --voice {voice}" if task == "imitate" else ""))
    with staged_output(out, force=force) as stage:
        pol.save(stage / config.name)
    return AgentTrainSummary(out=stage.final, name=config.name, train_seconds=pol.meta["train_seconds"],
                             figures=pol.meta["held_out"])


def _agent_figures(pol, clips: int, *, search: bool = False, table: bool = False) -> dict:
    from producer.agent import corpus
    from producer.agent.evaluate import evaluate_cross, evaluate_imitation

    if pol.task == "cross":
        return evaluate_cross(pol, corpus.pairs(clips, held_out=True), search=search)
    n_blocks = int(corpus.CLIP_SECONDS * corpus.SR) // pol.config.block
    voice = [corpus.voice_target(s, pol.config.voice, block=pol.config.block, n_blocks=n_blocks, held_out=True)
             for s in range(clips)]
    instruments = [corpus.instrument_target(s, held_out=True) for s in range(clips)]
    return {"voice_held_out": evaluate_imitation(pol, voice, table=table),
            "instruments_held_out": evaluate_imitation(pol, instruments, table=table)}


def agent_policies() -> list[tuple[str, dict]]:
    """``producer agent list``: the shipped policies, each with its metadata (task, config, figures)."""
    from producer.agent.policies import read_meta, shipped_policies

    return [(name, read_meta(name)[1]) for name in shipped_policies()]


def agent_eval(policy: str, *, task: str | None = None, clips: int = 12, search: bool = False) -> dict:
    """``producer agent eval``: held-out figures of a policy beside its baselines (cross: mean
    reward per block by mapping; imitate: descriptor RMSE), see ``producer.agent.evaluate``."""
    from producer.agent.policies import TASKS, load_policy
    from producer.errors import InputError

    if task is not None and task not in TASKS:
        raise InputError(f"--task {task!r}: one of {', '.join(TASKS)}")
    if not isinstance(clips, int) or isinstance(clips, bool) or not 1 <= clips <= 200:
        raise InputError(f"--clips {clips}: an integer 1..200")
    pol = load_policy(policy, task=task)
    return {"policy": policy, "task": pol.task, "voice": pol.config.voice if pol.task == "imitate" else None,
            "figures": _agent_figures(pol, clips, search=search, table=search)}


# --- producer batch ---------------------------------------------------------------------------

BATCH_JOBS = ("recreate", "render", "drums", "match")
BATCH_FILE = "batch.json"
# What a finished job's folder holds besides the mark; --resume skips a folder that has them all.
BATCH_OUTPUTS = {"recreate": ("recreate.json", "project.json", "mix.wav"),
                 "render": ("project.json", "mix.wav", "arrangement.mid"),
                 "drums": ("pattern.json", "drums.mid"),
                 "match": ("match.json", "project.json", "mix.wav")}


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    jobs: int
    done: int  # finished in this run
    skipped: int  # complete already (--resume)
    failed: int
    seconds: float
    ray_start_seconds: float  # starting or joining Ray
    records: list[dict]  # what batch.json holds per input


def _batch_job(job: dict) -> dict:
    """One job of a batch, run in a Ray worker: the single command's use case on one input,
    writing its folder exactly as that command would. Returns its figures."""
    kind = job["job"]
    if kind == "recreate":
        s = recreate(job["input"], job["out"], preset=job["preset"], budget_seconds=job["budget_seconds"],
                     evaluations=job["evaluations"], samples=job["samples"], seed=job["seed"],
                     force=job["force"], model_name=job["model_name"])
        return {"out": str(s.out), "reward": round(s.reward, 6), "evaluations": s.evaluations,
                "search_seconds": round(s.seconds, 3), "tracks": s.tracks, "clips": s.clips, "tempo": s.tempo}
    if kind == "render":
        r = render(job["input"], job["out"], force=job["force"], samples=job["samples"])
        return {"out": str(r.out), "duration": round(r.duration, 4), "peak_dbfs": round(r.peak_dbfs, 2),
                "tracks": r.tracks, "clips": r.clips}
    if kind == "match":
        m = match(job["input"], job["like"], job["out"], seed=job["seed"], force=job["force"])
        return {"out": str(m.out), "renders": m.renders, "search_seconds": round(m.seconds, 3),
                "chain": list(m.chain), **{k: v for k, v in m.figures.items() if isinstance(v, (int, float))}}
    from producer.drums.generate import make_drums

    part, folder, _ = make_drums(kick=job["input"], out=job["out"], force=job["force"], seed=job["seed"])
    return {"out": str(folder), "style": part.style, "bars": part.bars, "bpm": part.bpm}


def _batch_complete(folder: Path, kind: str) -> bool:
    from producer.output import MARK

    return (folder / MARK).is_file() and all((folder / name).exists() for name in BATCH_OUTPUTS[kind])


def batch(
    inputs: list[str | os.PathLike],
    out: str | os.PathLike,
    *,
    job: str = "recreate",
    workers: int | None = None,
    address: str | None = None,
    resume: bool = False,
    force: bool = False,
    preset: str = "default",
    budget_seconds: float | None = None,
    evaluations: int | None = None,
    samples: str | os.PathLike | None = None,
    seed: int = 0,
    model_name: str = "default",
    like: str | os.PathLike | None = None,
    max_retries: int = 3,
    progress: Callable[[object], None] | None = None,
) -> BatchSummary:
    """``producer batch``: one ``job`` per input on Ray, each written to ``out/NAME/`` exactly as
    the single command writes it, and ``out/batch.json`` (per input: status, figures, seconds,
    error line), rewritten as each job ends.

    Inputs are files or folders (searched for audio, ``project.json`` or MIDI, by ``job``);
    ``match`` jobs match every input to the one reference ``like``.
    Without ``address`` a local Ray instance with ``workers`` CPUs (default: all) runs the jobs;
    with it they run on that cluster (every node must see the inputs and ``out`` at the same
    paths). A job that fails is recorded and the batch goes on; a worker that dies is retried
    ``max_retries`` times. A non-empty ``out`` needs ``resume`` (skip the inputs whose folder is
    complete) or ``force`` (run every job again, replacing only producer's own folders).
    ``progress(counts)`` receives a ``producer.batch.Counts`` as jobs end and every few seconds.

    Long because it holds the batch's whole life: inputs, resume rules, Ray, progress
    and batch.json; the jobs themselves are the single commands (``_batch_job``). A candidate
    for splitting.
    """
    import time

    from producer.batch import RayCluster, find_inputs, job_names, run_jobs
    from producer.config import load_preset
    from producer.errors import InputError, OutputError
    from producer.output import MARK, check_output_dir, check_seed

    started = time.perf_counter()
    if job not in BATCH_JOBS:
        raise InputError(f"--job {job!r}: one of {', '.join(BATCH_JOBS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"--workers {workers}: must be at least 1")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or not 0 <= max_retries <= 100:
        raise InputError(f"max_retries {max_retries!r}: an integer 0..100")
    check_seed(seed)
    if job == "recreate":
        cfg = load_preset(preset).with_overrides(seconds=budget_seconds, evaluations=evaluations)
        # A preset given as a file must be found by every worker: pass it on by its full path.
        if preset.endswith(".toml") or os.sep in preset:
            preset = os.path.abspath(preset)
        settings = {"preset": cfg.name, "seed": seed, "budget_seconds": budget_seconds,
                    "evaluations": evaluations, "model": model_name}
    elif job == "match":
        if like is None or not Path(like).is_file():
            raise InputError(f"--like {like}: match jobs need a reference audio file")
        like = os.path.abspath(like)
        settings = {"seed": seed, "like": like}
    else:
        settings = {"seed": seed} if job == "drums" else {}
    files = find_inputs(inputs, job, exclude=out)
    names = job_names(files, job)
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (resume or force):
        raise OutputError(f"--out {out} is not empty: --resume finishes the batch there, --force runs every "
                          "job again")
    check_output_dir(out, force=resume or force, inputs=[*files, *([like] if like else [])])
    book = out / BATCH_FILE
    previous: dict[str, dict] = {}
    if out.is_dir() and any(out.iterdir()):
        try:
            before = json.loads(book.read_text())
        except (OSError, ValueError):
            raise OutputError(f"--out {out} holds no readable {BATCH_FILE}: not a batch folder") from None
        if before.get("job") != job or (resume and before.get("settings") != settings):
            raise OutputError(f"--out {out} holds a {before.get('job')} batch run with settings "
                              f"{json.dumps(before.get('settings'))}; resume it with the same ones or choose "
                              "another folder")
        previous = {r.get("name"): r for r in before.get("jobs", []) if isinstance(r, dict)}

    specs, records, todo = [], [], []
    for path, name in zip(files, names):
        folder = out / name
        spec = {"job": job, "input": str(path.resolve()), "out": str(folder.resolve()), "force": force,
                "preset": preset, "budget_seconds": budget_seconds, "evaluations": evaluations,
                "samples": None if samples is None else str(Path(samples).resolve()), "seed": seed,
                "model_name": model_name, "like": like}
        specs.append(spec)
        if resume and _batch_complete(folder, job):
            old = previous.get(name, {})
            records.append({"input": str(path), "name": name, "status": "done", "resumed": True,
                            "figures": old.get("figures"), "seconds": old.get("seconds")})
        else:
            records.append({"input": str(path), "name": name, "status": "waiting"})
            todo.append(len(specs) - 1)

    def write_book() -> None:
        tmp = out / f".{BATCH_FILE}.partial-{os.getpid()}"
        tmp.write_text(json.dumps({"format": "producer-batch", "version": 1, "job": job, "settings": settings,
                                   "jobs": records}, indent=2) + "\n")
        os.replace(tmp, book)

    cluster = RayCluster(workers=workers, address=address)  # a bad --address fails here

    def start_book() -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARK).write_text("written by producer; `--force` may replace this folder\n")
        write_book()

    last_write = [time.perf_counter()]

    def on_result(k: int, result: dict, counts) -> None:
        i = todo[k]
        records[i] = {"input": records[i]["input"], "name": records[i]["name"], **result}
        # At most every 2 s (and at the end): a 10,000-job batch would otherwise rewrite its
        # whole book 10,000 times. A batch killed meanwhile loses only those lines; --resume
        # trusts the folders, not the book.
        if counts.waiting == 0 and counts.running == 0 or time.perf_counter() - last_write[0] >= 2.0:
            write_book()
            last_write[0] = time.perf_counter()

    if not todo:  # every folder complete already: no need for Ray
        start_book()
    else:
        with cluster:  # joined or started before anything is written
            start_book()
            try:
                run_jobs([specs[i] for i in todo], _batch_job, cluster, max_retries=max_retries,
                         on_result=on_result, on_progress=progress)
            finally:
                write_book()
    ray_start = cluster.start_seconds
    failed = sum(1 for r in records if r["status"] == "failed")
    skipped = sum(1 for r in records if r.get("resumed"))
    return BatchSummary(out=out, jobs=len(records), done=len(records) - failed - skipped, skipped=skipped,
                        failed=failed, seconds=time.perf_counter() - started, ray_start_seconds=ray_start,
                        records=records)


@dataclass(frozen=True)
class MatchSummary:
    out: Path
    mode: str
    renders: int
    seconds: float
    chain: tuple[str, ...]  # the effect kinds written, in order
    breakpoints: int  # automation points written, all envelopes together
    figures: dict  # MR-STFT and loudness of the unprocessed, static and final results (see producer.match)


MATCH_SAMPLE_RATE = 44100


def match(source: str | os.PathLike, reference: str | os.PathLike, out: str | os.PathLike, *, mode: str = "static",
          renders: int = 400, seed: int = 0, effects: str | None = None, force: bool = False,
          max_duration: float = 60.0) -> MatchSummary:
    """``producer match``: a one-track project playing ``source`` through an effect chain found by
    CMA-ES (``mode="follow"`` adds gain and filter automation) so it sounds like ``reference``;
    writes mix, stems, project.json (the source copied to samples/), sessions, match.json and
    report.html into ``out``. Both files are read at 44.1 kHz; the source plays mono (as every
    clip does), a reference of any channel count is compared as its mono sum and BS.1770 loudness."""
    import numpy as np

    from producer.audio import load_audio, to_mono
    from producer.errors import InputError
    from producer.export.bundle import write_bundle
    from producer.export.report.match import MatchReportData, write_match_report
    from producer.match import FRAME_HOP, MODES, choose_stages, envelopes, match_track
    from producer.output import check_output_dir, check_seed, staged_output
    from producer.project import Clip, Project, Track
    from producer.render.engine import Renderer
    from producer.samples import Library

    check_seed(seed)
    if mode not in MODES:
        raise InputError(f"--mode {mode!r}: choose {' or '.join(MODES)}")
    if isinstance(renders, bool) or not isinstance(renders, int) or not 10 <= renders <= 5000:
        raise InputError(f"--renders {renders!r}: must be an integer 10..5000")
    stages = choose_stages(effects)
    check_output_dir(out, force=force, inputs=(source, reference))
    sr = MATCH_SAMPLE_RATE
    loaded = {}
    for role, path in (("source", source), ("reference", reference)):
        y, _ = load_audio(path, sr=sr, max_duration=max_duration)
        if float(np.max(np.abs(y))) < 1e-5:
            raise InputError(f"{role} {path}: silent (peak below -100 dBFS); nothing to match")
        loaded[role] = y
    ref = loaded["reference"]
    if ref.shape[1] < 0.5 * sr:
        raise InputError(f"reference {reference}: {ref.shape[1] / sr:.3f} s long; it must last at least 0.5 s")
    ref = np.stack([ref[0], ref[1]]) if ref.shape[0] == 2 else np.stack([to_mono(ref)] * 2)
    source_path = Path(source).resolve()
    renderer = Renderer(Library.default(), base_dir=source_path.parent)
    hold = loaded["source"].shape[1] / sr
    track = Track("Source", "voice", clips=(Clip(source_path.name, 0.0, max(hold, 1e-3), 60),))
    result = match_track(track, ref, sr, renderer=renderer, mode=mode, renders=renders, seed=seed, stages=stages)
    project = Project(sample_rate=sr, tracks=(result.track,))
    settings = {"source": source_path.name, "reference": Path(reference).name, "mode": mode, "renders": renders,
                "seed": seed, "effects": effects or "all"}
    with staged_output(out, force=force, inputs=(source, reference)) as stage:
        render = write_bundle(project, renderer, stage)
        (stage / "match.json").write_text(json.dumps({**settings, "renders_used": result.renders,
                                                       "figures": result.figures}, indent=2) + "\n")
        write_match_report(stage / "report.html", MatchReportData(
            source=loaded["source"], result=render.mix, reference=ref, sr=sr, track=result.track,
            figures=result.figures, history=tuple(result.history), curve_hop=FRAME_HOP,
            curves=envelopes({"source": loaded["source"], "result": render.mix, "reference": ref}, sr, n=ref.shape[-1]),
            title=f"match: {settings['source']} like {settings['reference']}", settings=settings))
    points = len(result.track.automation and result.track.automation[0][1] or ()) + sum(
        len(env) for e in result.track.effects for _, env in e.automation)
    return MatchSummary(out=stage.final, mode=mode, renders=result.renders, seconds=result.seconds,
                        chain=tuple(e.kind for e in result.track.effects), breakpoints=points, figures=result.figures)
