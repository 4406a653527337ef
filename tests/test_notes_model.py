"""The note model: targets, decoding, scores, and the loading path with a tiny random model."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from producer.errors import ModelError  # noqa: E402
from producer.notes import transcribe as tr  # noqa: E402
from producer.notes.model import (DRUM_CLASSES, FPS, HOP, INSTRUMENT_CLASSES, N_PITCHES, SR, build_net,  # noqa: E402
                                  frame_targets)

TINY = {"c1": 2, "c2": 2, "c3": 2, "hidden": 8, "dilations": (1,)}


def test_frame_targets_mark_onsets_frames_instruments_and_drums():
    notes = np.array([[60, 0.5, 1.0, 100, 0], [33, 0.2, 0.3, 64, 33]], np.float32)
    drums = np.array([[0.25, 0, 90], [1.5, 2, 70]], np.float32)
    t = frame_targets(notes, drums, 100)
    f0 = int(round(0.5 * FPS))
    assert t["onset"][f0, 60 - 21] == 1 and t["onset"][f0 + 1, 60 - 21] == 1 and t["onset"][f0 + 2, 60 - 21] == 0
    assert t["frame"][f0:int(round(1.0 * FPS)), 60 - 21].all() and t["frame"][int(round(1.0 * FPS)), 60 - 21] == 0
    assert t["velocity"][f0, 60 - 21] == pytest.approx(100 / 127)
    assert INSTRUMENT_CLASSES[t["instrument"][f0, 60 - 21]] == "piano"
    assert INSTRUMENT_CLASSES[t["instrument"][int(round(0.2 * FPS)), 33 - 21]] == "bass"
    assert (t["instrument"] >= 0).sum() == 4  # two frames per note, nowhere else
    assert t["drums"][int(round(0.25 * FPS)), 0] == 1 and t["drums"][int(round(1.5 * FPS)), 2] == 1
    assert t["drums"].sum() == 4


def _outputs(T=200):
    z = np.zeros((T, N_PITCHES), np.float32)
    out = {"onset": z.copy(), "frame": z.copy(), "velocity": z.copy() + 0.5, "drums": np.zeros((T, 5), np.float32),
           "instrument": np.zeros((T, N_PITCHES), np.int8), "instrument_p": z.copy() + 0.9}
    return out


def test_decode_peaks_offsets_and_drums():
    out = _outputs()
    k = 64 - 21
    out["onset"][30:33, k] = [0.6, 0.9, 0.6]  # one peak at frame 31 (symmetric: centroid 31)
    out["frame"][30:60, k] = 0.8
    out["onset"][100, k] = 0.35  # below the threshold: no note
    out["instrument"][31, k] = INSTRUMENT_CLASSES.index("flute")
    out["drums"][80:82, 1] = [0.7, 0.7]  # a flat two-frame peak: one hit, between the frames
    res = tr.decode(out, onset_threshold=0.5, drum_threshold=0.5)["result"]
    assert len(res.notes) == 1
    n = res.notes[0]
    assert n.pitch == 64 and n.instrument == "flute"
    assert n.onset == pytest.approx((31 - 0.5) / FPS) and n.offset == pytest.approx(60 / FPS)
    assert n.velocity == 64 and n.confidence == pytest.approx(0.9)
    assert [(h.drum, round(h.time * FPS, 3)) for h in res.drums] == [("snare", 80.0)]


def test_decode_repeated_note_splits_at_the_next_onset():
    out = _outputs()
    k = 50 - 21
    out["onset"][20, k] = out["onset"][40, k] = 0.9
    out["frame"][20:80, k] = 0.9
    notes = tr.decode(out, onset_threshold=0.5)["result"].notes
    assert [round(n.onset * FPS + 0.5) for n in notes] == [20, 40]
    assert notes[0].offset == pytest.approx(40 / FPS) and notes[1].offset == pytest.approx(80 / FPS)


def test_scores_count_matches():
    ref = [(60, 1.0, "piano"), (64, 1.0, "piano"), (40, 2.0, "bass")]
    assert tr.note_scores(ref, ref)["f1"] == pytest.approx(1.0)
    half = tr.note_scores(ref, [(60, 1.03, "piano"), (65, 1.0, "piano"), (40, 2.2, "bass")])
    assert half["precision"] == pytest.approx(1 / 3) and half["recall"] == pytest.approx(1 / 3)
    inst = tr.instrument_note_scores(ref, [(60, 1.0, "organ"), (64, 1.0, "piano"), (40, 2.0, "bass")])
    assert inst["f1"] == pytest.approx(2 / 3)
    d = tr.drum_scores([(0.5, 0), (1.0, 1), (1.5, 3)], [(0.52, 0), (1.0, 2), (1.5, 3)])
    # the tom is not counted; the snare heard as a hi-hat is wrong twice
    assert d["precision"] == pytest.approx(0.5) and d["recall"] == pytest.approx(0.5)


def test_tiny_model_through_the_loading_path(tmp_path):
    torch.manual_seed(0)
    net = build_net(TINY)
    path = tmp_path / "tiny.pt"
    digest = tr.save_weights(path, net, config=TINY, meta={"what": "test"},
                             thresholds={"onset": 0.5, "frame": 0.5, "drums": 0.5})
    assert len(digest) == 64
    model = tr.load_model(str(path))
    assert model.meta == {"what": "test"} and model.thresholds["onset"] == 0.5
    # float16 storage: the loaded weights are the saved ones to half precision
    for k, v in net.state_dict().items():
        assert torch.allclose(model.net.state_dict()[k].float(), v.float(), atol=1e-2, rtol=1e-2), k
    t = np.arange(int(12.5 * 44100)) / 44100
    y = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    out = tr.run_net(model.net, tr.to_model_rate(y, 44100))
    n_frames = int(12.5 * SR) // HOP + 1
    assert out["onset"].shape == (n_frames, N_PITCHES) and out["drums"].shape == (n_frames, len(DRUM_CLASSES))
    assert ((out["onset"] >= 0) & (out["onset"] <= 1)).all()
    res = model.transcribe(y, 44100)
    assert all(21 <= n.pitch <= 108 and n.offset > n.onset and n.instrument in INSTRUMENT_CLASSES for n in res.notes)


def test_chunks_are_stitched_in_time_order(tmp_path):
    """A click heard in the third chunk comes out at its own frame, the same as heard alone."""
    torch.manual_seed(1)
    net = build_net(TINY).eval()
    y = np.zeros(int(25 * SR), np.float32)
    y[int(21.0 * SR):int(21.0 * SR) + 400] = 0.8
    whole = tr.run_net(net, y)["onset"]
    part = tr.run_net(net, y[int(18 * SR):])["onset"]  # starts on a frame boundary (18 s = 1125 frames)
    f = int(round(21.0 * FPS))
    a = whole[f - 20:f + 20]
    b = part[f - 1125 - 20:f - 1125 + 20]
    assert np.abs(a - b).max() < 1e-4


def test_load_model_errors(tmp_path):
    with pytest.raises(ModelError, match="missing"):
        tr.load_model(str(tmp_path / "none.pt"))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot read"):
        tr.load_model(str(bad))
    other = tmp_path / "other.pt"
    torch.save({"format": 1, "kind": "timbre", "state_dict": {}}, str(other))
    with pytest.raises(ModelError, match="not a producer note-model"):
        tr.load_model(str(other))
    wrong = tmp_path / "wrong.pt"
    tr.save_weights(wrong, build_net(TINY), config={**TINY, "hidden": 12})
    with pytest.raises(ModelError, match="do not fit"):
        tr.load_model(str(wrong))
    with pytest.raises(ModelError, match="no note model"):
        tr.load_model("nonexistent-name")


def test_registered_weights_are_checked(tmp_path, monkeypatch):
    path = tmp_path / "notes-x.pt"
    tr.save_weights(path, build_net(TINY), config=TINY)
    monkeypatch.setattr(tr, "EMBEDDINGS_DIR", tmp_path)
    monkeypatch.setitem(tr.REGISTRY, "x", ("notes-x.pt", "0" * 64))
    with pytest.raises(ModelError, match="checksum"):
        tr.load_model("x")
    monkeypatch.setitem(tr.REGISTRY, "x", ("notes-x.pt", tr.sha256_of(path)))
    assert tr.load_model("x").name == "x"


def test_shipped_default_loads():
    if tr.DEFAULT not in tr.REGISTRY:
        pytest.skip("no note model registered")
    model = tr.load_model("default")
    assert set(model.thresholds) == {"onset", "frame", "drums"}


def test_drum_class_of_gm_keys():
    from producer.notes.data import drum_class

    assert [drum_class(k) for k in (36, 38, 42, 46, 45, 49, 51, 39)] == [0, 1, 2, 2, 3, 4, 4, -1]


TINY_HARMONIC = {"arch": "harmonic", "c1": 2, "c2": 2, "channels": 4, "dilations": (1,), "drum_hidden": 4}


@pytest.mark.parametrize("hz,midi", [(55.0, 33), (110.0, 45), (261.63, 60), (440.0, 69), (3520.0, 105)])
def test_harmonic_front_end_puts_a_sine_on_its_pitch_bin(hz, midi):
    """Bin 3j + 1 of the log spectrum is MIDI 21 + j, whichever STFT resolution covers it."""
    from producer.notes.model import BINS_PER_SEMITONE, LOW_PITCH, N_BINS

    net = build_net(TINY_HARMONIC).eval()
    t = np.arange(SR) / SR
    with torch.no_grad():
        feats = net.features(torch.from_numpy((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))[None])
    assert feats.shape == (1, SR // HOP + 1, N_BINS)
    # the learnt per-bin normalisation starts as the identity up to its running statistics: read
    # the spectrum before it
    raw = (feats[0, 30] - net.norm.bias) / net.norm.weight * torch.sqrt(net.norm.running_var + net.norm.eps) \
        + net.norm.running_mean
    assert int(raw.argmax()) == BINS_PER_SEMITONE * (midi - LOW_PITCH) + 1


def test_harmonic_model_through_the_loading_path(tmp_path):
    torch.manual_seed(0)
    net = build_net(TINY_HARMONIC)
    path = tmp_path / "harmonic.pt"
    tr.save_weights(path, net, config=TINY_HARMONIC)
    model = tr.load_model(str(path))
    assert type(model.net).__name__ == "HarmonicNoteNet"
    y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * SR) / SR)).astype(np.float32)
    out = tr.run_net(model.net, y)
    n_frames = 3 * SR // HOP + 1
    assert out["onset"].shape == (n_frames, N_PITCHES) and out["drums"].shape == (n_frames, len(DRUM_CLASSES))
    assert out["instrument"].shape == (n_frames, N_PITCHES) and out["instrument"].max() < len(INSTRUMENT_CLASSES)
    with pytest.raises(ValueError, match="architecture"):
        build_net({"arch": "transformer"})
    with pytest.raises(ValueError, match="settings"):
        build_net({**TINY_HARMONIC, "hidden": 3})
