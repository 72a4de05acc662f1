"""BackgroundNoise: the TensorFlow speech_commands mixing (frequency, volume), noise files, seeding, export."""

import numpy as np
import pytest
import soundfile as sf

from tests.layers import _augment_checks as checks
from tfaudio.layers.background_noise import BackgroundNoise


@pytest.fixture
def noise_files(tmp_path):
    """Two noise recordings of different lengths and levels (peak 0.5 and 0.05)."""
    rng = np.random.default_rng(0)
    paths = []
    for i, (seconds, peak) in enumerate([(1.5, 0.5), (0.7, 0.05)]):
        audio = rng.uniform(-1, 1, int(16000 * seconds)).astype("float32")
        path = tmp_path / f"noise_{i}.wav"
        sf.write(path, audio / np.abs(audio).max() * peak, 16000)
        paths.append(str(path))
    return paths


@pytest.fixture
def waves():
    t = np.arange(16000) / 16000
    return np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in (200, 300, 500, 700)]).astype("float32")


def test_identity_at_inference(noise_files, waves):
    checks.check_identity_at_inference(BackgroundNoise(noise_files=noise_files, seed=1), waves)


def test_seeded(noise_files, waves):
    checks.check_seeded(BackgroundNoise, waves, noise_files=noise_files)


def test_frequency_and_volume_statistics(noise_files, waves):
    """80 % of clips get noise; its peak is v * 1 with v ~ U[0, 0.1] (files are peak-normalised)."""
    x = np.tile(waves, (250, 1))  # 1000 rows
    y = np.asarray(BackgroundNoise(noise_files=noise_files, seed=3)(x, training=True))
    noise = y - x
    touched = np.abs(noise).max(axis=1) > 0
    # Bernoulli(0.8) over 1000 rows: sd 0.0126; 4 standard errors.
    assert abs(touched.mean() - 0.8) < 4 * 0.0126, touched.mean()
    peaks = np.abs(noise[touched]).max(axis=1)
    # The largest volume 0.1 times a peak-1 excerpt, plus float32 rounding (no clipping: |x| + 0.1 < 1).
    assert peaks.max() <= 0.1 + 1e-6
    # v ~ U[0, 0.1] and an excerpt's peak is near 1 for 1 s of uniform noise: the mean peak is near 0.05.
    assert 0.04 < peaks.mean() < 0.06, peaks.mean()


def test_clips_to_full_scale(noise_files):
    x = np.full((64, 8000), 0.99, "float32")
    y = np.asarray(BackgroundNoise(noise_files=noise_files, max_volume=0.5, probability=1.0, seed=0)(x, training=True))
    assert y.max() <= 1.0 and y.min() >= -1.0
    assert (y == 1.0).any()


def test_noise_dir_equals_the_same_files(noise_files, waves, tmp_path):
    a = BackgroundNoise(noise_files=noise_files, seed=5)
    b = BackgroundNoise(noise_dir=str(tmp_path), seed=5)
    np.testing.assert_array_equal(np.asarray(a(waves, training=True)), np.asarray(b(waves, training=True)))


def test_round_trips_and_tflite(noise_files, waves, tmp_path):
    checks.check_round_trips_and_tflite(BackgroundNoise(noise_files=noise_files, seed=2, name="bg"), waves[:, :4000],
                                        tmp_path)


def test_bad_arguments(noise_files, tmp_path):
    with pytest.raises(ValueError, match="exactly one of"):
        BackgroundNoise()
    with pytest.raises(ValueError, match="exactly one of"):
        BackgroundNoise(noise_files=noise_files, noise_dir=str(tmp_path))
    with pytest.raises(ValueError, match="Received: max_volume="):
        BackgroundNoise(noise_files=noise_files, max_volume=-0.1)
    with pytest.raises(ValueError, match="Received: probability="):
        BackgroundNoise(noise_files=noise_files, probability=1.5)
    with pytest.raises(ValueError, match="does not exist"):
        BackgroundNoise(noise_files=[str(tmp_path / "missing.wav")])
    with pytest.raises(ValueError, match="not a folder"):
        BackgroundNoise(noise_dir=str(tmp_path / "nowhere"))
