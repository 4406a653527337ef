"""DAWproject export, validated against Bitwig's official schemas in ../shared/dawproject/."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lxml import etree

from producer.export.clips import collect_clips
from producer.export.dawproject import write_dawproject
from producer.project import Clip, Effect, Project, Track
from producer.render.engine import Renderer

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "dawproject"
needs_schemas = pytest.mark.skipif(not (SCHEMAS / "Project.xsd").is_file(),
                                   reason=f"DAWproject schemas not found in {SCHEMAS}")


def song() -> Project:
    return Project(sample_rate=44100, tempo=96.0, time_signature=(3, 4), tracks=(
        Track("Keys & <Pads>", "piano", gain_db=-6.0, pan=-0.5,
              effects=(Effect.make("highpass", cutoff_hz=120.0), Effect.make("peak", freq_hz=900.0, gain_db=-4.0),
                       Effect.make("compressor", threshold_db=-22.0, ratio=3.0), Effect.make("reverb")),
              clips=(Clip("piano/60", 0.25, 0.5, 60), Clip("piano/64", 0.5, 0.5, 65, gain_db=-6.0))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.1, 36), Clip("drums/snare", 0.625, 0.1, 38))),
    ))


@pytest.fixture()
def exported(tmp_path, tiny_library):
    project = song()
    clips = collect_clips(project, Renderer(tiny_library))
    path = write_dawproject(project, clips, tmp_path / "song.dawproject", title="song")
    return project, clips, zipfile.ZipFile(path)


@needs_schemas
def test_project_and_metadata_validate_against_the_official_schemas(exported):
    _, _, zf = exported
    for member, xsd in (("project.xml", "Project.xsd"), ("metadata.xml", "MetaData.xsd")):
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / xsd)))
        doc = etree.fromstring(zf.read(member))
        assert schema.validate(doc), f"{member}: {schema.error_log}"


@needs_schemas
def test_schema_check_is_not_vacuous(exported):
    """The same schema rejects a document with a clip that lost its required time."""
    _, _, zf = exported
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "Project.xsd")))
    doc = etree.fromstring(zf.read("project.xml"))
    del doc.find(".//Clip").attrib["time"]
    assert not schema.validate(doc)


def test_audio_clips_sit_at_their_times_and_hold_the_clip_audio(exported):
    project, clips, zf = exported
    doc = etree.fromstring(zf.read("project.xml"))
    assert doc.find("Arrangement/Lanes").get("timeUnit") == "seconds"
    tracks = {t.get("id"): t for t in doc.iter("Track")}
    assert [t.get("name") for t in tracks.values()] == ["Keys & <Pads>", "Keys & <Pads> notes", "Kit", "Kit notes", "Master"]
    for lane in doc.find("Arrangement/Lanes").findall("Lanes"):
        track = tracks[lane.get("track")]
        if track.get("contentType") != "audio":
            continue
        index = [t.name for t in project.tracks].index(track.get("name"))
        placed = clips.tracks[index]
        clip_els = lane.findall("Clips/Clip")
        assert len(clip_els) == len(placed)
        for el, pc in zip(clip_els, placed):
            assert float(el.get("time")) * 44100 == pytest.approx(pc.start_frame, abs=1e-6)
            audio = el.find("Audio")
            data, sr = sf.read(io.BytesIO(zf.read(audio.find("File").get("path"))), dtype="float32")
            assert sr == 44100 and float(audio.get("duration")) == pytest.approx(len(data) / sr)
            np.testing.assert_array_equal(data, clips.audio[pc.file])  # bit-exact dry clip


def test_note_tracks_carry_the_notes_and_are_muted(exported):
    project, _, zf = exported
    doc = etree.fromstring(zf.read("project.xml"))
    notes_track = next(t for t in doc.iter("Track") if t.get("name") == "Kit notes")
    assert notes_track.get("contentType") == "notes"
    assert notes_track.find("Channel/Mute").get("value") == "true"
    lane = next(l for l in doc.iter("Lanes") if l.get("track") == notes_track.get("id"))
    notes = lane.findall(".//Note")
    assert [(float(n.get("time")), int(n.get("key")), int(n.get("channel"))) for n in notes] == [(0.0, 36, 9), (0.625, 38, 9)]


def test_channel_volume_pan_and_devices(exported):
    _, _, zf = exported
    doc = etree.fromstring(zf.read("project.xml"))
    keys = next(t for t in doc.iter("Track") if t.get("name") == "Keys & <Pads>")
    ch = keys.find("Channel")
    assert float(ch.find("Volume").get("value")) == pytest.approx(10 ** (-6 / 20))
    assert float(ch.find("Pan").get("value")) == pytest.approx(0.25)  # -0.5 in [-1, 1] -> normalized
    master = next(t for t in doc.iter("Track") if t.get("name") == "Master").find("Channel")
    assert ch.get("destination") == master.get("id") and master.get("role") == "master"
    devices = ch.find("Devices")
    assert [d.tag for d in devices] == ["Equalizer", "Equalizer", "Compressor", "BuiltinDevice"]
    hp, peak = devices.findall("Equalizer")
    assert hp.find("Band").get("type") == "highPass" and float(hp.find("Band/Freq").get("value")) == 120.0
    assert peak.find("Band").get("type") == "bell" and float(peak.find("Band/Gain").get("value")) == -4.0
    comp = devices.find("Compressor")
    assert float(comp.find("Threshold").get("value")) == -22.0 and float(comp.find("Ratio").get("value")) == 3.0
    assert devices.find("BuiltinDevice").get("deviceName") == "reverb"


def test_metadata_and_zip_members(exported):
    _, clips, zf = exported
    names = set(zf.namelist())
    assert {"project.xml", "metadata.xml"} <= names
    assert {f"audio/{f}" for f in clips.audio} == names - {"project.xml", "metadata.xml"}
    assert etree.fromstring(zf.read("metadata.xml")).findtext("Title") == "song"
