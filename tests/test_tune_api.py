"""`producer tune`: the JSON API against a real server started in-process on a free loopback port,
through ``producer.api.tune`` (the command's own path)."""
from __future__ import annotations

import http.client
import io
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from producer import api
from producer.cli import main
from producer.errors import InputError
from producer.project import Clip, Effect, Project, Track, load_project


def write_project(folder: Path) -> Path:
    """Two clips of the shipped pack, one effect: three knobs (two track gains, the cutoff, q)."""
    project = Project(tempo=120.0, tracks=(
        Track("Keys", "piano", gain_db=-6.0, effects=(Effect.make("lowpass", cutoff_hz=2000.0),),
              clips=(Clip("piano/G4", 0.0, 0.6, 67), Clip("piano/B4", 0.8, 0.6, 71))),
        Track("Kit", "drums", gain_db=-8.0, clips=(Clip("drums/kick", 0.0, 0.2, 36),)),
    ))
    path = folder / "song.json"
    project.save(path)
    return path


class Client:
    """HTTP requests to a running session's server."""

    def __init__(self, server):
        self.server = server
        self.port = server.server_address[1]

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type", "")
        return resp.status, (json.loads(payload) if ctype.startswith("application/json") else payload)


def tune_with(client, **kwargs):
    """Run ``api.tune`` on this thread (DawDreamer renders on one thread only) and ``client(Client)``
    on another; the client's end stops the server. Returns (summary, what the client returned)."""
    box = {}

    def on_ready(server):
        def run():
            try:
                box["value"] = client(Client(server))
            except BaseException as exc:  # re-raised below, on the test's thread
                box["error"] = exc
            finally:
                server.stop()

        threading.Thread(target=run, daemon=True).start()

    summary = api.tune(on_ready=on_ready, **kwargs)
    if "error" in box:
        raise box["error"]
    return summary, box.get("value")


@pytest.fixture
def song(tmp_path):
    return write_project(tmp_path)


def _tune(song, tmp_path, client, **kw):
    args = dict(project_path=song, out=tmp_path / "tuned", port=0, seconds=2.0, budget=6)
    args.update(kw)
    return tune_with(client, **args)


