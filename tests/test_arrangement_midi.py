import mido
import pretty_midi
import pytest

from producer.export.midi import PPQ, build_midi, gain_for_velocity, velocity_for_gain, write_midi
from producer.project import Clip, Project, Track


def project() -> Project:
    return Project(tempo=90.0, time_signature=(3, 4), tracks=(
        Track("Lead", "violin", clips=(Clip("violin/A4", 0.0, 0.5, 69), Clip("violin/A4", 1.0, 0.25, 71, gain_db=-6.0))),
        Track("Kit", "drums", clips=(Clip("drums/kick", 0.0, 0.1, 36), Clip("drums/snare", 0.6667, 0.1, 38))),
        Track("Low", "bass", clips=(Clip("bass/E1", 2.0, 1.0, 28),)),
    ))


def test_type_1_with_conductor_and_one_track_each(tmp_path):
    path = write_midi(project(), tmp_path / "a.mid")
    mid = mido.MidiFile(str(path))
    assert mid.type == 1 and mid.ticks_per_beat == PPQ == 960
    assert len(mid.tracks) == 4
    meta = {m.type: m for m in mid.tracks[0]}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(90.0)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    names = [next(m.name for m in t if m.type == "track_name") for t in mid.tracks[1:]]
    assert names == ["Lead", "Kit", "Low"]
    programs = [[m.program for m in t if m.type == "program_change"] for t in mid.tracks[1:]]
    assert programs == [[40], [], [33]]  # violin, (drums: no program), electric bass
    drum_channels = {m.channel for m in mid.tracks[2] if m.type.startswith("note")}
    assert drum_channels == {9}


def test_pretty_midi_reads_the_same_notes(tmp_path):
    path = write_midi(project(), tmp_path / "a.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    lead, kit, low = pm.instruments
    assert kit.is_drum and not lead.is_drum
    assert [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in lead.notes] == [(69, 0.0, 0.5), (71, 1.0, 1.25)]
    assert [n.pitch for n in kit.notes] == [36, 38]
    assert kit.notes[1].start == pytest.approx(0.6667, abs=1 / PPQ)
    assert lead.notes[0].velocity == 100 and lead.notes[1].velocity == velocity_for_gain(-6.0)


def test_velocity_mapping_inverts():
    for v in (1, 40, 84, 100, 127):
        assert velocity_for_gain(gain_for_velocity(v)) == v
    assert velocity_for_gain(0.0) == 100


def test_repeated_notes_do_not_cut_each_other(tmp_path):
    p = Project(tracks=(Track("P", "piano", clips=(Clip("p", 0.0, 0.5, 60), Clip("p", 0.5, 0.5, 60))),))
    mid = build_midi(p)
    msgs = [m for m in mid.tracks[1] if m.type in ("note_on", "note_off")]
    # the first note ends before the second starts at the same tick
    assert [m.type for m in msgs] == ["note_on", "note_off", "note_on", "note_off"]
