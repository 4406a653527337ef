"""REAPER .rpp export, parsed back with the module's reader."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from producer.export.clips import collect_clips
from producer.export.rpp import fx_name, parse_rpp, write_rpp
from producer.project import Clip, Effect, Project, Track
from producer.render.engine import Renderer


def song() -> Project:
    return Project(sample_rate=48000, tempo=128.0, tracks=(
        Track('Lead "hot"', "piano", gain_db=-3.0, pan=0.25,
              effects=(Effect.make("low_shelf", gain_db=3.0), Effect.make("delay", time_ms=300.0), Effect.make("distortion")),
              clips=(Clip("piano/72", 0.5, 0.25, 72), Clip("piano/72", 0.123457, 0.25, 74, gain_db=-1.5))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.1, 36), Clip("drums/hihat_closed", 0.25, 0.05, 42))),
    ))


@pytest.fixture()
def written(tmp_path, tiny_library):
    project = song()
    clips = collect_clips(project, Renderer(tiny_library))
    clips.write(tmp_path / "clips")
    path = write_rpp(project, clips, tmp_path / "song.rpp")
    return project, clips, path


def test_tracks_items_volume_pan_and_fx_read_back(written):
    project, clips, path = written
    root = parse_rpp(path.read_text())
    assert root.tag == "REAPER_PROJECT"
    assert root.value("TEMPO")[:3] == ["128.0", "4", "4"] and root.value("SAMPLERATE")[0] == "48000"
    tracks = root.find_all("TRACK")
    assert [t.value("NAME")[0] for t in tracks] == [t.name for t in project.tracks]
    for node, track, placed in zip(tracks, project.tracks, clips.tracks):
        vol, pan = map(float, node.value("VOLPAN")[:2])
        assert vol == pytest.approx(10 ** (track.gain_db / 20)) and pan == track.pan
        items = node.find_all("ITEM")
        assert len(items) == len(track.clips)
        for item, pc in zip(items, placed):
            # positions are the renderer's sample positions, to the sample
            assert float(item.value("POSITION")[0]) * 48000 == pytest.approx(pc.start_frame, abs=1e-6)
            assert float(item.value("LENGTH")[0]) * 48000 == pytest.approx(pc.frames, abs=1e-6)
            assert item.value("FADEIN")[1] == "0" and item.value("FADEOUT")[1] == "0"
            source = item.find_all("SOURCE")[0]
            assert source.args == ["WAVE"]
            data, sr = sf.read(str(path.parent / source.value("FILE")[0]), dtype="float32")
            assert sr == 48000
            np.testing.assert_array_equal(data, clips.audio[pc.file])
    fx = tracks[0].find_all("FXCHAIN")[0].children
    names = [f.args[0] if f.tag == "VST" else f"JS: {f.args[0]}" for f in fx]
    assert names == ["VST: ReaEQ (Cockos)", "VST: ReaDelay (Cockos)", "JS: distortion"]
    assert names == [fx_name(e) for e in project.tracks[0].effects]
    # our parameter values travel in the track notes, since REAPER's own FX state is opaque
    notes = tracks[0].find_all("NOTES")[0].lines
    assert any("time_ms=300" in line[0] for line in notes)
    assert not tracks[1].find_all("FXCHAIN")


def test_same_project_same_file(written, tmp_path):
    project, clips, path = written
    again = write_rpp(project, clips, tmp_path / "again.rpp")
    assert again.read_text() == path.read_text()


def test_reader_rejects_unbalanced_blocks():
    with pytest.raises(ValueError):
        parse_rpp("<REAPER_PROJECT 0.1\n  <TRACK\n  >\n")
    with pytest.raises(ValueError):
        parse_rpp("<A\n>\n>\n")
