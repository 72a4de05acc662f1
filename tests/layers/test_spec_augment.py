"""SpecAugment: identity at inference, mask statistics as configured, seeded, exportable."""

import numpy as np
import pytest

from tests.layers import _augment_checks as checks
from tfaudio.layers import SpecAugment


@pytest.fixture
def spec():
    return np.random.default_rng(0).normal(size=(4, 50, 16)).astype("float32") + 5.0


def test_identity_at_inference(spec):
    checks.check_identity_at_inference(SpecAugment(seed=1), spec)


def test_seeded(spec):
    checks.check_seeded(SpecAugment, spec, freq_mask_param=4, time_mask_param=10)


def test_mask_statistics():
    """Mask widths ~ U{0..F} / U{0..T} and masks are full rows/columns, as in Park et al. 2019."""
    frames, bins, F, T, n = 200, 80, 12, 30, 2000
    x = np.ones((n, frames, bins), np.float32)
    layer = SpecAugment(freq_mask_param=F, num_freq_masks=1, time_mask_param=T, num_time_masks=1, mask_value=0.0, seed=3)
    y = np.asarray(layer(x, training=True))
    masked = y == 0
    freq_masked = masked.all(axis=1)  # [n, bins]: whole column masked
    time_masked = masked.all(axis=2)  # [n, frames]
    # Every masked cell lies in a masked row or column (nothing else is touched).
    np.testing.assert_array_equal(masked, freq_masked[:, None, :] | time_masked[:, :, None])
    fw, tw = freq_masked.sum(1), time_masked.sum(1)
    # One mask each: the masked span is contiguous, its width uniform on 0..F (mean F/2, max F).
    assert fw.max() == F and tw.max() == T
    # Mean of U{0..F}: F/2; tolerance 4 standard errors of the mean over n examples.
    assert abs(fw.mean() - F / 2) < 4 * np.sqrt((F + 1) ** 2 / 12 / n), fw.mean()
    assert abs(tw.mean() - T / 2) < 4 * np.sqrt((T + 1) ** 2 / 12 / n), tw.mean()
    for w in range(F + 1):  # every width occurs
        assert (fw == w).any()
    # Positions: a mask touching the first and one touching the last bin both occur (start ~ U{0..v-f}).
    assert freq_masked[:, 0].any() and freq_masked[:, -1].any()


def test_time_ratio_bound():
    """max_time_ratio p caps a time mask at floor(p * frames)."""
    x = np.ones((500, 40, 8), np.float32)
    y = np.asarray(SpecAugment(freq_mask_param=0, time_mask_param=40, num_time_masks=1, max_time_ratio=0.1, seed=0)(x, training=True))
    widths = (y == 0).all(axis=2).sum(axis=1)
    assert widths.max() == 4


def test_mean_mask_value_and_rank4(spec):
    y = np.asarray(SpecAugment(mask_value="mean", seed=2)(spec, training=True))
    changed = y != spec
    means = spec.mean(axis=(1, 2))
    for i in range(len(spec)):
        np.testing.assert_allclose(y[i][changed[i]], means[i], rtol=1e-6)
    y4 = np.asarray(SpecAugment(seed=2)(spec[..., None], training=True))
    assert y4.shape == spec.shape + (1,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="freq_mask_param"):
        SpecAugment(freq_mask_param=-1)
    with pytest.raises(ValueError, match="max_time_ratio"):
        SpecAugment(max_time_ratio=0.0)
    with pytest.raises(ValueError, match="mask_value"):
        SpecAugment(mask_value="median")


def test_round_trips_and_tflite(spec, tmp_path):
    checks.check_round_trips_and_tflite(SpecAugment(seed=1, name="spec_augment"), spec, tmp_path)


_LEGACY_SCRIPT = """
import numpy as np
from tfaudio.backend import USE_LEGACY_KERAS, keras
from tfaudio.layers import AdditiveNoise, RandomGain, SpecAugment, TimeShift
assert USE_LEGACY_KERAS
x = np.random.default_rng(0).normal(size=(2, 800)).astype("float32")
for layer in (RandomGain(seed=1), AdditiveNoise(seed=1), TimeShift(sample_rate=8000, seed=1)):
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    assert not np.array_equal(np.asarray(layer(x, training=True)), x)
spec, s = SpecAugment(seed=1), x.reshape(2, 50, 16)
assert np.array_equal(np.asarray(spec(s, training=False)), s)
assert not np.array_equal(np.asarray(spec(s, training=True)), s)
inputs = keras.Input((800,))
model = keras.Model(inputs, keras.layers.Dense(2)(RandomGain(seed=1)(inputs)))
model.compile("sgd", "mse")
model.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)
print("OK", int(np.asarray(model.layers[1].seed_state)[1]))
"""


@pytest.mark.slow
def test_all_augmentation_layers_under_tf_keras():
    """The four augmentation layers under tf_keras (TF_USE_LEGACY_KERAS=1, the QAT path), in a
    subprocess because the Keras flavour is chosen at import."""
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", PYTHONPATH=repo, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _LEGACY_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK 1" in proc.stdout  # one training step advanced the seed state once