def test_pair_answer_state_save_and_resume(song, tmp_path):
    session = tmp_path / "tuned.tune-session"
    out = tmp_path / "tuned"

    def first(run):
        status, pair = run.request("GET", "/api/pair")
        assert status == 200 and pair["pair"] == "p0001" and pair["number"] == 1
        assert "v0000" in (pair["a"]["id"], pair["b"]["id"])  # the project as given is the first favourite
        for side in ("a", "b"):
            status, wav = run.request("GET", pair[side]["audio"])
            assert status == 200
            y, sr = sf.read(io.BytesIO(wav), always_2d=True)
            # the passage (here the whole 1.4 s song) + 1 s of tail, the same for every version
            assert sr == 44100 and y.shape[1] == 2 and len(y) == round((1.4 + 1.0) * sr)
            assert np.max(np.abs(y)) > 0.01
        status, state = run.request("GET", "/api/state")
        assert status == 200 and state["answers"] == 0 and state["favourite"]["id"] == "v0000"
        assert [k["name"] for k in state["knobs"]] == ["Keys:gain_db", "Keys:lowpass.cutoff_hz", "Keys:lowpass.q",
                                                       "Kit:gain_db"]

        # Choosing the challenger makes it the favourite.
        side = "b" if pair["a"]["id"] == "v0000" else "a"
        challenger = pair[side]["id"]
        status, result = run.request("POST", "/api/answer", {"pair": pair["pair"], "choice": side, "rating": 4})
        assert status == 200
        assert result["state"]["favourite"]["id"] == challenger
        assert result["state"]["history"][0] == {"pair": "p0001", "a": pair["a"]["id"], "b": pair["b"]["id"],
                                                 "choice": side, "rating": 4, "favourite": challenger}
        assert 0.0 < result["state"]["certainty"]["p_best"] <= 1.0
        nxt = result["next"]
        assert nxt["pair"] == "p0002" and challenger in (nxt["a"]["id"], nxt["b"]["id"])
        assert run.request("GET", "/api/pair") == (200, nxt)

        # "neither" is taken; the answers are on disk as they happen.
        status, result = run.request("POST", "/api/answer", {"pair": "p0002", "choice": "neither"})
        assert status == 200
        lines = (session / "answers.jsonl").read_text().splitlines()
        assert [json.loads(x)["choice"] for x in lines] == [side, "neither"]
        favourite = result["state"]["favourite"]["id"]
        values = result["state"]["favourite"]["values"]

        status, saved = run.request("POST", "/api/save", {})
        assert status == 200 and saved["favourite"] == favourite
        for name in ("mix.wav", "project.json", "arrangement.mid", "session.rpp", "session.dawproject", "tune.json"):
            assert (out / name).is_file(), name
        assert sorted(p.name for p in (out / "stems").iterdir()) == ["01_Keys.wav", "02_Kit.wav"]
        written = load_project(out / "project.json")
        assert written.tracks[0].gain_db == pytest.approx(values["Keys:gain_db"])
        assert written.tracks[0].effects[0].value("cutoff_hz") == pytest.approx(values["Keys:lowpass.cutoff_hz"])
        assert len(written.tracks[0].clips) == 2  # the whole project is saved, not only the passage
        # a second save replaces the folder this session wrote
        status, saved2 = run.request("POST", "/api/save")
        assert status == 200 and Path(saved2["saved"]).name == "tuned"
        return result

    summary, result = _tune(song, tmp_path, first)
    favourite = result["state"]["favourite"]["id"]
    assert summary.answers == 2 and summary.favourite == favourite and len(summary.saved) == 2

    # Resume: same favourite and history, the pair that was waiting is waiting, and it goes on.
    def resumed(run):
        status, state = run.request("GET", "/api/state")
        assert state["answers"] == 2 and state["favourite"]["id"] == favourite
        assert state["history"] == result["state"]["history"]
        status, pair = run.request("GET", "/api/pair")
        assert pair == result["next"]
        status, after = run.request("POST", "/api/answer", {"pair": pair["pair"], "choice": "both"})
        assert status == 200 and after["state"]["answers"] == 3

    tune_with(resumed, project_path=None, out=None, resume=session, port=0)
    assert len((session / "answers.jsonl").read_text().splitlines()) == 3


def test_same_answers_same_pairs(song, tmp_path):
    """The session is deterministic: same seed and answers -> same versions and pairs."""
    def client(run):
        seen = []
        for _ in range(3):
            _, p = run.request("GET", "/api/pair")
            seen.append((p["a"]["id"], p["b"]["id"]))
            run.request("POST", "/api/answer", {"pair": p["pair"], "choice": "a"})
        return seen

    _, first = _tune(song, tmp_path, client, out=tmp_path / "t0")
    _, second = _tune(song, tmp_path, client, out=tmp_path / "t1")
    assert first == second and len(set(first)) == 3
    versions = [(tmp_path / f"t{k}.tune-session" / "versions.jsonl").read_text() for k in (0, 1)]
    assert versions[0] == versions[1]


