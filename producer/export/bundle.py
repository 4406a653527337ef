"""A rendered project folder: what ``render``, ``recreate`` and ``match`` hand the user.

``write_bundle`` renders a project and writes mix.wav, stems/, arrangement.mid, the DAW sessions
(with the dry clips they reference) and project.json, whose samples from outside the shipped pack
are copied beside it so the folder renders on its own.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

from producer.project import Project
from producer.samples import Library


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


def write_bundle(project: Project, renderer, folder: str | os.PathLike):
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


def write_recreation(folder: Path, *, project: Project, renderer, result, target, audio, sr: int,
                     settings: dict) -> None:
    """What ``recreate`` leaves: the project folder (``write_bundle``), search_log.jsonl (one JSON
    object per committed decision), recreate.json (``settings``, figures, the song's time) and
    report.html. ``result`` is the search's ``SearchResult``, ``target`` the analysed input,
    ``audio`` [shape=(channels, n)] the input itself at ``sr``. When the budget had only the start
    of the input analysed (``target_seconds``), recreate.json gives the whole input's length too
    (``input_seconds``) and the report compares that start alone (drawing all of a long input
    costs seconds)."""
    from producer.export.report import ReportData, write_report

    cut = {}
    if target.input_duration is not None:
        cut = {"input_seconds": round(target.input_duration, 4)}
        audio = audio[..., :int(round(target.duration * sr))]
    render = write_bundle(project, renderer, folder)
    with open(folder / "search_log.jsonl", "w") as f:
        for entry in result.log:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
    summary = dict(settings, **{
        "reward": round(result.reward, 6),
        "evaluations": result.evaluations,
        "interrupted": result.interrupted,
        "target_seconds": round(target.duration, 4),
        **cut,
        "onsets": len(target.onsets),
        "tempo": round(float(project.tempo), 2),
        "time_signature": list(project.time_signature),
        "beats": [round(float(b), 4) for b in target.beats],
        "downbeats": [round(float(b), 4) for b in target.downbeats],
        "window_rewards": [round(v, 6) for v in result.window_rewards],
    })
    (folder / "recreate.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_report(folder / "report.html", ReportData(
        target=audio, target_sr=sr, render=render, project=project, window_seconds=target.window_seconds,
        hop_seconds=target.hop_seconds, windows_reward=tuple(result.window_rewards),
        history=tuple(result.history), log=tuple(result.log),
        beats=tuple(float(b) for b in target.beats), downbeats=tuple(float(b) for b in target.downbeats)))
