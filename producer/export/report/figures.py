"""The figures: waveforms, spectrograms, window rewards, search history, piano roll.

Every time plot uses the same figure width and margins and the same time range, so the images,
stacked on the page, line up second for second. matplotlib is imported lazily and figures draw
on Agg canvases directly, never through pyplot.
"""
from __future__ import annotations

import base64
import io
import math
from typing import Sequence

import numpy as np

from producer import framing
from producer.constants import GM_DRUM_NAMES
from producer.export.report.page import PREVIEW_SR, RENDER_COLOUR, TARGET_COLOUR, _esc, _img, _num
from producer.instruments import INSTRUMENTS, note_name


FIG_WIDTH_IN = 12.0


FIG_DPI = 100


# Margins shared by every time-axis figure (fractions of the figure), so their x axes line up.
TIME_LEFT, TIME_RIGHT = 0.1, 0.93


SPEC_N_FFT = 2048


SPEC_HOP = 512


SPEC_FMIN, SPEC_FMAX = 30.0, 11000.0


SPEC_BINS = 240


SPEC_RANGE_DB = 80.0


def _figure(height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIG_WIDTH_IN, height_in), dpi=FIG_DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig, *, palette: bool = False) -> str:
    """The figure as base64 PNG. ``palette`` reduces it to 256 colours: a spectrogram of a noisy
    recording is about 1.2 MB as true-colour PNG and a fifth of that as palette PNG, with no
    difference the eye can see at this size (line plots are small either way and keep their
    exact colours)."""
    buf = io.BytesIO()
    if palette:
        from PIL import Image  # a dependency of matplotlib

        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        image = Image.fromarray(rgb).quantize(colors=256, method=Image.Quantize.MAXCOVERAGE,
                                              dither=Image.Dither.NONE)
        image.save(buf, format="PNG", optimize=True)
    else:
        fig.savefig(buf, format="png", dpi=FIG_DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _mpl_text(s: str) -> str:
    """A user string safe for matplotlib text: '$' would start mathtext."""
    return str(s).replace("\\", "\\\\").replace("$", r"\$")


def _time_axes(fig, rows: int, heights: Sequence[float] | None = None, *, bottom=0.12, top=0.92, hspace=0.25):
    gs = fig.add_gridspec(rows, 1, height_ratios=heights, left=TIME_LEFT, right=TIME_RIGHT,
                          bottom=bottom, top=top, hspace=hspace)
    axes = []
    for i in range(rows):
        axes.append(fig.add_subplot(gs[i, 0], sharex=axes[0] if axes else None))
    return axes


def _envelope(y: np.ndarray, columns: int = 2400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min / max of y in ``columns`` equal bins: (times s, low, high)."""
    n = len(y)
    columns = max(1, min(columns, n))
    edges = np.linspace(0, n, columns + 1).astype(int)
    low = np.minimum.reduceat(y, edges[:-1])
    high = np.maximum.reduceat(y, edges[:-1])
    return edges[:-1] / PREVIEW_SR, low, high


def _waveform_png(target: np.ndarray, recreation: np.ndarray, span: float) -> str:
    fig = _figure(4.2)
    axes = _time_axes(fig, 2, top=0.93, bottom=0.12)
    peak = max([float(np.max(np.abs(y))) for y in (target, recreation) if y.size] + [1e-3])
    for ax, (label, y, colour) in zip(axes, (("Target", target, TARGET_COLOUR),
                                             ("Recreation", recreation, RENDER_COLOUR))):
        if y.size:
            t, low, high = _envelope(y)
            ax.fill_between(t, low, high, color=colour, linewidth=0.4, step="post")
        else:
            ax.text(0.5, 0.5, "no audio", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.set_ylim(-peak * 1.05, peak * 1.05)
        ax.set_xlim(0, span)
        ax.axhline(0, color="0.6", linewidth=0.5)
        ax.set_ylabel("amplitude")
        ax.set_title(label, loc="left", fontsize=10, color=colour)
        ax.grid(axis="x", color="0.9")
        ax.set_axisbelow(True)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (s)")
    return _png(fig)


def _log_spectrogram(y: np.ndarray) -> np.ndarray:
    """Magnitude in dB on SPEC_BINS log-spaced frequencies [shape=(SPEC_BINS, frames)]."""
    if len(y) < SPEC_N_FFT:
        y = np.pad(y, (0, SPEC_N_FFT - len(y)))
    # Centred frames, so frame k sits at k * hop seconds.
    mag = framing.stft_magnitude(y, n_fft=SPEC_N_FFT, hop_length=SPEC_HOP).T  # (n_fft/2+1, frames)
    fft_freqs = np.fft.rfftfreq(SPEC_N_FFT, 1.0 / PREVIEW_SR)
    log_freqs = np.geomspace(SPEC_FMIN, min(SPEC_FMAX, PREVIEW_SR / 2), SPEC_BINS)
    # Linear interpolation between FFT bins onto the log axis (low notes are blocky, as in any STFT).
    pos = np.interp(log_freqs, fft_freqs, np.arange(len(fft_freqs)))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(fft_freqs) - 1)
    frac = (pos - lo)[:, None]
    power = (mag[lo] * (1 - frac) + mag[hi] * frac) ** 2
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def _pitch_row(pitch: float, fmax: float) -> float:
    """Row of the log-frequency spectrogram where a MIDI pitch's fundamental falls."""
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    return SPEC_BINS * math.log(freq / SPEC_FMIN) / math.log(fmax / SPEC_FMIN)


def bar_marks(beats: Sequence[float], downbeats: Sequence[float], span: float, project=None) -> tuple[list, list]:
    """(beat times, [(downbeat time, bar number)]) inside [0, span] s: what the spectrogram draws.
    Bars are numbered from 1 at the first downbeat; given the ``project``, as its exports number
    them instead (a pickup bar before its downbeat is bar 1): each detected downbeat takes the
    number of the project's nearest bar line."""
    b = [float(t) for t in beats if 0.0 <= t <= span]
    d = [(float(t), k + 1) for k, t in enumerate(downbeats) if 0.0 <= t <= span]
    if project is not None and d:
        from producer.export.conductor import Conductor

        lines = np.asarray(Conductor.of(project).bar_lines(span + project.bar_seconds), np.float64)
        d = [(t, int(np.argmin(np.abs(lines - t))) + 1) for t, _ in d]
    return b, d


def _draw_time(ax, beats: Sequence[float], downbeats: Sequence[float], span: float, project=None) -> None:
    """Beats as faint lines, bar lines brighter with their numbers along the top (as the project's
    sessions number them, when ``project`` is given)."""
    b, d = bar_marks(beats, downbeats, span, project)
    for t in b:
        ax.axvline(t, color="white", linewidth=0.5, alpha=0.28, zorder=3)
    every = max(1, int(math.ceil(len(d) / 40)))  # numbers stay readable on long pieces
    for i, (t, k) in enumerate(d):
        ax.axvline(t, color="white", linewidth=1.0, alpha=0.75, zorder=3)
        if i % every == 0:
            ax.text(t, SPEC_BINS * 0.985, f" {k}", color="white", fontsize=7, va="top", ha="left", zorder=4)


def _spectrogram_png(target: np.ndarray, recreation: np.ndarray, span: float, *, beats: Sequence[float] = (),
                     downbeats: Sequence[float] = (), project=None) -> str:
    """The two spectrograms; over the target's: the detected beats and bars and, when ``project`` is
    given, its pitched clips as lines at their fundamentals (the recreation's piano roll)."""
    def decorate(ax, fmax: float) -> None:
        _draw_time(ax, beats, downbeats, span, project)
        if project is not None:
            for i, track in enumerate(project.tracks):
                if _is_drums(track):
                    continue
                for c in track.clips:
                    row = _pitch_row(c.pitch, fmax)
                    ax.plot([c.start, c.end], [row, row], color=_track_colour(i), linewidth=1.6,
                            alpha=0.9, solid_capstyle="butt", zorder=5)

    return _spectrograms_png((("Target", TARGET_COLOUR, target), ("Recreation", RENDER_COLOUR, recreation)),
                             span, decorate=decorate)


def _spectrograms_png(rows: Sequence[tuple[str, str, np.ndarray]], span: float, *, decorate=None) -> str:
    """Log-frequency spectrograms of rows [(label, colour, mono audio at PREVIEW_SR)], 3 inches a
    row, on one time axis and one dB scale; ``decorate(ax, fmax)`` draws over the first row."""
    height = 3.0 * len(rows)
    fig = _figure(height)
    # The two-row figure's margins kept in inches, so a row is as tall whatever the count.
    scale = 6.0 / height
    axes = _time_axes(fig, len(rows), top=1.0 - 0.05 * scale, bottom=0.09 * scale, hspace=0.2)
    specs = [(_log_spectrogram(y) if y.size else None) for _, _, y in rows]
    # One scale for all, 0 dB at the loudest bin of any, so their levels compare directly.
    ref = max([float(s.max()) for s in specs if s is not None] + [-120.0])
    specs = [None if s is None else s - ref for s in specs]
    vmax, vmin = 0.0, -SPEC_RANGE_DB
    fmax = min(SPEC_FMAX, PREVIEW_SR / 2)
    ticks = [f for f in (50, 100, 200, 500, 1000, 2000, 5000, 10000) if SPEC_FMIN <= f <= fmax]
    image = None
    for k, (ax, spec, (label, colour, y)) in enumerate(zip(axes, specs, rows)):
        ax.set_title(label, loc="left", fontsize=10, color=colour)
        if spec is None:
            ax.text(0.5, 0.5, "no audio", transform=ax.transAxes, ha="center", va="center", color="0.4")
        else:
            seconds = len(y) / PREVIEW_SR
            image = ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
                              extent=(0, seconds, 0, SPEC_BINS), interpolation="antialiased")
        # Rows are log-spaced: place the frequency labels where their frequencies fall.
        ax.set_yticks([SPEC_BINS * math.log(f / SPEC_FMIN) / math.log(fmax / SPEC_FMIN) for f in ticks])
        ax.set_yticklabels([f"{f // 1000}k" if f >= 1000 else str(f) for f in ticks])
        ax.set_ylim(0, SPEC_BINS)
        ax.set_xlim(0, span)
        ax.set_ylabel("frequency (Hz)")
        if k == 0 and decorate is not None:
            decorate(ax, fmax)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (s)")
    if image is not None:
        cax = fig.add_axes((TIME_RIGHT + 0.012, 0.25, 0.012, 0.5))
        bar = fig.colorbar(image, cax=cax)
        bar.set_label("dB re loudest bin", fontsize=9)
    return _png(fig, palette=True)


def _rewards_block(rewards: list[float], span: float, window_seconds: float, hop_seconds: float) -> str:
    if not rewards:
        return '<p class="empty">No window rewards were recorded.</p>'
    from matplotlib import colormaps

    fig = _figure(2.8)
    (ax,) = _time_axes(fig, 1, bottom=0.18, top=0.9)
    values = np.array(rewards, dtype=float)
    finite = np.where(np.isfinite(values), values, 0.0)
    centres = np.arange(len(values)) * hop_seconds + window_seconds / 2
    colours = colormaps["viridis"](np.clip(finite, 0.0, 1.0))
    ax.bar(centres, finite, width=hop_seconds * 0.85, color=colours, edgecolor="0.3", linewidth=0.4)
    mean = float(np.mean(finite))
    ax.axhline(mean, color="0.25", linestyle="--", linewidth=0.9)
    ax.text(span, mean, f" mean {mean:.3f}", va="bottom", ha="right", fontsize=8, color="0.25")
    ax.set_xlim(0, span)
    low = min(0.0, float(finite.min()))
    high = max(1.0, float(finite.max())) if finite.max() > 0.5 else max(float(finite.max()) * 1.15, 0.05)
    ax.set_ylim(low, high)
    ax.set_ylabel("reward")
    ax.set_xlabel(f"time (s) · each bar is a {window_seconds:g} s window, drawn at its centre")
    ax.grid(axis="y", color="0.9")
    ax.set_axisbelow(True)
    best, worst = int(np.argmax(finite)), int(np.argmin(finite))
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{i * hop_seconds:g}–{i * hop_seconds + window_seconds:g} s</td>"
        f"<td>{_num(v)}</td></tr>" for i, v in enumerate(rewards)
    )
    return (
        _img(_png(fig), "Reward of each window")
        + f'<p>Mean over {len(values)} windows <b class="reward">{_num(mean)}</b>; best window '
        f"{best + 1} ({best * hop_seconds:g} s) {_num(values[best])}, worst window {worst + 1} "
        f"({worst * hop_seconds:g} s) {_num(values[worst])}.</p>"
        f"<details><summary>Reward of each window</summary><table class=\"log\"><thead><tr>"
        f"<th>window</th><th>span</th><th>reward</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _history_block(history: list[tuple[float, int, float]]) -> str:
    # Drawn against evaluations only: wall time differs from run to run, and the same seed and
    # budget must give the same page.
    if not history:
        return '<p class="empty">No search history was recorded.</p>'
    png = _best_so_far_png([(h[1], h[2]) for h in history], xlabel="evaluations", ylabel="best reward")
    last = history[-1]
    return (_img(png, "Best reward against evaluations")
            + f'<p>Best reward <b class="reward">{_num(last[2])}</b> after {last[1]} evaluations; '
            f"{len(history)} improvements recorded.</p>")


def _best_so_far_png(points: Sequence[tuple[float, float]], *, xlabel: str, ylabel: str) -> str:
    """A search's progress: the best figure so far [(x, best)] as a step line (dots when few)."""
    fig = _figure(3.0)
    ax = fig.add_axes((TIME_LEFT, 0.18, TIME_RIGHT - TIME_LEFT, 0.72))
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    ax.step(x, y, where="post", color=RENDER_COLOUR, linewidth=1.6)
    if len(points) <= 200:
        ax.plot(x, y, "o", color=RENDER_COLOUR, markersize=2.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(color="0.9")
    ax.set_xlim(left=0)
    return _png(fig)


def _track_label(track) -> str:
    return f"{track.name} ({track.instrument})"


def _is_drums(track) -> bool:
    inst = INSTRUMENTS.get(track.instrument)
    return bool(inst and inst.is_drums)


def _arrangement_block(project, span: float, target_seconds: float) -> str:
    tracks = list(project.tracks)
    if not any(t.clips for t in tracks):
        roll = '<p class="empty">The arrangement has no clips.</p>'
    else:
        roll = _img(_piano_roll_png(tracks, span, target_seconds), "Piano roll of the arrangement")
    rows = []
    for i, t in enumerate(tracks):
        effects = ", ".join(
            f"{e.kind}(" + ", ".join(f"{k}={v:g}" for k, v in e.params) + ")" for e in t.effects
        ) or "—"
        rows.append(
            f'<tr><td><span class="swatch" style="background:{_track_colour(i)}"></span>{_esc(t.name)}</td>'
            f"<td>{_esc(t.instrument)}</td><td>{len(t.clips)}</td><td>{t.gain_db:+.1f} dB</td>"
            f"<td>{t.pan:+.2f}</td><td>{_esc(effects)}</td></tr>"
        )
    table = ('<table class="log"><thead><tr><th>track</th><th>instrument</th><th>clips</th>'
             "<th>gain</th><th>pan</th><th>effects</th></tr></thead><tbody>"
             + ("".join(rows) or '<tr><td colspan="6" class="empty">no tracks</td></tr>')
             + "</tbody></table>")
    clip_lists = []
    for i, t in enumerate(tracks):
        if not t.clips:
            continue
        drums = _is_drums(t)
        body = "".join(
            f"<tr><td>{c.start:.3f}</td><td>{c.hold:.3f}</td><td>{c.pitch} "
            f"{_esc(GM_DRUM_NAMES.get(c.pitch, '') if drums else note_name(c.pitch))}</td>"
            f"<td>{c.gain_db:+.1f}</td><td>{_esc(c.sample)}</td></tr>"
            for c in t.clips
        )
        clip_lists.append(
            f"<details><summary>{_esc(_track_label(t))}: {len(t.clips)} clips</summary>"
            '<table class="log"><thead><tr><th>start (s)</th><th>hold (s)</th><th>note</th>'
            f"<th>gain (dB)</th><th>sample</th></tr></thead><tbody>{body}</tbody></table></details>"
        )
    meta = (f"<p>Tempo {project.tempo:g} BPM, {project.time_signature[0]}/{project.time_signature[1]}, "
            f"{project.sample_rate} Hz; arrangement ends at {project.end:.2f} s.{_bar_one(project)}</p>")
    return roll + meta + table + "".join(clip_lists)


def _bar_one(project) -> str:
    """The sessions' pickup bar and the tempo map's size, in words; empty for one tempo with bar 1
    at 0."""
    from producer.export.conductor import Conductor

    first = Conductor.of(project).changes[0]
    out = ""
    if project.downbeat > 0 and first.meter != tuple(project.time_signature):
        out += (f" The sessions open with a {first.meter[0]}/{first.meter[1]} pickup bar at {first.bpm:.2f} BPM for "
                f"the {project.downbeat:.3f} s before the first downbeat, which is bar 2 there.")
    if project.tempo_map:
        tempi = [b for _, b in project.tempo_map]
        out += (f" Tempo map: {len(tempi)} tempi from {min(tempi):.1f} to {max(tempi):.1f} BPM, changing on "
                "downbeats.")
    return out


_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")


def _track_colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _piano_roll_png(tracks, span: float, target_seconds: float) -> str:
    """The arrangement as a piano roll (melodic notes by pitch, drums by GM key below).

    Long because both panels share one figure, its colours and its time axis."""
    from matplotlib.patches import Patch, Rectangle

    melodic = [(i, t) for i, t in enumerate(tracks) if t.clips and not _is_drums(t)]
    drums = [(i, t) for i, t in enumerate(tracks) if t.clips and _is_drums(t)]
    pitches = [c.pitch for _, t in melodic for c in t.clips]
    drum_notes = sorted({c.pitch for _, t in drums for c in t.clips})
    p_low, p_high = (min(pitches) - 2, max(pitches) + 2) if pitches else (0, 0)
    melodic_rows = (p_high - p_low + 1) if melodic else 0
    # Panel heights in semitone rows; a drum row is drawn twice as tall as a semitone.
    panels = [p for p in (("melodic", max(melodic_rows, 8)) if melodic else None,
                          ("drums", 2 * max(len(drum_notes), 2)) if drums else None) if p]
    row_in = 0.14
    height = 1.3 + sum(rows for _, rows in panels) * row_in + 0.4 * len(panels)
    height = min(max(height, 3.0), 14.0)
    fig = _figure(height)
    top = 1.0 - 0.75 / height  # room for the legend above
    axes = _time_axes(fig, len(panels), [rows for _, rows in panels], bottom=0.55 / height, top=top,
                      hspace=0.08 * len(panels))
    min_width = span / 300.0  # drum hits are short: keep them visible
    for ax, (kind, _) in zip(axes, panels):
        if kind == "melodic":
            for i, t in melodic:
                for c in t.clips:
                    ax.add_patch(Rectangle((c.start, c.pitch - 0.42), max(c.hold, min_width), 0.84,
                                           facecolor=_track_colour(i), edgecolor="black",
                                           linewidth=0.4, alpha=0.85))
            ax.set_ylim(p_low - 0.5, p_high + 0.5)
            for p in range(p_low, p_high + 1):
                ax.axhline(p - 0.5, color="0.82" if p % 12 == 0 else "0.94", linewidth=0.6, zorder=0)
                if p % 12 in (1, 3, 6, 8, 10):  # black keys shaded, as in a DAW's piano roll
                    ax.axhspan(p - 0.5, p + 0.5, color="0.965", zorder=0, linewidth=0)
            step = 1 if melodic_rows <= 14 else (2 if melodic_rows <= 28 else 12)
            ticks = [p for p in range(p_low, p_high + 1) if (p % 12 == 0 if step == 12 else (p - p_low) % step == 0)]
            ax.set_yticks(ticks)
            ax.set_yticklabels([note_name(p) for p in ticks], fontsize=8)
            ax.set_ylabel("note")
        else:
            row_of = {p: r for r, p in enumerate(drum_notes)}
            for i, t in drums:
                for c in t.clips:
                    ax.add_patch(Rectangle((c.start, row_of[c.pitch] - 0.38), max(c.hold, min_width), 0.76,
                                           facecolor=_track_colour(i), edgecolor="black",
                                           linewidth=0.4, alpha=0.9))
            ax.set_ylim(-0.5, max(len(drum_notes), 2) - 0.5)
            ax.set_yticks(range(len(drum_notes)))
            ax.set_yticklabels([f"{p} {GM_DRUM_NAMES.get(p, '')}".strip() for p in drum_notes], fontsize=8)
            for r in range(len(drum_notes)):
                ax.axhline(r - 0.5, color="0.9", linewidth=0.6, zorder=0)
        ax.set_xlim(0, span)
        ax.grid(axis="x", color="0.88", zorder=0)
        ax.set_axisbelow(True)
        if 0 < target_seconds < span:
            ax.axvline(target_seconds, color="0.3", linestyle=":", linewidth=1.0)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (s)")
    handles = [Patch(facecolor=_track_colour(i), edgecolor="black", linewidth=0.4,
                     label=_mpl_text(_track_label(t))) for i, t in enumerate(tracks) if t.clips]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(TIME_LEFT, 1.0), ncols=min(len(handles), 5),
               frameon=False, fontsize=9, handlelength=1.2)
    return _png(fig)
