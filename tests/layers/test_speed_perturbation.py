"""SpeedPerturbation: identity at inference, tones move by the factor, centred, seeded, exportable."""

import numpy as np
import pytest

from tests.layers import _augment_checks as checks
from tfaudio.layers import SpeedPerturbation

RATE = 8000


@pytest.fixture
def waves():
    return np.random.default_rng(0).normal(size=(4, 800)).astype("float32")


def test_identity_at_inference(waves):
    checks.check_identity_at_inference(SpeedPerturbation(seed=1), waves)


def test_seeded(waves):
    checks.check_seeded(SpeedPerturbation, waves)


def test_factor_one_is_identity(waves):
    np.testing.assert_allclose(np.asarray(SpeedPerturbation(1.0, 1.0, seed=0)(waves, training=True)), waves, atol=1e-6)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_a_tone_moves_by_the_factor_and_the_middle_stays(factor):
    t = np.arange(RATE) / RATE
    tone = np.sin(2 * np.pi * 1000 * t).astype("float32")[None]
    y = np.asarray(SpeedPerturbation(factor, factor, seed=0)(tone, training=True))[0]
    middle = y[RATE // 4 : 3 * RATE // 4]  # away from the zero-filled edges of a faster clip
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    peak_hz = np.argmax(spectrum) * RATE / len(middle)
    assert abs(peak_hz - 1000 * factor) <= RATE / len(middle)  # within one FFT bin (2 Hz)
    # The centre sample reads the centre of the input: a click in the middle stays there.
    click = np.zeros((1, 801), np.float32)
    click[0, 400] = 1.0
    moved = np.asarray(SpeedPerturbation(factor, factor, seed=0)(click, training=True))[0]
    assert np.argmax(moved) == 400 and moved[400] == pytest.approx(1.0)
    if factor > 1:  # faster: the clip ends early, zeros after
        ramp = np.ones((1, 801), np.float32)
        out = np.asarray(SpeedPerturbation(factor, factor, seed=0)(ramp, training=True))[0]
        assert out[0] == 0.0 and out[-1] == 0.0 and out[400] == 1.0


def test_factors_fall_in_the_range():
    """Recover each row's factor from where a linear ramp's values landed."""
    length = 1001
    ramp = np.tile(np.arange(length, dtype=np.float32) - 500.0, (200, 1))  # value = distance from the centre
    y = np.asarray(SpeedPerturbation(0.8, 1.2, seed=4)(ramp, training=True))
    factors = y[:, 600] / 100.0  # output sample 600 reads input 500 + 100 f
    assert factors.min() >= 0.8 - 1e-5 and factors.max() <= 1.2 + 1e-5
    assert abs(factors.mean() - 1.0) < 4 * 0.4 / np.sqrt(12) / np.sqrt(200)  # U[0.8, 1.2] mean, 4 s.e.


def test_probability_zero_and_bad_arguments(waves):
    np.testing.assert_array_equal(np.asarray(SpeedPerturbation(0.5, 0.6, probability=0.0, seed=0)(waves, training=True)), waves)
    with pytest.raises(ValueError, match="Received: min_factor=0"):
        SpeedPerturbation(0, 1.1)
    with pytest.raises(ValueError, match="max_factor` must be >="):
        SpeedPerturbation(1.2, 1.1)
    with pytest.raises(ValueError, match="Received: probability=2"):
        SpeedPerturbation(probability=2)


def test_round_trips_and_tflite(waves, tmp_path):
    checks.check_round_trips_and_tflite(SpeedPerturbation(0.9, 1.1, seed=3, name="speed"), waves, tmp_path)


def test_train_flag_reaches_the_layer():
    import argparse

    from tfaudio.cli import train as train_cli
    from tfaudio.training import TrainConfig
    from tfaudio.training.model_wrapping import waveform_augmentations

    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    args = parser.parse_args(["--model", "sincnet", "--data", "fsdd:x", "--out", "o", "--speed-perturbation", "0.15",
                              "--time-shift", "0.1"])
    config = train_cli.config_from_args(args)
    layers = waveform_augmentations(config)
    assert [l.name for l in layers] == ["speed_perturbation", "time_shift"]
    assert (layers[0].min_factor, layers[0].max_factor) == pytest.approx((0.85, 1.15))
    with pytest.raises(ValueError, match="Received: speed_perturbation=1.5"):
        TrainConfig(model="x", speed_perturbation=1.5).validate()
