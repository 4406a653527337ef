"""The one STFT framing: librosa's conventions (periodic Hann, centred, zero padding), frames-first."""
import numpy as np
import pytest

from producer.framing import frames, hann, n_frames, spectrum, stft_magnitude, windowed

SR = 22050


def _tone(seconds=0.5, freq=440.0, dtype=np.float32):
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.1 * np.sin(2 * np.pi * 3 * freq * t)).astype(dtype)


def test_magnitudes_equal_librosa_stft_transposed():
    import librosa

    y = _tone()
    for n_fft, hop in ((2048, 512), (1024, 256), (256, 64)):
        ours = stft_magnitude(y.astype(np.float64), n_fft=n_fft, hop_length=hop)
        ref = np.abs(librosa.stft(y.astype(np.float64), n_fft=n_fft, hop_length=hop)).T
        assert ours.shape == ref.shape == (1 + len(y) // hop, 1 + n_fft // 2)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9 * ref.max())


def test_the_window_is_periodic_hann():
    w = hann(1024, dtype=np.float64)
    assert w[0] == 0.0 and w[512] == pytest.approx(1.0) and w[-1] != 0.0  # a symmetric one ends at 0
    shifted = sum(np.roll(w, k * 256) for k in range(4))
    np.testing.assert_allclose(shifted, 2.0, atol=1e-12)  # copies at hop n/4 add to a constant


def test_frame_counts_centring_and_short_signals():
    y = np.arange(1000, dtype=np.float32)
    fr = frames(y, n_fft=256, hop_length=100)
    assert fr.shape == (n_frames(1000, n_fft=256, hop_length=100), 256) == (11, 256)
    assert np.all(fr[0, :128] == 0) and fr[0, 128] == 0 and fr[1, 128] == 100  # frame k centred on k * hop
    raw = frames(y, n_fft=256, hop_length=100, center=False)
    assert raw.shape == (8, 256) and raw[3, 0] == 300
    assert frames(np.ones(10, np.float32), n_fft=64, hop_length=16, center=False).shape == (1, 64)


def test_precision_follows_the_input_and_batches_equal_rows():
    y = np.stack([_tone(0.2), _tone(0.2, 220.0)])
    single = stft_magnitude(y, n_fft=512, hop_length=128)
    double = stft_magnitude(y.astype(np.float64), n_fft=512, hop_length=128)
    assert single.dtype == np.float32 and double.dtype == np.float64 and single.shape == (2, 1 + 4410 // 128, 257)
    np.testing.assert_allclose(single, double, atol=1e-4 * double.max())
    np.testing.assert_array_equal(single[1], stft_magnitude(y[1], n_fft=512, hop_length=128))


def test_power_two_is_the_squared_magnitude():
    fr = windowed(frames(_tone(0.2, dtype=np.float64), n_fft=512, hop_length=128))
    np.testing.assert_allclose(spectrum(fr, power=2), spectrum(fr) ** 2, rtol=1e-12)
