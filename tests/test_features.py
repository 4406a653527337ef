"""producer.features: log-mel against librosa, batching, normalisation, validation."""
import librosa
import numpy as np
import pytest

from producer.errors import InputError
from producer.features import frames_for, logmel, peak_normalize

SR = 22050


def _tone(freq, seconds=1.0, amp=0.5, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_logmel_matches_librosa_on_peak_normalised_audio():
    rng = np.random.default_rng(1)
    y = _tone(440.0) + 0.05 * rng.standard_normal(SR).astype(np.float32)
    ours = logmel(y)
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(y=peak_normalize(y), sr=SR, n_fft=2048, hop_length=512, n_mels=128),
        ref=1.0, amin=1e-10, top_db=None)
    assert ours.shape == (128, 44) == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_logmel_batch_equals_rows_and_shapes():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((2, 3, 3 * SR)).astype(np.float32)
    out = logmel(y)
    assert out.shape == (2, 3, 128, frames_for(3 * SR)) == (2, 3, 128, 130)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], logmel(y[1, 2]), atol=1e-4)


def test_logmel_is_level_independent_and_peaks_where_the_tone_is():
    y = _tone(1000.0, amp=0.5)
    a, b = logmel(y), logmel(0.01 * y)
    # Equal wherever there is signal; near the -100 dB floor float32 rounding noise differs.
    loud = a > -60.0
    assert loud.mean() > 0.05
    np.testing.assert_allclose(a[loud], b[loud], atol=0.02)
    mel_freqs = librosa.mel_frequencies(n_mels=128, fmax=SR / 2)
    band = int(np.argmax(a[:, 22]))
    assert abs(mel_freqs[band] - 1000.0) < 60.0
    # Without normalisation the level shows: 0.01 x amplitude is -40 dB.
    diff = logmel(y, normalize=False)[band, 22] - logmel(0.01 * y, normalize=False)[band, 22]
    assert diff == pytest.approx(40.0, abs=0.1)


def test_silence_is_the_floor_not_nan():
    out = logmel(np.zeros(SR, dtype=np.float32))
    assert np.all(out == -100.0)


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.array([0.0, np.nan], np.float32), np.float32(1.0)])
def test_bad_input_raises_input_error(bad):
    with pytest.raises(InputError):
        logmel(bad)
