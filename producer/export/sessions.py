"""Every DAW file of a project, written into one folder; the render, recreate and export pipelines
all call ``write_sessions``.

Layout (``name`` defaults to "session")::

    clips/                 the dry clip audio (32-bit float mono WAV), one file per distinct clip
    ardour/NAME.ardour     Ardour 7 session; its audio in ardour/interchange/NAME/audiofiles/
    NAME.dawproject        DAWproject zip (clip audio embedded)
    NAME.rpp               REAPER project (reads clips/)
    arrangement.mid        type-1 MIDI, GM programs, drums on channel 10
    stems/NN_<track>.wav   the printed (wet) tracks, 24-bit

Sessions reference the *dry* clips with effects as plugins, so the user can still change them;
``stems/`` stay the printed tracks with our effects.
"""
from __future__ import annotations

import os
from pathlib import Path

from producer.errors import InputError

FORMATS = ("ardour", "dawproject", "rpp", "midi", "stems")
SESSION_FORMATS = ("ardour", "dawproject", "rpp")  # the ones that need the dry clip files


def parse_formats(text: str) -> tuple[str, ...]:
    """``"ardour,rpp"`` -> ("ardour", "rpp"), in the given order, duplicates dropped; ``all``
    means every format. Raises InputError naming an unknown format."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"--format: no format given (choose from {', '.join(FORMATS)})")
    if names == ["all"]:
        return FORMATS
    for n in names:
        if n not in FORMATS:
            raise InputError(f"--format: unknown format {n!r} (choose from {', '.join(FORMATS)}, or all)")
    return tuple(dict.fromkeys(names))


def write_sessions(
    project,
    renderer,
    folder: str | os.PathLike,
    formats=FORMATS,
    *,
    render=None,
    name: str = "session",
) -> dict[str, list[Path]]:
    """Write the chosen ``formats`` of ``project`` into ``folder`` (which must exist).

    ``renderer`` is the ``Renderer`` that prints the clips (and the stems, unless ``render``, a
    finished ``Render`` of the same project, is given). Returns format -> paths written.
    Raises SampleError (naming the clip) before writing anything if a sample is missing.
    """
    folder = Path(folder)
    formats = tuple(formats)
    for f in formats:
        if f not in FORMATS:
            raise InputError(f"unknown format {f!r} (choose from {', '.join(FORMATS)})")
    renderer.check_samples(project)
    written: dict[str, list[Path]] = {}
    if any(f in SESSION_FORMATS for f in formats):
        from producer.export.clips import collect_clips

        clips = collect_clips(project, renderer)
        clip_dir = clips.write(folder / "clips")
        written["clips"] = sorted(clip_dir.iterdir())
        if "ardour" in formats:
            from producer.export.ardour import write_ardour_session

            written["ardour"] = [write_ardour_session(project, clips, folder / "ardour", name=name, clip_dir=clip_dir)]
        if "dawproject" in formats:
            from producer.export.dawproject import write_dawproject

            written["dawproject"] = [write_dawproject(project, clips, folder / f"{name}.dawproject",
                                                      clip_dir=clip_dir, title=name)]
        if "rpp" in formats:
            from producer.export.rpp import write_rpp

            written["rpp"] = [write_rpp(project, clips, folder / f"{name}.rpp", clip_dir="clips")]
    if "midi" in formats:
        from producer.export.midi import write_midi

        written["midi"] = [write_midi(project, folder / "arrangement.mid")]
    if "stems" in formats:
        from producer.export.stems import write_stems

        written["stems"] = write_stems(render if render is not None else renderer.render(project), folder)
    return written
