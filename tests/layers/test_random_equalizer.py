"""RandomEqualizer: identity at inference, the drawn smooth curve is the filter's response, seeded, exportable."""

import numpy as np
import pytest

from tests.layers import _augment_checks as checks
from tfaudio.layers.random_equalizer import RandomEqualizer

RATE = 8000


@pytest.fixture
def waves():
    return np.random.default_rng(0).normal(size=(4, 800)).astype("float32")


def test_identity_at_inference_and_at_zero_db(waves):
    checks.check_identity_at_inference(RandomEqualizer(sample_rate=RATE, seed=1), waves)
    flat = np.asarray(RandomEqualizer(0.0, sample_rate=RATE, seed=1)(waves, training=True))
    np.testing.assert_allclose(flat, waves, atol=1e-5)  # rfft -> irfft round trip in float32


def test_seeded(waves):
    checks.check_seeded(RandomEqualizer, waves, sample_rate=RATE)


def test_response_is_a_bounded_smooth_curve_through_random_band_gains():
    """An impulse comes out as the filter: its spectrum is within +-max_db, and varies from clip to clip."""
    length = 2048
    impulse = np.zeros((8, length), np.float32)
    impulse[:, length // 2] = 1.0
    y = np.asarray(RandomEqualizer(6.0, num_bands=6, sample_rate=RATE, seed=2)(impulse, training=True))
    response_db = 20 * np.log10(np.abs(np.fft.rfft(y, axis=-1)))
    assert response_db.max() <= 6.0 + 0.05 and response_db.min() >= -6.0 - 0.05
    assert np.ptp(response_db, axis=-1).min() > 1.0  # not flat
    assert np.abs(response_db[0] - response_db[1]).max() > 1.0  # every clip its own curve
    assert np.abs(np.diff(response_db, axis=-1)).max() < 0.2  # smooth: < 0.2 dB between 3.9 Hz bins
    # The energy stays where the impulse was (zero phase: no delay).
    assert np.all(np.argmax(np.abs(y), axis=-1) == length // 2)


def test_bad_arguments(waves):
    np.testing.assert_array_equal(np.asarray(RandomEqualizer(probability=0.0, seed=0)(waves, training=True)), waves)
    with pytest.raises(ValueError, match="Received: max_db=-1"):
        RandomEqualizer(-1)
    with pytest.raises(ValueError, match="Received: num_bands=1"):
        RandomEqualizer(num_bands=1)
    with pytest.raises(ValueError, match="Received: sample_rate=0"):
        RandomEqualizer(sample_rate=0)
    with pytest.raises(ValueError, match="Received: probability=2"):
        RandomEqualizer(probability=2)


def test_round_trips_and_tflite(waves, tmp_path):
    checks.check_round_trips_and_tflite(RandomEqualizer(6.0, sample_rate=RATE, seed=3, name="equalizer"), waves, tmp_path)


def test_train_flag_reaches_the_layer():
    import argparse

    from tfaudio.cli import train as train_cli
    from tfaudio.training import TrainConfig
    from tfaudio.training.model_wrapping import waveform_augmentations

    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    args = parser.parse_args(["--model", "sincnet", "--data", "fsdd:x", "--out", "o", "--sample-rate", "8000",
                              "--speed-perturbation", "0.1", "--equalizer-db", "6"])
    layers = waveform_augmentations(train_cli.config_from_args(args))
    assert [l.name for l in layers] == ["speed_perturbation", "random_equalizer"]
    assert (layers[1].max_db, layers[1].sample_rate) == (6.0, 8000)
    with pytest.raises(ValueError, match="Received: equalizer_db=-2"):
        TrainConfig(model="x", equalizer_db=-2).validate()
