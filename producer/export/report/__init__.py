"""``report.html``: one self-contained page the musician opens after ``producer recreate``.

It shows, top to bottom: a summary (reward, lengths, search effort), audio players for the target
and the recreation, their waveforms and log-frequency spectrograms on one time axis, the reward of
every window, the best reward over the search, the arrangement as a piano roll, the tracks and
their clips, and the search log (best and last entries, then all of it, folded).

Self-contained means no other file and no network: plots are PNG and audio is WAV, both inlined
as base64 ``data:`` URIs, and the page has no script. The audio is embedded at 22.05 kHz, mono,
16-bit (about 58 kB per second of sound once base64-encoded, so a 30 s target and its recreation
come to about 3.5 MB). WAV rather than FLAC or Ogg because every browser plays it; the full
quality mix is ``mix.wav`` beside the report. Samples beyond full scale are clipped in the players
only (the plots show the true peak).

Every time plot uses the same figure width and margins and the same time range, so the images,
stacked on the page, line up second for second.
"""
from __future__ import annotations

from pathlib import Path

from dataclasses import dataclass

from producer.export.report.figures import (_arrangement_block, _history_block, _rewards_block, _spectrogram_png,
                                            _waveform_png)
from producer.export.report.listen import _duration, _players, _preview
from producer.export.report.page import (_PAGE, RENDER_COLOUR, TARGET_COLOUR, _esc, _img, _log_block, _section,
                                         _summary)


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, as one value.

    target : np.ndarray [shape=(channels, n) or (n,)] float, the input audio at ``target_sr`` Hz.
    render : producer.render.engine.Render, the recreation (``.mix`` [shape=(2, n)], ``.sr``).
    project : producer.project.Project, the arrangement that was rendered.
    windows_reward : reward of each window (``window_seconds`` long, ``hop_seconds`` apart: the
        analysis' own windows), in order.
    history : [(elapsed s, evaluations, best reward so far)], in time order.
    log : search log entries; every key found is shown.
    title : the page heading (escaped).
    beats, downbeats : the target's detected beats and bar lines (s), drawn over its spectrogram
        with the recreation's piano roll; empty: none drawn.
    """
    target: object
    target_sr: int
    render: object
    project: object
    window_seconds: float
    hop_seconds: float
    windows_reward: tuple = ()
    history: tuple = ()
    log: tuple = ()
    title: str = "producer recreate"
    beats: tuple = ()
    downbeats: tuple = ()


def write_report(path, data: ReportData) -> None:
    """Write ``report.html`` for ``data`` to ``path``."""
    target, target_sr, render, project = data.target, data.target_sr, data.render, data.project
    windows_reward, history, log = data.windows_reward, data.history, data.log
    window_seconds, hop_seconds, title = data.window_seconds, data.hop_seconds, data.title
    # matplotlib is imported lazily (in _figure); figures draw on Agg canvases directly, never
    # through pyplot, so the caller's backend and pyplot state are left alone.
    target_mono = _preview(target, target_sr)
    render_mono = _preview(render.mix, render.sr)
    target_seconds = _duration(target, target_sr)
    render_seconds = render.mix.shape[-1] / render.sr if render.sr else 0.0
    span = max(target_seconds, render_seconds, project.end, len(windows_reward) and
               (len(windows_reward) - 1) * hop_seconds + window_seconds, 1e-3)

    rewards = [float(r) for r in windows_reward]
    history = [(float(t), int(e), float(b)) for t, e, b in history]
    log = [dict(entry) for entry in log]

    parts: list[str] = []
    parts.append(_summary(target_seconds, target_sr, render_seconds, render.sr, project, rewards,
                          history, log))
    parts.append(_section("Listen", _players(
        (("Target", target_mono, TARGET_COLOUR), ("Recreation", render_mono, RENDER_COLOUR)),
        "Previews are mono at 22.05 kHz; the full-quality recreation is <code>mix.wav</code> beside this report.")))
    parts.append(_section("Waveforms", _img(_waveform_png(target_mono, render_mono, span),
                                           "Waveforms of the target and the recreation")))
    parts.append(_section("Spectrograms", _img(_spectrogram_png(target_mono, render_mono, span, beats=data.beats,
                                                                   downbeats=data.downbeats, project=project),
                                              "Log-frequency spectrograms of the target (with its beats, bars "
                                              "and the recreation's notes) and the recreation")))
    parts.append(_section("Reward per window", _rewards_block(rewards, span, window_seconds, hop_seconds)))
    parts.append(_section("Best reward during the search", _history_block(history)))
    parts.append(_section("Arrangement", _arrangement_block(project, span, target_seconds)))
    parts.append(_section("Search log", _log_block(log)))

    page = _PAGE.format(title=_esc(title), body="\n".join(parts))
    Path(path).write_text(page, encoding="utf-8")
