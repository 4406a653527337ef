import json

import pytest

from producer.errors import InputError, ProjectError
from producer.project import Clip, Effect, Project, Track, load_project


def sample_project() -> Project:
    return Project(
        tempo=100.0,
        time_signature=(3, 4),
        tracks=(
            Track("Keys", "piano", gain_db=-3.0, pan=-0.25,
                  effects=(Effect.make("reverb", room_size=0.4), Effect.make("lowpass", cutoff_hz=5000.0)),
                  clips=(Clip("piano/60", 0.5, 0.25, 60, -2.0), Clip("piano/64", 0.0, 1.0, 62))),
            Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.2, 36),)),
        ),
    )


def test_json_round_trip_is_exact(tmp_path):
    p = sample_project()
    path = tmp_path / "project.json"
    p.save(path)
    assert load_project(path) == p
    data = json.loads(path.read_text())
    assert data["format"] == "producer-project" and data["version"] == 1
    # clips are kept sorted by start so the file reads in time order
    assert [c["start"] for c in data["tracks"][0]["clips"]] == [0.0, 0.5]


def test_effect_defaults_and_edits():
    e = Effect.make("compressor", ratio=8.0)
    assert e.value("ratio") == 8.0
    assert e.value("threshold_db") == -18.0  # vocabulary default
    assert e.with_param("threshold_db", -30.0).param_dict["threshold_db"] == -30.0
    assert e.params == (("ratio", 8.0),)


def _write(tmp_path, data):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["tracks"][0]["clips"][0].update(hold=-1), r"tracks\[0\]\.clips\[\d\]\.hold: -1 is outside"),
        (lambda d: d["tracks"][0]["clips"][0].update(pich=60), r"tracks\[0\]\.clips\[0\]\.pich: unknown field"),
        (lambda d: d["tracks"][0]["clips"][0].update(pitch=128), r"pitch: 128 is outside \[0, 127\]"),
        (lambda d: d["tracks"][0]["clips"][0].update(pitch=60.5), r"pitch: expected an integer"),
        (lambda d: d["tracks"][0].update(pan=2), r"tracks\[0\]\.pan: 2 is outside"),
        (lambda d: d["tracks"][0].update(instrument="kazoo"), r"tracks\[0\]\.instrument: unknown instrument 'kazoo'"),
        (lambda d: d["tracks"][0]["effects"][0].update(type="flanger"), r"effects\[0\]\.type: unknown effect 'flanger'"),
        (lambda d: d["tracks"][0]["effects"][0]["params"].update(room_size=3), r"params\.room_size: 3 is outside"),
        (lambda d: d["tracks"][0]["effects"][0]["params"].update(size=1), r"params\.size: unknown parameter of reverb"),
        (lambda d: d.update(version=7), r"version: 7 is not supported"),
        (lambda d: d.update(tempo="fast"), r"tempo: expected a finite number"),
        (lambda d: d.update(time_signature=[4, 3]), r"time_signature"),
        (lambda d: d["tracks"][1].update(name="Keys"), r"tracks\[1\]\.name: 'Keys' is used by another track"),
        (lambda d: d["tracks"][0].pop("name"), r"tracks\[0\]\.name: missing field"),
    ],
)
def test_loading_names_the_bad_field(tmp_path, mutate, message):
    data = sample_project().to_dict()
    mutate(data)
    with pytest.raises(ProjectError, match=message):
        load_project(_write(tmp_path, data))


def test_invalid_json_and_missing_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{\n  \"format\": ")
    with pytest.raises(ProjectError, match=r"invalid JSON at line 2"):
        load_project(path)
    with pytest.raises(InputError, match="no such file"):
        load_project(tmp_path / "missing.json")


def test_edits_branch_without_touching_the_original():
    p = sample_project()
    t = p.tracks[1].with_clip(Clip("drums/kick", 1.0, 0.2, 36))
    q = p.replace_track(1, t)
    assert len(p.tracks[1].clips) == 1 and len(q.tracks[1].clips) == 2
    assert q.tracks[0] is p.tracks[0]  # untouched tracks are shared, so their stems stay cached
    assert hash(q.tracks[0]) == hash(p.tracks[0])
