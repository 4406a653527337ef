"""report.html: built from a synthetic Render (sines) and a small Project, then parsed back."""
from __future__ import annotations

import base64
import io
import wave
from html.parser import HTMLParser

import numpy as np
import pytest

from producer.export.report import ReportData, write_report
from producer.export.report.page import PREVIEW_SR
from producer.project import Clip, Project, Track
from producer.render.engine import Render

SR = 44100
SCRIPT_NAME = "Keys <script>alert(1)</script>"


class Page(HTMLParser):
    """Collects what the tests look at: images, audio sources, text, tables, external refs."""

    def __init__(self):
        super().__init__()
        self.images: list[tuple[str, str]] = []  # (src, alt)
        self.audio: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.external: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append((a.get("src", ""), a.get("alt", "")))
        if tag == "audio":
            self.audio.append(a.get("src", ""))
        if tag == "table":
            self.tables += 1
        for key in ("src", "href"):
            v = a.get(key)
            if v and not v.startswith("data:"):
                self.external.append(v)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


def _sine(freq: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _fixture(seconds: float = 6.0):
    project = Project(tracks=(
        Track(SCRIPT_NAME, "piano", clips=tuple(Clip(f"piano/{60 + i}", i * 0.5, 0.4, 60 + (i % 5)) for i in range(10))),
        Track("Bass & co", "bass", pan=-0.3, clips=(Clip("bass/40", 0.0, 2.0, 40), Clip("bass/43", 2.0, 2.0, 43))),
        Track("Kit", "drums", clips=tuple(Clip("drums/kick" if i % 2 == 0 else "drums/snare", i * 0.5, 0.1,
                                               36 if i % 2 == 0 else 38) for i in range(12))),
    ))
    stems = [np.stack([_sine(f, seconds)] * 2) for f in (261.6, 110.0, 60.0)]
    mix = np.sum(stems, axis=0, dtype=np.float32)
    render = Render(mix=mix, stems=stems, sr=SR, track_names=[t.name for t in project.tracks])
    target = (_sine(261.6, seconds) + _sine(110.0, seconds, 0.2))[None, :].repeat(2, axis=0)
    n_windows = int(seconds - 3.0) + 1
    rewards = [0.25 + 0.1 * i for i in range(n_windows)]
    history = [(0.5, 10, 0.3), (1.25, 40, 0.55), (2.0, 95, 0.6125)]
    log = [{"iteration": i, "action": f"insert piano/{60 + i} <b>", "reward": 0.1 * i} for i in range(30)]
    log.append({"iteration": 30, "action": "finish", "reward": None, "note": {"track": 0, "why": "end"}})
    return dict(target=target, target_sr=SR, render=render, project=project, windows_reward=rewards,
                history=history, log=log, window_seconds=3.0, hop_seconds=1.0)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    kwargs = _fixture()
    write_report(path, ReportData(title="Song <1> & \"2\"", **kwargs))
    raw = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(raw)
    return raw, page, kwargs


def _decode(src: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert src.startswith(prefix), src[:40]
    return base64.b64decode(src[len(prefix):], validate=True)


def test_images_are_pngs_one_per_plot(report):
    raw, page, _ = report
    # waveforms, spectrograms, reward per window, best reward over time, piano roll
    assert len(page.images) == 5
    for src, alt in page.images:
        png = _decode(src, "image/png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png[16:20], "big")
        height = int.from_bytes(png[20:24], "big")
        assert width == 1200 and 150 < height < 1500, (alt, width, height)
        assert alt


def test_audio_players_hold_the_target_and_the_recreation(report):
    _, page, kwargs = report
    assert len(page.audio) == 2
    decoded = []
    for src in page.audio:
        with wave.open(io.BytesIO(_decode(src, "audio/wav"))) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, PREVIEW_SR)
            frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32767
            decoded.append(frames)
    target, recreation = decoded
    assert len(target) == pytest.approx(6.0 * PREVIEW_SR, abs=2)
    # The target is 0.3 + 0.2 amplitude sines at 261.6 and 110 Hz (mono of identical channels).
    spectrum = np.abs(np.fft.rfft(target))
    freqs = np.fft.rfftfreq(len(target), 1 / PREVIEW_SR)
    top_two = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert top_two == pytest.approx([110.0, 261.6], abs=0.5)
    assert np.max(np.abs(recreation)) == pytest.approx(0.9, abs=0.02)


def test_user_strings_are_escaped(report):
    raw, page, _ = report
    assert "<script" not in raw.lower()
    assert "<b>" not in raw
    assert "Keys &lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "Song &lt;1&gt; &amp; &quot;2&quot;" in raw
    assert "Bass &amp; co" in raw
    # The parser sees the names as text, and the page has no script element at all.
    assert SCRIPT_NAME in page.all_text
    assert "script" not in page.tags


def test_rewards_and_history_figures_are_on_the_page(report):
    _, page, kwargs = report
    text = page.all_text
    rewards = kwargs["windows_reward"]
    assert len(rewards) == 4
    assert f"{np.mean(rewards):.4f}" in text  # mean window reward, 0.4000
    for r in rewards:
        assert f"{r:.4f}" in text  # each window's reward in the folded table
    assert "0.6125" in text  # best reward, from the history
    assert "95 evaluations" in text


def test_window_bars_follow_the_analysis_windows(tmp_path):
    """A preset with 5 s windows 2 s apart: the table names the windows the analysis used."""
    kwargs = _fixture(seconds=9.0)
    kwargs.update(windows_reward=[0.5, 0.6, 0.7], window_seconds=5.0, hop_seconds=2.0)
    path = tmp_path / "report.html"
    write_report(path, ReportData(**kwargs))
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    text = page.all_text
    assert "0–5 s" in text and "2–7 s" in text and "4–9 s" in text
    assert "3–6 s" not in text


def test_arrangement_and_search_log_tables(report):
    _, page, _ = report
    text = page.all_text
    for name in ("piano", "bass", "drums", "Kit", "Bass & co"):
        assert name in text
    assert "36 Bass Drum 1" in text and "38 Acoustic Snare" in text  # drums by GM note
    assert "C4" in text  # melodic clips by note name
    assert "31 entries." in text
    assert "insert piano/69 <b>" in text  # best by reward, shown as text
    assert "track=0, why=end" in text  # a dict cell, flattened
    assert "note" in text  # a key only one entry has still gets a column


def test_self_contained(report):
    raw, page, _ = report
    assert page.external == []
    assert "http://" not in raw and "https://" not in raw
    assert "<link" not in raw


def test_same_inputs_give_the_same_file(tmp_path):
    kwargs = _fixture(seconds=4.0)
    write_report(tmp_path / "a.html", ReportData(**kwargs))
    write_report(tmp_path / "b.html", ReportData(**kwargs))
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_sparse_inputs_still_give_a_page(tmp_path):
    """Mono target, empty project and render, no rewards, history or log: a page, no plots of nothing."""
    path = tmp_path / "report.html"
    render = Render(mix=np.zeros((2, 0), np.float32), stems=[], sr=SR, track_names=[])
    write_report(path, ReportData(target=_sine(440.0, 1.0), target_sr=SR, render=render, project=Project(),
                                  windows_reward=[], history=[], log=[], window_seconds=3.0, hop_seconds=1.0))
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert len(page.images) == 2  # waveforms and spectrograms (the target alone)
    assert page.audio == [page.audio[0]] and page.audio[0].startswith("data:audio/wav;base64,")
    text = page.all_text
    for phrase in ("No window rewards", "No search history", "no clips", "search log is empty", "no audio"):
        assert phrase in text


def test_target_at_another_rate_is_resampled_and_arrays_are_channels_first(tmp_path):
    """A 22.05 kHz stereo target [shape=(2, n)] is understood; (n, channels), as soundfile reads
    it, is refused instead of guessed at."""
    kwargs = _fixture(seconds=4.0)
    t = np.arange(4 * 22050) / 22050
    kwargs["target"] = np.stack([0.5 * np.sin(2 * np.pi * 330 * t)] * 2).astype(np.float32)
    kwargs["target_sr"] = 22050
    path = tmp_path / "report.html"
    write_report(path, ReportData(**kwargs))
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    with wave.open(io.BytesIO(_decode(page.audio[0], "audio/wav"))) as w:
        assert w.getnframes() == 4 * PREVIEW_SR
    assert "4.00 s at 22050 Hz" in page.all_text
    kwargs["target"] = kwargs["target"].T
    with pytest.raises(ValueError, match="must be .channels, n."):
        write_report(tmp_path / "other.html", ReportData(**kwargs))
