"""tfaudio.ops.sinc against a NumPy transcription of the SincNet paper's filter formula."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.ops import sinc


def paper_sinc_filters(low_hz, band_hz, kernel_size, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """SincNet filters in float64, one filter at a time, straight from the paper (arXiv 1808.00158).

    Eq. 4: g[n, f1, f2] = 2 f2 sinc(2 pi f2 n) - 2 f1 sinc(2 pi f1 n), with
    sinc(x) = sin(x) / x and f1, f2 normalised by the sample rate; f1 = min_low +
    |low|, f2 = f1 + min_band + |band| clipped to [min_low, Nyquist] (reference
    `SincConv_fast`); times the reference's Hamming window
    0.54 - 0.46 cos(2 pi m / K) at m = linspace(0, K/2 - 1, (K-1)/2) for the
    left half, 1 at the centre, mirrored on the right; divided by the centre
    value 2 (f2 - f1). Returns `[kernel_size, filters]`.
    """
    half = (kernel_size - 1) // 2
    m = np.linspace(0.0, kernel_size / 2 - 1, half)
    left_window = 0.54 - 0.46 * np.cos(2 * math.pi * m / kernel_size)
    window = np.concatenate([left_window, [1.0], left_window[::-1]])
    n = np.arange(-half, half + 1, dtype=np.float64)
    filters = []
    for low, band in zip(np.asarray(low_hz, np.float64), np.asarray(band_hz, np.float64)):
        f1 = (min_low_hz + abs(low)) / sample_rate
        f2 = min(max(f1 * sample_rate + min_band_hz + abs(band), min_low_hz), sample_rate / 2) / sample_rate
        g = 2 * f2 * np.sinc(2 * f2 * n) - 2 * f1 * np.sinc(2 * f1 * n)  # np.sinc(x) = sin(pi x) / (pi x)
        filters.append(g * window / (2 * (f2 - f1)))
    return np.stack(filters, axis=1)


def test_mel_initial_cutoffs_are_contiguous_and_mel_spaced():
    low, band = sinc.mel_initial_cutoffs(80, 16000, min_low_hz=50.0, min_band_hz=50.0)
    edges = np.append(low, low[-1] + band[-1])
    assert low.shape == band.shape == (80,)
    # Reference: 30 Hz up to sample_rate / 2 - (min_low_hz + min_band_hz).
    np.testing.assert_allclose(edges[[0, -1]], [30.0, 8000.0 - 100.0], rtol=1e-12)
    # Equal steps on the HTK mel scale 2595 log10(1 + f / 700) (float64 round trip).
    mel = 2595 * np.log10(1 + edges / 700)
    np.testing.assert_allclose(np.diff(mel), np.full(80, (mel[-1] - mel[0]) / 80), rtol=1e-9)
    assert np.all(band > 0)


def test_mel_initial_cutoffs_rejects_no_room_below_nyquist():
    with pytest.raises(ValueError, match="Received: sample_rate=200"):
        sinc.mel_initial_cutoffs(4, 200, min_low_hz=50.0, min_band_hz=50.0)


def test_hamming_half_window_matches_reference_formula():
    for kernel_size in (3, 31, 251):
        w = sinc.hamming_half_window(kernel_size)
        assert w.shape == ((kernel_size - 1) // 2,)
        m = np.linspace(0, kernel_size / 2 - 1, (kernel_size - 1) // 2)
        np.testing.assert_allclose(w, 0.54 - 0.46 * np.cos(2 * np.pi * m / kernel_size), rtol=0, atol=1e-15)
        assert w[0] == pytest.approx(0.08) and np.all(np.diff(w) > 0) and w[-1] <= 1.0


@pytest.mark.parametrize("kernel_size,sample_rate", [(251, 16000), (251, 8000), (31, 8000)])
def test_sinc_kernels_match_paper_formula(kernel_size, sample_rate):
    low, band = sinc.mel_initial_cutoffs(40, sample_rate)
    rng = np.random.default_rng(0)
    # Mel init, plus random raw values: negative ones (|.| in the constraint) and
    # bands that cross Nyquist (the clip) are exercised too.
    raw_low = np.concatenate([low, rng.uniform(-sample_rate / 2, sample_rate / 2, 20)])
    raw_band = np.concatenate([band, rng.uniform(-sample_rate / 2, sample_rate / 2, 20)])
    raw_low, raw_band = raw_low.astype(np.float32), raw_band.astype(np.float32)
    got = sinc.sinc_kernels(tf.constant(raw_low), tf.constant(raw_band), kernel_size, sample_rate).numpy()
    expected = paper_sinc_filters(raw_low, raw_band, kernel_size, sample_rate)
    assert got.shape == (kernel_size, 60)
    # 1e-5 (the bound): the kernel is computed in float64 and rounded to
    # float32 once, so |error| <= ~6e-8 for taps bounded by 1.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(got, got[::-1])  # symmetric by construction
    np.testing.assert_allclose(got[kernel_size // 2], 1.0, atol=1e-6)


def test_band_edges_apply_minimums_and_nyquist_clip():
    raw_low, raw_band = tf.constant([-10.0, 100.0, 3000.0]), tf.constant([0.0, -20.0, 5000.0])
    low, high = sinc.band_edges(raw_low, raw_band, 8000, 50.0, 50.0)
    np.testing.assert_allclose(low.numpy(), [60.0, 150.0, 3050.0])
    np.testing.assert_allclose(high.numpy(), [110.0, 220.0, 4000.0])  # the last is clipped at Nyquist


def test_sinc_kernel_is_a_band_pass_filter():
    # Magnitude response of one initialised filter: passband near its centre, stopband well outside.
    sample_rate, kernel_size = 8000, 251
    kernel = sinc.sinc_kernels(tf.constant([950.0]), tf.constant([500.0]), kernel_size, sample_rate).numpy()[:, 0]
    low, high = 1000.0, 1550.0  # min_low_hz and min_band_hz added
    spectrum = np.abs(np.fft.rfft(kernel, 8192))
    freqs = np.fft.rfftfreq(8192, 1 / sample_rate)
    passband = spectrum[(freqs > low + 100) & (freqs < high - 100)]
    stopband = spectrum[(freqs < low - 200) | (freqs > high + 200)]
    assert stopband.max() < 0.01 * passband.min()  # > 40 dB rejection 200 Hz outside the band


def test_sinc_kernels_reject_even_size():
    with pytest.raises(ValueError, match="Received: kernel_size=32"):
        sinc.sinc_kernels(tf.constant([100.0]), tf.constant([100.0]), 32, 8000)
