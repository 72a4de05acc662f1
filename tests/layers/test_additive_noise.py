"""AdditiveNoise: identity at inference, SNR as configured (white and from noise files), seeded, exportable."""

import numpy as np
import pytest
import soundfile as sf

from tests.layers import _augment_checks as checks
from tfaudio.layers import AdditiveNoise


@pytest.fixture
def waves(fsdd_clips):
    return np.stack([np.resize(c, 4000) for c in fsdd_clips[:4]]).astype("float32")


def _snr_db(x, y):
    noise = y - x
    return 10 * np.log10(np.mean(x**2, axis=1) / np.mean(noise**2, axis=1))


def test_identity_at_inference(waves):
    checks.check_identity_at_inference(AdditiveNoise(seed=1), waves)


def test_seeded(waves):
    checks.check_seeded(AdditiveNoise, waves)


def test_white_noise_snr_statistics(waves):
    """Measured SNR equals the drawn one, drawn uniformly in [min, max] dB."""
    x = np.tile(waves, (250, 1))  # 1000 real-speech rows
    y = np.asarray(AdditiveNoise(min_snr_db=0.0, max_snr_db=20.0, seed=4)(x, training=True))
    snr = _snr_db(x, y)
    # Exact up to float32 rounding of powers: 1e-3 dB.
    assert snr.min() >= -1e-3 and snr.max() <= 20 + 1e-3
    # U[0, 20]: mean 10, sd 5.77; tolerance 4 standard errors.
    assert abs(snr.mean() - 10) < 4 * 5.77 / np.sqrt(len(snr)), snr.mean()
    noise = (y - x)[0]
    assert abs(noise.mean()) < 4 * noise.std() / np.sqrt(noise.size)  # zero-mean white noise


def test_noise_from_folder(tmp_path, waves):
    """Excerpts of the folder's recordings (a 440 Hz tone here) are added at the drawn SNR."""
    folder = tmp_path / "noise"
    folder.mkdir()
    t = np.arange(16000) / 16000
    sf.write(folder / "hum.wav", 0.3 * np.sin(2 * np.pi * 440 * t).astype("float32"), 16000)
    layer = AdditiveNoise(min_snr_db=10.0, max_snr_db=10.0, noise_dir=str(folder), sample_rate=8000, seed=2)
    y = np.asarray(layer(waves, training=True))
    # Constant 10 dB; tolerance 0.01 dB for the float32 power ratio.
    np.testing.assert_allclose(_snr_db(waves, y), 10.0, atol=0.01)
    noise = y - waves
    spectrum = np.abs(np.fft.rfft(noise[0]))
    assert abs(np.argmax(spectrum) * 8000 / noise.shape[1] - 440) < 4  # the tone, resampled to 8 kHz


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="min_snr_db"):
        AdditiveNoise(min_snr_db=30, max_snr_db=10)
    with pytest.raises(ValueError, match="noise_dir"):
        AdditiveNoise(noise_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="noise_dir"):
        AdditiveNoise(noise_dir=str(tmp_path))  # no audio files


def test_round_trips_and_tflite(waves, tmp_path):
    checks.check_round_trips_and_tflite(AdditiveNoise(seed=1, name="additive_noise"), waves, tmp_path)
