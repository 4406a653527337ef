"""Target loading, validation and analysis."""
import numpy as np
import pytest
import soundfile as sf

from producer.errors import InputError
from producer.planner import features as F
from producer.planner.target import analyze, detect_onsets, load_target, to_planner_rate
from producer.timbre import load_model


def _clicks(times, seconds=5.0, sr=F.SR):
    """Decaying 660 Hz notes starting at ``times`` (s) [shape=(n,)]."""
    y = np.zeros(int(seconds * sr), np.float32)
    t = np.arange(int(1.0 * sr)) / sr
    note = (0.5 * np.sin(2 * np.pi * 660 * t) * np.exp(-t / 0.1)).astype(np.float32)
    for s in times:
        i = int(s * sr)
        y[i:i + len(note)] += note[: len(y) - i]
    return y


def test_onsets_land_within_20ms():
    truth = [0.0, 0.6, 1.25, 2.0, 2.4, 3.3]
    onsets, tempo = detect_onsets(_clicks(truth))
    assert len(onsets) == len(truth)
    assert np.max(np.abs(onsets - np.array(truth))) < 0.02
    assert 20 <= tempo <= 400


def test_any_rate_and_stereo_load(tmp_path):
    y = _clicks([0.1, 1.0], seconds=4.0)
    stereo = np.stack([y, 0.5 * y])
    y48 = to_planner_rate(stereo, F.SR)
    assert y48.shape == (len(y),)
    path = tmp_path / "t.flac"
    import librosa

    sf.write(path, librosa.resample(stereo, orig_sr=F.SR, target_sr=48000).T, 48000)
    audio, sr = load_target(path)
    assert sr == 48000 and audio.shape[0] == 2
    mono = to_planner_rate(audio, sr)
    assert abs(len(mono) - len(y)) < 10


@pytest.mark.parametrize("case, message", [
    ("silence", "silent"),
    ("short", "shorter than one reward window"),
    ("nan", "NaN"),
    ("long", "over the limit"),
    ("text", "not an audio file"),
    ("missing", "no such file"),
])
def test_bad_targets_are_refused(tmp_path, case, message):
    path = tmp_path / "in.wav"
    sr = 22050
    if case == "silence":
        sf.write(path, np.zeros(4 * sr, np.float32), sr)
    elif case == "short":
        sf.write(path, _clicks([0.1], seconds=2.0), sr)
    elif case == "nan":
        y = _clicks([0.1], seconds=4.0)
        y[100] = np.nan
        sf.write(path, y, sr, subtype="FLOAT")
    elif case == "long":
        sf.write(path, _clicks([0.1], seconds=12.0), sr)
    elif case == "text":
        path.write_text("not audio")
    elif case == "missing":
        path = tmp_path / "absent.wav"
    with pytest.raises(InputError, match=message):
        load_target(path, max_duration=10.0)


def test_analysis_shapes():
    model = load_model("tiny")
    y = _clicks([0.0, 1.0, 2.5, 4.0], seconds=5.5)
    t = analyze(y, model)
    assert list(t.windows) == [0, 1, 2]
    assert t.seg_emb.shape == (5, model.embedding_dim)
    assert t.frame_chroma.shape == (t.n_frames, 12) and t.frame_mel.shape == (t.n_frames, F.N_MELS)
    assert t.n_frames == -(-5 * F.SR // F.HOP)
    assert t.onset_emb.shape == (len(t.onsets), model.embedding_dim)
    # Chroma of a 660 Hz tone (E5) peaks at pitch class E.
    assert int(np.argmax(t.frame_chroma[5])) == 4


def test_region_features_match_whole_signal():
    y = _clicks([0.3, 1.1], seconds=3.0)
    whole_c, whole_db, whole_mel = F.frame_features(y, 0, 0, F.n_frames(len(y)))
    a, b = F.frame_support(40, 60)
    part_c, part_db, part_mel = F.frame_features(y[a:b], a, 40, 60)
    assert np.allclose(part_c, whole_c[40:60], rtol=1e-4, atol=1e-6)
    assert np.allclose(part_db, whole_db[40:60], atol=1e-3)
