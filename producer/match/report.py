"""report.html for ``producer match``: before / after / reference players, spectrograms, the
loudness and brightness curves of all three, the search's progress and the chain. Returns the page
as text (``api.match`` writes it); self-contained (audio and images inline, no scripts)."""
from __future__ import annotations

import base64
import html
import io
import wave

import numpy as np

from producer.audio import resample, to_mono
from producer.match.features import FRAME_HOP, centroid_curve, loudness_curve

PREVIEW_SR = 22050
COLOURS = {"source": "#888888", "result": "#d9480f", "reference": "#1971c2"}


def _mono(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return to_mono(y) if y.ndim == 2 else y


def _wav_uri(y: np.ndarray, sr: int) -> str:
    """16-bit mono WAV preview at PREVIEW_SR as a data URI, peak-normalised only if it clips."""
    x = resample(_mono(y), sr, PREVIEW_SR)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0:
        x = x / peak
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(PREVIEW_SR)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    # no timestamp in the PNG: the same run gives the same page
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _spectrograms(signals: dict[str, np.ndarray], sr: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import spectrogram

    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.2 * len(signals)), sharex=True)
    for ax, (name, y) in zip(np.atleast_1d(axes), signals.items()):
        f, t, s = spectrogram(_mono(y), sr, nperseg=1024, noverlap=768)
        ax.pcolormesh(t, f, 10 * np.log10(s + 1e-12), shading="auto", vmin=-120, vmax=-20, cmap="magma")
        ax.set_yscale("symlog", linthresh=200)
        ax.set_ylim(30, sr / 2)
        ax.set_ylabel(f"{name}\nHz")
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return _png(fig)


def _curves(signals: dict[str, np.ndarray], sr: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 4.4), sharex=True)
    for name, y in signals.items():
        loud, cent = loudness_curve(y, sr), centroid_curve(y, sr)
        a.plot(np.arange(len(loud)) * FRAME_HOP, loud, color=COLOURS[name], lw=1, label=name)
        b.plot(np.arange(len(cent)) * FRAME_HOP, cent, color=COLOURS[name], lw=1, label=name)
    a.set_ylabel("loudness (dB, K-weighted)")
    b.set_ylabel("spectral centroid (Hz)")
    b.set_yscale("log")
    b.set_xlabel("time (s)")
    a.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _history(history: list[tuple[int, float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 2.2))
    ax.plot([h[0] for h in history], [h[1] for h in history], color=COLOURS["result"])
    ax.set_xlabel("renders")
    ax.set_ylabel("best MR-STFT")
    fig.tight_layout()
    return _png(fig)


def _chain_table(track) -> str:
    rows = [f"<tr><td>track gain</td><td>{track.gain_db:+.2f} dB</td><td>"
            + (f"{len(track.envelope('gain_db'))} breakpoints" if track.envelope("gain_db") else "") + "</td></tr>"]
    for e in track.effects:
        params = ", ".join(f"{k} {v:.4g}" for k, v in e.param_dict.items())
        auto = "; ".join(f"{k}: {len(env)} breakpoints" for k, env in e.automation)
        rows.append(f"<tr><td>{html.escape(e.kind)}</td><td>{html.escape(params)}</td><td>{html.escape(auto)}</td></tr>")
    return "<table><tr><th>stage</th><th>settings</th><th>automation</th></tr>" + "".join(rows) + "</table>"


def _figures_table(figures: dict) -> str:
    rows = []
    for name in ("unprocessed", "static", "follow", "final"):
        if name in figures:
            f = figures[name]
            rows.append(f"<tr><td>{name}</td><td>{f['mr_stft']:.4f}</td><td>{f['lufs']:.2f}</td>"
                        f"<td>{f['loudness_error_lu']:.2f}</td></tr>")
    return ("<table><tr><th>result</th><th>MR-STFT to reference</th><th>LUFS</th><th>loudness error (LU)</th></tr>"
            + "".join(rows) + "</table>"
            + f"<p>reference {figures['reference_lufs']:.2f} LUFS; loudness-envelope correlation of the result with "
              f"the reference: {figures['loudness_envelope_correlation']:.3f}</p>")


def match_report(*, source: np.ndarray, result: np.ndarray, reference: np.ndarray, sr: int, track, figures: dict,
                 history: list[tuple[int, float]], title: str, settings: dict) -> str:
    """The page as text. Audio [shape=(channels, n)] or [shape=(n,)] at ``sr``; ``result`` is cut
    to the reference's length for the plots."""
    n = np.asarray(reference).shape[-1]
    signals = {"source": np.asarray(source)[..., :n], "result": np.asarray(result)[..., :n], "reference": reference}
    players = "".join(f'<figure><figcaption>{name}</figcaption><audio controls src="{_wav_uri(y, sr)}"></audio></figure>'
                      for name, y in (("before (source)", source), ("after (mix.wav)", result), ("reference", reference)))
    settings_text = ", ".join(f"{k} {html.escape(str(v))}" for k, v in settings.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:1em auto;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:90%}}
figure{{display:inline-block;margin:0 1em 0 0}}</style></head><body>
<h1>{html.escape(title)}</h1><p>{settings_text}</p>
<h2>Listen</h2>{players}
<h2>Figures</h2>{_figures_table(figures)}
<h2>Chain</h2>{_chain_table(track)}
<h2>Spectrograms</h2>{_spectrograms(signals, sr)}
<h2>Loudness and brightness over time</h2>{_curves(signals, sr)}
<h2>Search</h2>{_history(history)}
</body></html>
"""