def test_bad_requests_are_4xx_and_change_nothing(song, tmp_path):
    session = tmp_path / "tuned.tune-session"

    def client(run):
        _, pair = run.request("GET", "/api/pair")
        # The session's record; the hidden .next-* files are the render thread's guesses of the
        # next challenger, made while the listener listens, whatever the requests do.
        def record():
            return {p.name: p.read_bytes() for p in session.rglob("*") if p.is_file() and not p.name.startswith(".")}

        before = record()
        bad = [
            ("POST", "/api/answer", {"pair": "p0099", "choice": "a"}, 404, "unknown"),
            ("POST", "/api/answer", {"pair": "../../etc", "choice": "a"}, 400, "pair id"),
            ("POST", "/api/answer", {"pair": pair["pair"], "choice": "c"}, 400, "choice"),
            ("POST", "/api/answer", {"pair": pair["pair"], "choice": "a", "rating": 9}, 400, "rating"),
            ("POST", "/api/answer", {"pair": pair["pair"], "choice": "a", "extra": 1}, 400, "unknown field"),
            ("POST", "/api/answer", {"choice": "a"}, 400, "missing field 'pair'"),
            ("POST", "/api/answer", ["a"], 400, "JSON object"),
            ("POST", "/api/nothing", {}, 404, "no such API endpoint"),
            ("GET", "/api/nothing", None, 404, "no such API endpoint"),
            ("GET", "/audio/v9999.wav", None, 404, "no audio"),
            ("GET", "/audio/../session.json", None, 404, "not found"),
            ("GET", "/audio/%2e%2e/session.json", None, 404, "not found"),
            ("GET", "/audio/..%2fsession.json", None, 404, "not found"),
            ("GET", "/static/../session.py", None, 404, "not found"),
            ("GET", "/project.json", None, 404, "not found"),
        ]
        for method, path, body, status, message in bad:
            got, data = run.request(method, path, body)
            assert got == status and message in data["error"], (path, body, got, data)
        got, data = run.request("POST", "/api/answer", raw=b"{not json")
        assert got == 400 and "not valid JSON" in data["error"]
        got, data = run.request("POST", "/api/answer", raw=b"x" * 100_000)
        assert got == 413 and "over the limit" in data["error"]
        got, data = run.request("POST", "/api/save", raw=b'{"x": 1}')
        assert got == 400
        assert record() == before and not (tmp_path / "tuned").exists()

        # An answered pair cannot be answered again; a spent budget says so.
        assert run.request("POST", "/api/answer", {"pair": pair["pair"], "choice": "a"})[0] == 200
        got, data = run.request("POST", "/api/answer", {"pair": pair["pair"], "choice": "b"})
        assert got == 409 and "already answered" in data["error"]
        _, pair2 = run.request("GET", "/api/pair")
        assert run.request("POST", "/api/answer", {"pair": pair2["pair"], "choice": "both"})[0] == 200
        got, data = run.request("GET", "/api/pair")
        assert got == 409 and "budget of 2 answers is spent" in data["error"]

    _tune(song, tmp_path, client, budget=2)
    assert len((session / "answers.jsonl").read_text().splitlines()) == 2


def test_audio_byte_ranges(song, tmp_path):
    def client(run):
        _, pair = run.request("GET", "/api/pair")
        _, whole = run.request("GET", pair["a"]["audio"])
        got, part = run.request("GET", pair["a"]["audio"], headers={"Range": "bytes=10-19"})
        assert got == 206 and part == whole[10:20]

    _tune(song, tmp_path, client)


def test_page_and_its_files_are_served_locally(song, tmp_path):
    def client(run):
        status, page = run.request("GET", "/")
        text = page.decode()
        assert status == 200 and "/static/tune.js" in text and "/static/tune.css" in text
        assert "http://" not in text and "https://" not in text  # nothing from the network
        for path in ("/static/tune.js", "/static/tune.css"):
            status, body = run.request("GET", path)
            assert status == 200 and b"http" not in body

    _tune(song, tmp_path, client)


def test_bad_input_exits_2_and_writes_nothing(song, tmp_path, capsys):
    out = tmp_path / "tuned"

    def fails(args, message):
        assert main(["tune", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err

    fails([str(tmp_path / "nope.json"), "--out", str(out), "--port", "0"], "no such file")
    fails([str(song), "--out", str(out), "--params", "Bass:*", "--port", "0"], "matches no parameter")
    fails([str(song), "--out", str(out), "--budget", "0", "--port", "0"], "--budget")
    fails([str(song), "--port", "0"], "--out")
    fails(["--resume", str(tmp_path), "--port", "0"], "not a tune session folder")
    # a port in use: one line, exit 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fails([str(song), "--out", str(out), "--port", str(port)], "already in use")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.json"]
    # a session folder in the way is not overwritten
    (tmp_path / "tuned.tune-session").mkdir()
    (tmp_path / "tuned.tune-session" / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="continue it with --resume"):
        api.tune(song, out, port=0)
    assert [p.name for p in (tmp_path / "tuned.tune-session").iterdir()] == ["mine.txt"]


def test_params_select_knobs(song, tmp_path):
    def client(run):
        _, state = run.request("GET", "/api/state")
        return state["knobs"]

    _, knobs = _tune(song, tmp_path, client, params="*:lowpass.*")
    assert [k["name"] for k in knobs] == ["Keys:lowpass.cutoff_hz", "Keys:lowpass.q"]
    assert knobs[0]["log"] is True and knobs[1]["log"] is True
