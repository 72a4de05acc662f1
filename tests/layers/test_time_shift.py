"""TimeShift: identity at inference, shifts within the configured range, seeded, exportable."""

import numpy as np
import pytest

from tests.layers import _augment_checks as checks
from tfaudio.layers import TimeShift


@pytest.fixture
def waves():
    return np.random.default_rng(0).normal(size=(4, 800)).astype("float32")


def test_identity_at_inference(waves):
    checks.check_identity_at_inference(TimeShift(sample_rate=8000, seed=1), waves)


def test_seeded(waves):
    checks.check_seeded(TimeShift, waves, sample_rate=8000)


@pytest.mark.parametrize("fill", ["zeros", "wrap"])
def test_shift_statistics(fill):
    """Each row is the input moved by s ~ U{-S..S} samples (S = 0.01 s * 8 kHz = 80)."""
    n, length, max_shift = 400, 1000, 80
    ramp = np.arange(1, length + 1, dtype=np.float32)
    x = np.tile(ramp, (n, 1))
    y = np.asarray(TimeShift(max_shift_seconds=0.01, sample_rate=8000, fill=fill, seed=3)(x, training=True))
    shifts = []
    for row in y:
        # Recover the shift from where sample value 500 landed.
        s = int(np.argmax(row == 500.0)) - 499
        expected = np.roll(ramp, s) if fill == "wrap" else np.pad(ramp, max_shift)[max_shift - s : max_shift - s + length]
        np.testing.assert_array_equal(row, expected)
        shifts.append(s)
    shifts = np.array(shifts)
    assert shifts.min() >= -max_shift and shifts.max() <= max_shift
    # U{-80..80}: mean 0, sd ~46.5; tolerance 4 standard errors.
    assert abs(shifts.mean()) < 4 * 46.5 / np.sqrt(n)
    assert shifts.min() < -60 and shifts.max() > 60


def test_bad_arguments():
    with pytest.raises(ValueError, match="fill"):
        TimeShift(fill="reflect")
    with pytest.raises(ValueError, match="max_shift_seconds"):
        TimeShift(max_shift_seconds=-1)


def test_round_trips_and_tflite(waves, tmp_path):
    checks.check_round_trips_and_tflite(TimeShift(sample_rate=8000, seed=1, name="time_shift"), waves, tmp_path)
