"""producer's operations as plain functions; the CLI is a thin layer over these."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from producer.project import Project, load_project
from producer.samples import Library


@dataclass(frozen=True)
class RenderSummary:
    out: Path
    duration: float  # seconds
    peak_dbfs: float
    tracks: int
    clips: int
    files: list[str]


def localise_samples(project: Project, renderer, folder: Path) -> Project:
    """Copy clip samples that are not in the shipped pack (files beside the project, a user's
    sample folder) into ``folder/samples/`` and point the clips at the copies, so the written
    project.json renders from its own folder with nothing but the shipped pack."""
    shipped = Library.default()
    mapping: dict[str, str] = {}
    tracks = []
    for track in project.tracks:
        clips = []
        for clip in track.clips:
            if clip.sample not in shipped or renderer.sample_for(clip).path != shipped.get(clip.sample).path:
                if clip.sample not in mapping:
                    src = renderer.sample_for(clip).path
                    dest_dir = folder / "samples"
                    dest_dir.mkdir(parents=True, exist_ok=True)
                    name = src.name
                    k = 1
                    while (dest_dir / name).exists():
                        name = f"{src.stem}_{k}{src.suffix}"
                        k += 1
                    shutil.copy2(src, dest_dir / name)
                    mapping[clip.sample] = f"samples/{name}"
                clip = replace(clip, sample=mapping[clip.sample])
            clips.append(clip)
        tracks.append(replace(track, clips=tuple(clips)))
    return replace(project, tracks=tuple(tracks))


def write_render_outputs(project: Project, renderer, folder: str | os.PathLike):
    """Render ``project`` and write everything a user takes into a DAW into ``folder``:
    mix.wav, stems/NN_<track>.wav, arrangement.mid, project.json, and the DAW sessions (Ardour,
    DAWproject, REAPER) with the dry clips they reference. Returns the Render."""
    from producer.export.sessions import FORMATS, write_sessions
    from producer.export.stems import write_mix

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    render = renderer.render(project).trimmed()
    write_mix(render, folder / "mix.wav")
    write_sessions(project, renderer, folder, FORMATS, render=render)
    localise_samples(project, renderer, folder).save(folder / "project.json")
    return render


def open_project_for_output(project_path, out, *, force: bool = False, library: Library | None = None):
    """Every check a command makes before writing a project's files: the project loads and
    validates, ``out`` may be written, every clip's sample resolves to audio that is there.
    Returns ``(project, renderer)``; the renderer resolves paths against the project's folder."""
    from producer.output import check_output_dir
    from producer.render.engine import Renderer

    project_path = Path(project_path)
    project = load_project(project_path)
    check_output_dir(out, force=force)
    renderer = Renderer(library or Library.default(), base_dir=project_path.parent)
    renderer.check_samples(project)
    return project, renderer


def render(
    project_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    force: bool = False,
    library: Library | None = None,
) -> RenderSummary:
    """``producer render``: validate everything first, then write into a staged folder."""
    from producer.audio import peak_dbfs
    from producer.output import staged_output

    project, renderer = open_project_for_output(project_path, out, force=force, library=library)
    with staged_output(out, force=force) as stage:
        result = write_render_outputs(project, renderer, stage)
        files = sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())
    return RenderSummary(
        out=Path(out),
        duration=result.duration,
        peak_dbfs=peak_dbfs(result.mix),
        tracks=len(project.tracks),
        clips=sum(len(t.clips) for t in project.tracks),
        files=files,
    )


# The other operations live with their subsystems; they are re-exported here so that everything
# the CLI does is one import away (`from producer import api`).
def recreate(input_path, out, **options):
    """``producer recreate``: see ``producer.planner.recreate.recreate`` for the options."""
    from producer.planner.recreate import recreate as _recreate

    return _recreate(input_path, out, **options)


def export(project_path, out, **options):
    """``producer export``: see ``producer.export.sessions.export_project`` for the options."""
    from producer.export.sessions import export_project

    return export_project(project_path, out, **options)


def drums(kick, **options):
    """``producer drums``: answer a kick (see ``producer.drums.generate.generate_drums``); write the
    result with ``producer.drums.generate.write_drum_files``."""
    from producer.drums.generate import generate_drums

    return generate_drums(kick, **options)
