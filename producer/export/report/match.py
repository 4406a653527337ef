"""``report.html`` for ``producer match``: before / after / reference players, the figures, the
chain, the three spectrograms, their loudness and brightness over time and the search's progress.

Built from the recreate report's parts (previews and WAV players, log-frequency spectrograms on
the shared framing, the page and its styles), so both pages look and encode alike; self-contained
(audio and images inline, no script) and the same result gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from producer.export.report.figures import _best_so_far_png, _figure, _png, _spectrograms_png, _time_axes
from producer.export.report.listen import _duration, _players, _preview
from producer.export.report.page import (_PAGE, RENDER_COLOUR, SOURCE_COLOUR, TARGET_COLOUR, _esc, _img,
                                         _section, _stats)


@dataclass(frozen=True)
class MatchReportData:
    """Everything the match page shows, as one value.

    source, result, reference : np.ndarray [shape=(channels, n) or (n,)] float at ``sr`` Hz: the
        unprocessed source, the result (``mix.wav``) and the reference. Played whole; drawn over
        the reference's length.
    track : producer.project.Track, the source's track with the chain, gain and automation found.
    figures : ``producer.match`` figures (MR-STFT and loudness of the unprocessed, static, follow and
        final results, the reference's loudness, the loudness-envelope correlation).
    history : [(renders, best MR-STFT so far)], in order.
    curves : {"source" | "result" | "reference": (loudness dB, spectral centroid Hz)}, frame k at
        ``k * curve_hop`` s (what follow mode matches), over the reference's length.
    settings : the run's settings, shown at the top.
    """
    source: object
    result: object
    reference: object
    sr: int
    track: object
    figures: dict
    history: tuple = ()
    curves: dict = field(default_factory=dict)
    curve_hop: float = 0.01
    title: str = "producer match"
    settings: dict = field(default_factory=dict)


ROWS = (("source", "Before (source)", SOURCE_COLOUR), ("result", "After (mix.wav)", RENDER_COLOUR),
        ("reference", "Reference", TARGET_COLOUR))


def write_match_report(path, data: MatchReportData) -> None:
    """Write the match page for ``data`` to ``path``."""
    audio = {"source": data.source, "result": data.result, "reference": data.reference}
    previews = {name: _preview(y, data.sr) for name, y in audio.items()}
    span = max(_duration(data.reference, data.sr), 1e-3)
    shown = len(previews["reference"])
    parts = [
        _stats([(k, v) for k, v in data.settings.items()]),
        _section("Listen", _players([(label, previews[name], colour) for name, label, colour in ROWS],
                                    "Previews are mono at 22.05 kHz; the full-quality result is "
                                    "<code>mix.wav</code> beside this report.")),
        _section("Figures", _figures_table(data.figures)),
        _section("Chain", _chain_table(data.track)),
        _section("Spectrograms", _img(_spectrograms_png(
            [(label, colour, previews[name][:shown]) for name, label, colour in ROWS], span),
            "Log-frequency spectrograms of the source, the result and the reference")),
        _section("Loudness and brightness over time", _img(_curves_png(data.curves, data.curve_hop, span),
                                                            "Loudness and spectral centroid over time")),
        _section("Search", _search_block(list(data.history))),
    ]
    page = _PAGE.format(title=_esc(data.title), body="\n".join(parts))
    Path(path).write_text(page, encoding="utf-8")


def _figures_table(figures: dict) -> str:
    rows = "".join(
        f"<tr><td>{name}</td><td>{f['mr_stft']:.4f}</td><td>{f['lufs']:.2f}</td><td>{f['loudness_error_lu']:.2f}</td></tr>"
        for name, f in ((n, figures[n]) for n in ("unprocessed", "static", "follow", "final") if n in figures))
    return ('<table class="log"><thead><tr><th>result</th><th>MR-STFT to reference</th><th>LUFS</th>'
            f"<th>loudness error (LU)</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>Reference {figures['reference_lufs']:.2f} LUFS; loudness-envelope correlation of the result "
            f"with the reference: {figures['loudness_envelope_correlation']:.3f}.</p>")


def _chain_table(track) -> str:
    gain = track.envelope("gain_db")
    rows = [f"<tr><td>track gain</td><td>{track.gain_db:+.2f} dB</td><td>"
            + (f"{len(gain)} breakpoints" if gain else "") + "</td></tr>"]
    for e in track.effects:
        params = ", ".join(f"{k} {v:.4g}" for k, v in e.param_dict.items())
        auto = "; ".join(f"{k}: {len(env)} breakpoints" for k, env in e.automation)
        rows.append(f"<tr><td>{_esc(e.kind)}</td><td>{_esc(params)}</td><td>{_esc(auto)}</td></tr>")
    return ('<table class="log"><thead><tr><th>stage</th><th>settings</th><th>automation</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _curves_png(curves: dict, hop: float, span: float) -> str:
    """Loudness (top) and spectral centroid (bottom, log Hz) of each signal on the page's time axis."""
    fig = _figure(4.4)
    loud_ax, cent_ax = _time_axes(fig, 2, top=0.93, bottom=0.12)
    for name, label, colour in ROWS:
        if name not in curves:
            continue
        loudness, centroid = (np.asarray(c, dtype=float) for c in curves[name])
        loud_ax.plot(np.arange(len(loudness)) * hop, loudness, color=colour, linewidth=1, label=label)
        # A silent frame has no centroid (0 Hz): left out of the log axis rather than drawn at its floor.
        cent_ax.plot(np.arange(len(centroid)) * hop, np.where(centroid > 0, centroid, np.nan), color=colour,
                     linewidth=1)
    loud_ax.set_ylabel("loudness (dB, K-weighted)")
    cent_ax.set_ylabel("spectral centroid (Hz)")
    cent_ax.set_yscale("log")
    cent_ax.set_xlabel("time (s)")
    cent_ax.set_xlim(0, span)
    loud_ax.tick_params(labelbottom=False)
    if curves:
        loud_ax.legend(loc="upper right", fontsize=8)
    for ax in (loud_ax, cent_ax):
        ax.grid(axis="x", color="0.9")
    return _png(fig)


def _search_block(history: list) -> str:
    if not history:
        return '<p class="empty">No search history was recorded.</p>'
    png = _best_so_far_png(history, xlabel="renders", ylabel="best MR-STFT")
    renders, best = history[-1]
    return (_img(png, "Best MR-STFT distance against renders")
            + f"<p>The static search's best MR-STFT so far, render by render: <b>{best:.4f}</b> after {renders} "
            "renders (scored while searching; the figures above measure the chain as written).</p>")
