"""`producer live`: file takes, the saved automation, the OSC server, Ctrl-C and bad input."""
from __future__ import annotations

import csv
import json
import logging
import threading
import time

import numpy as np
import pytest

from producer.agent.features import SR
from producer.audio import load_audio, write_audio
from test_agent import _noise, _tone, _untrained


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("policies")
    return {"cross": _untrained(folder, "cross"), "imitate": _untrained(folder, "imitate", "fm")}


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "in" / "source.wav"
    src.parent.mkdir()
    write_audio(src, _tone(220.0, 1.0, 0.3) + _noise(1.0, 0.05), SR, subtype="FLOAT")
    ctrl = tmp_path / "in" / "control.wav"
    env = (np.arange(SR) % (SR // 4) < 3000).astype(float)
    write_audio(ctrl, _noise(1.0, 0.4, seed=9) * env, SR, subtype="FLOAT")
    return src, ctrl


@pytest.mark.parametrize("block", [256, 500])
def test_cross_take_equals_the_render_of_its_project(tmp_path, files, policies, block):
    """The take written live against producer's own renderer playing the saved project.json."""
    from producer import api
    from producer.project import load_project
    from producer.render.engine import render_project

    src, ctrl = files
    s = api.live(src, tmp_path / "take", policy=str(policies["cross"]), control=ctrl, mapping="duck", block=block)
    assert s.task == "cross" and s.blocks == -(-SR // block) and not s.interrupted
    for name in ("live.wav", "source.wav", "project.json", "trajectory.csv", "live.json"):
        assert (s.out / name).is_file(), name
    live, _ = load_audio(s.out / "live.wav")
    project = load_project(s.out / "project.json")
    track = project.tracks[0]
    gain, cutoff = track.envelope("gain_db"), track.effects[0].envelope("cutoff_hz")
    assert len(gain) == len(cutoff) == s.blocks + 1 and track.effects[0].kind == "lowpass"
    values = np.array([v for _, v in gain])
    assert np.ptp(values) > 1.0  # the policy moved the gain: the null test is not of a constant
    rendered = render_project(project, base_dir=s.out).mix[:, :live.shape[1]]
    err_db = 20 * np.log10(np.max(np.abs(rendered - live)) / np.max(np.abs(live)))
    print(f"live vs render of project.json: {err_db:.1f} dB")
    assert err_db < -60, err_db
    rows = list(csv.DictReader(open(s.out / "trajectory.csv")))
    assert len(rows) == s.blocks and float(rows[3]["gain_db"]) == pytest.approx(gain[4][1], rel=1e-5)
    info = json.loads((s.out / "live.json").read_text())
    assert info["mapping"] == "duck" and info["block"] == block


def test_imitation_take_writes_the_synth(tmp_path, files, policies):
    from producer import api

    s = api.live(files[0], tmp_path / "imitate", policy=str(policies["imitate"]))
    y, sr = load_audio(s.out / "synth.wav")
    assert s.task == "imitate" and y.shape[1] == s.blocks * 512 and np.max(np.abs(y)) > 0
    assert not (s.out / "project.json").exists()


def test_ctrl_c_keeps_what_was_played(tmp_path, files, policies, monkeypatch):
    from producer import api
    from producer.agent import stream

    real = stream.file_blocks

    def interrupted(*signals, block):
        for k, b in enumerate(real(*signals, block=block)):
            if k == 7:
                raise KeyboardInterrupt
            yield b

    monkeypatch.setattr(stream, "file_blocks", interrupted)
    s = api.live(files[0], tmp_path / "cut", policy=str(policies["cross"]))
    assert s.interrupted and s.blocks == 7 and s.ended_by == "Ctrl-C"
    assert load_audio(s.out / "live.wav")[0].shape[1] == 7 * 512


def _serve(tmp_path, policy, **kw):
    """Run `live osc:` in a thread; returns (thread, result dict, port)."""
    from producer import api

    ready, result = threading.Event(), {}

    def on_ready(port):
        result["port"] = port
        ready.set()

    def target():
        try:
            result["summary"] = api.live("osc:", tmp_path / "osc-take", policy=str(policy), osc_in=0,
                                         on_ready=on_ready, **kw)
        except BaseException as exc:  # surfaced by the test
            result["error"] = exc
            ready.set()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    assert ready.wait(30), "server did not start"
    assert "error" not in result, result.get("error")
    return t, result


def test_osc_features_in_parameters_out_bad_messages_ignored(tmp_path, policies, caplog):
    from pythonosc.osc_message import OscMessage
    from pythonosc.udp_client import SimpleUDPClient

    caplog.set_level(logging.WARNING, logger="producer.agent.osc")
    t, result = _serve(tmp_path, policies["cross"], idle_timeout=10.0)
    client = SimpleUDPClient("127.0.0.1", result["port"])
    feats = [-20.0, 11.0, 10.0, -10.0, -25.0, 10.5, 9.5, -20.0]
    replies = []
    for k in range(5):
        client.send_message("/producer/features", feats)
        got = {}
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:  # params + one message per parameter
            data = client.receive(timeout=1.0)
            if data:
                m = OscMessage(data)
                got[m.address] = m.params
        replies.append(got)
    for k, got in enumerate(replies):
        assert got["/producer/params"][0] == k and len(got["/producer/params"]) == 3
        assert got["/producer/param/gain_db"][0] == pytest.approx(got["/producer/params"][1])
        assert 100.0 <= got["/producer/param/cutoff_hz"][0] <= 18000.0
    client.send_message("/producer/nonsense", [1.0])  # wrong address
    client.send_message("/producer/features", feats[:5])  # wrong length
    client.send_message("/producer/features", ["loud"] * 8)  # wrong types
    client._sock.sendto(b"not osc at all", ("127.0.0.1", result["port"]))  # not a packet
    client.send_message("/producer/stop", [])
    t.join(15)
    assert not t.is_alive()
    s = result["summary"]
    assert s.blocks == 5 and s.osc_ignored == 4 and s.ended_by == "/producer/stop"
    assert sum("ignored" in r.getMessage() for r in caplog.records) == 4
    rows = list(csv.DictReader(open(s.out / "trajectory.csv")))
    assert [int(r["block"]) for r in rows] == list(range(5))


def test_osc_stream_that_stops_ends_the_take(tmp_path, policies):
    from pythonosc.udp_client import SimpleUDPClient

    t, result = _serve(tmp_path, policies["imitate"], idle_timeout=0.5)
    client = SimpleUDPClient("127.0.0.1", result["port"])
    for _ in range(3):
        client.send_message("/producer/features", [-20.0, 9.0, 8.0, -60.0])
    t.join(20)  # no stop message: the idle timeout must end it
    assert not t.is_alive()
    s = result["summary"]
    assert s.blocks == 3 and s.ended_by.startswith("no OSC message")
    assert load_audio(s.out / "synth.wav")[0].shape[1] == 3 * 512


@pytest.mark.parametrize("argv, message", [
    (["--block", "32"], "--block 32"),
    (["--block", "100000"], "--block 100000"),
    (["--osc-in", "9000"], "--osc-in is for INPUT osc:"),
    (["--osc-out", "nohost"], "--osc-out"),
    (["--mapping", "duck", "--policy", "IMITATE"], "need a cross-adaptive one"),
    (["--policy", "no-such-policy"], "--policy no-such-policy"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, files, policies, capsys, argv, message):
    from producer.cli import main

    argv = [str(policies["imitate"]) if a == "IMITATE" else a for a in argv]
    out = tmp_path / "never"
    assert main(["live", str(files[0]), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_osc_input_needs_a_port_and_eval_refuses_the_other_task(tmp_path, policies, capsys):
    from producer.cli import main

    assert main(["live", "osc:", "--out", str(tmp_path / "x")]) == 2
    assert "needs --osc-in" in capsys.readouterr().err
    assert main(["agent", "eval", "--task", "cross", "--policy", str(policies["imitate"])]) == 2
    err = capsys.readouterr().err.strip()
    assert "trained for the 'imitate' task" in err and len(err.splitlines()) == 1


def test_default_shipped_policy_runs_a_file_with_no_other_option(tmp_path, files, capsys):
    from producer.agent.policies import DEFAULT_POLICY, shipped_policies
    from producer.cli import main

    assert DEFAULT_POLICY in shipped_policies()
    out = tmp_path / "default"
    assert main(["live", str(files[0]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{DEFAULT_POLICY} (cross)" in printed and (out / "project.json").is_file()
    info = json.loads((out / "live.json").read_text())
    assert info["policy"] == DEFAULT_POLICY and info["mapping"] == "duck" and info["blocks"] == -(-SR // 512)
