"""RandomGain: identity at inference, gains uniform in dB as configured, seeded, exportable."""

import numpy as np
import pytest

from tests.layers import _augment_checks as checks
from tfaudio.layers import RandomGain


@pytest.fixture
def waves(fsdd_clips):
    return np.stack([np.pad(c, (0, 8000 - len(c)))[:8000] if len(c) < 8000 else c[:8000] for c in fsdd_clips[:4]])


def test_identity_at_inference(waves):
    checks.check_identity_at_inference(RandomGain(seed=1), waves)


def test_seeded(waves):
    checks.check_seeded(RandomGain, waves)


def test_gain_statistics():
    n = 4000
    x = np.ones((n, 10), np.float32)
    y = np.asarray(RandomGain(min_gain_db=-6.0, max_gain_db=3.0, seed=5)(x, training=True))
    gain_db = 20 * np.log10(y[:, 0])
    np.testing.assert_allclose(y, y[:, :1] * x, rtol=1e-6)  # one gain per example
    assert gain_db.min() >= -6.0 - 1e-4 and gain_db.max() <= 3.0 + 1e-4
    # U[-6, 3]: mean -1.5, sd 9/sqrt(12); tolerance 4 standard errors.
    assert abs(gain_db.mean() + 1.5) < 4 * 9 / np.sqrt(12 * n)
    # Roughly flat histogram: each of 9 one-dB bins holds 1/9 of the draws (+-25%).
    counts, _ = np.histogram(gain_db, bins=9, range=(-6, 3))
    assert (np.abs(counts / n - 1 / 9) < 0.25 / 9).all(), counts


def test_probability():
    x = np.ones((4000, 4), np.float32)
    y = np.asarray(RandomGain(min_gain_db=1.0, max_gain_db=2.0, probability=0.3, seed=1)(x, training=True))
    changed = (y[:, 0] != 1.0).mean()
    assert abs(changed - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 4000), changed


def test_bad_arguments():
    with pytest.raises(ValueError, match="min_gain_db"):
        RandomGain(min_gain_db=3, max_gain_db=-3)
    with pytest.raises(ValueError, match="probability"):
        RandomGain(probability=1.5)


def test_round_trips_and_tflite(waves, tmp_path):
    checks.check_round_trips_and_tflite(RandomGain(seed=1, name="random_gain"), waves, tmp_path)
