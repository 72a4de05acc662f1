"""Mel filterbanks vs librosa (slaney/htk) and vs transformers' Kaldi bank."""

import librosa
import numpy as np
import pytest

from tfaudio.ops import mel


@pytest.mark.parametrize("scale", ["slaney", "htk"])
def test_hz_mel_conversions_match_librosa(scale):
    freqs = np.array([0.0, 20.0, 440.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    ref = librosa.hz_to_mel(freqs, htk=scale == "htk")
    # Same float64 formulas: only rounding differences.
    np.testing.assert_allclose(mel.hz_to_mel(freqs, scale), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mel.mel_to_hz(mel.hz_to_mel(freqs, scale), scale), freqs, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("scale", ["slaney", "htk"])
@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize(
    "sample_rate, fft_length, num_mel_bins, min_freq, max_freq",
    [(16000, 512, 64, 0.0, None), (8000, 256, 40, 20.0, 3800.0), (22050, 1023, 128, 50.0, 8000.0)],
)
def test_mel_filterbank_matches_librosa(scale, norm, sample_rate, fft_length, num_mel_bins, min_freq, max_freq):
    ref = librosa.filters.mel(
        sr=sample_rate, n_fft=fft_length, n_mels=num_mel_bins, fmin=min_freq, fmax=max_freq,
        htk=scale == "htk", norm=norm, dtype=np.float64,
    )
    got = mel.mel_filterbank(sample_rate, fft_length, num_mel_bins, min_freq, max_freq, scale=scale, norm=norm)
    assert got.shape == (fft_length // 2 + 1, num_mel_bins)
    # Same float64 formula as librosa; 1e-12 relative to the largest weight covers summation order.
    np.testing.assert_allclose(got, ref.T, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_kaldi_mel_filterbank_matches_transformers():
    from transformers.audio_utils import mel_filter_bank

    # ASTFeatureExtractor's numpy path (no torchaudio): Kaldi mel scale, triangles in mel space, no norm.
    ref = mel_filter_bank(
        num_frequency_bins=257, num_mel_filters=128, min_frequency=20.0, max_frequency=8000.0,
        sampling_rate=16000, norm=None, mel_scale="kaldi", triangularize_in_mel_space=True,
    )
    got = mel.kaldi_mel_filterbank(16000, 512, num_mel_bins=128, low_freq=20.0, high_freq=0.0)
    assert got.shape == ref.shape == (257, 128)
    # Same float64 formula: rounding only.
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert not got[-1].any()  # Kaldi leaves the Nyquist bin out


def test_kaldi_negative_high_freq_is_offset_from_nyquist():
    np.testing.assert_array_equal(
        mel.kaldi_mel_filterbank(16000, 512, 40, high_freq=-400.0),
        mel.kaldi_mel_filterbank(16000, 512, 40, high_freq=7600.0),
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(scale="bark"), "scale"),
        (dict(norm="l2"), "norm"),
        (dict(max_freq=9000.0), "max_freq"),
        (dict(min_freq=5000.0, max_freq=4000.0), "min_freq"),
        (dict(num_mel_bins=0), "num_mel_bins"),
    ],
)
def test_mel_filterbank_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: .*{name}="):
        mel.mel_filterbank(16000, 512, **{"num_mel_bins": 40, **kwargs})
