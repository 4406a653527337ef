"""The tune session without a server or DawDreamer: a synthetic renderer whose sound follows the
knobs, so the session's bookkeeping (files, resume, rendering ahead) is checked exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest

from producer.project import Clip, Effect, Project, Track
from producer.tune.params import select_knobs
from producer.tune.session import SessionError, Settings, TuneSession

SR = 8000


def project() -> Project:
    return Project(sample_rate=SR, tracks=(
        Track("Lead", "piano", gain_db=-6.0, effects=(Effect.make("lowpass", cutoff_hz=1000.0),),
              clips=(Clip("piano/60", 0.0, 1.0, 60),)),))


class FakeRender:
    """A 2 s tone whose level is the track gain and whose pitch follows the cutoff."""

    def __init__(self):
        self.calls = 0

    def __call__(self, p: Project):
        self.calls += 1
        t = np.arange(2 * SR) / SR
        track = p.tracks[0]
        y = 10 ** (track.gain_db / 20) * np.sin(2 * np.pi * track.effects[0].value("cutoff_hz") / 10 * t)
        return np.stack([y, y]).astype(np.float32), SR


def open_session(folder, render, budget=10):
    p = project()
    knobs = select_knobs(p, None)
    settings = Settings("song.json", tuple(k.name for k in knobs), 1.0, 0, budget, "out")
    return TuneSession.create(folder, p, knobs, settings, render=render, save=lambda *a: folder)


def test_rendering_ahead_gives_the_same_pair_without_a_render(tmp_path):
    plain, ahead = FakeRender(), FakeRender()
    s1 = open_session(tmp_path / "plain", plain)
    s2 = open_session(tmp_path / "ahead", ahead)
    for choice in ("b", "neither", "a", "both"):
        p1, p2 = s1.pair(), s2.pair()
        assert p1 == p2
        prepared = 0
        while s2.prepare_next():
            prepared += 1
        assert 1 <= prepared <= 4  # one challenger per possible answer, fewer when they coincide
        calls = ahead.calls
        r1, r2 = s1.answer(p1["pair"], choice), s2.answer(p2["pair"], choice)
        assert ahead.calls == calls  # the next challenger was ready
        assert r1["next"] == r2["next"]
        new = r2["next"]["a"]["id"] if r2["next"]["a"]["id"] != r2["state"]["favourite"]["id"] else r2["next"]["b"]["id"]
        assert s1.audio_path(new).read_bytes() == s2.audio_path(new).read_bytes()
        # guesses that did not come true are gone; none are visible as versions
        assert [p.name for p in (tmp_path / "ahead" / "audio").glob(".*")] == []
    assert (tmp_path / "plain" / "versions.jsonl").read_text() == (tmp_path / "ahead" / "versions.jsonl").read_text()


def test_resume_replays_answers_and_ignores_a_cut_line(tmp_path):
    render = FakeRender()
    s = open_session(tmp_path / "s", render)
    for choice in ("a", "b", "both"):
        s.answer(s.pair()["pair"], choice, 5 if choice == "b" else None)
    state = s.state()
    waiting = s.pair()
    # a kill in the middle of a write leaves a cut line: it and what follows are not trusted
    with open(tmp_path / "s" / "answers.jsonl", "a") as f:
        f.write('{"pair": "p0004", "cho')
    again = TuneSession.resume(tmp_path / "s", s.settings, render=render, save=lambda *a: None)
    assert again.state()["history"] == state["history"]
    assert again.state()["favourite"] == state["favourite"]
    assert again.pair() == waiting
    with pytest.raises(SessionError, match="already answered"):
        again.answer("p0001", "a")
    again.answer(waiting["pair"], "neither")
    third = TuneSession.resume(tmp_path / "s", s.settings, render=render, save=lambda *a: None)
    assert len(third.answers) == 4 and third.state()["history"][-1]["choice"] == "neither"
    rows = [json.loads(x) for x in (tmp_path / "s" / "answers.jsonl").read_text().splitlines()]
    assert [r["rating"] for r in rows] == [None, 5, None, None]
