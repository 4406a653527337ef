import numpy as np
import pytest
import soundfile as sf

from producer.audio import load_audio, resample, rms_dbfs, to_mono, to_stereo, write_audio
from producer.errors import InputError


def test_round_trip_24_bit(tmp_path):
    y = (0.5 * np.sin(np.linspace(0, 200, 4410))).astype(np.float32)[None].repeat(2, 0)
    write_audio(tmp_path / "a.wav", y, 44100)
    info = sf.info(str(tmp_path / "a.wav"))
    assert info.subtype == "PCM_24" and info.channels == 2
    back, sr = load_audio(tmp_path / "a.wav")
    assert sr == 44100 and back.shape == (2, 4410)
    assert np.max(np.abs(back - y)) < 2 ** -22


def test_resample_and_mono(tmp_path):
    t = np.arange(48000) / 48000
    write_audio(tmp_path / "b.wav", np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)]), 48000)
    y, sr = load_audio(tmp_path / "b.wav", sr=22050, mono=True)
    assert sr == 22050 and y.ndim == 1 and abs(len(y) - 22050) <= 1
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.fft.rfftfreq(len(y), 1 / 22050)[np.argmax(spec)] - 440) < 2
    assert rms_dbfs(y) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(InputError, match="not an audio file"):
        load_audio(tmp_path / "text.wav")
    sf.write(str(tmp_path / "nan.wav"), np.array([0.0, np.nan, 0.1], dtype=np.float32), 8000, subtype="FLOAT")
    with pytest.raises(InputError, match="NaN or infinite"):
        load_audio(tmp_path / "nan.wav")
    sf.write(str(tmp_path / "long.wav"), np.zeros(8000 * 3, dtype=np.float32), 8000)
    with pytest.raises(InputError, match=r"3\.0 s long, over the limit of 2 s"):
        load_audio(tmp_path / "long.wav", max_duration=2)
    with pytest.raises(InputError, match="is a folder"):
        load_audio(tmp_path)


def test_channel_helpers():
    assert to_stereo(np.ones(5)).shape == (2, 5)
    assert to_mono(np.array([[1.0, 1.0], [0.0, 0.0]])).tolist() == [0.5, 0.5]
    assert resample(np.ones(100, dtype=np.float32), 8000, 16000).shape == (200,)
