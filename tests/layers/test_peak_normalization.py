"""PeakNormalization: values, idempotence, silence, serialization, TFLite, tf_keras; and what export does with it."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tests import harness
from tests.conftest import REPO
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.layers import PeakNormalization
from tfaudio.layers.peak_normalization import leading_peak_normalization, peak_normalize


@pytest.fixture
def waves(fsdd_clips):
    """Seven real clips at very different levels (peaks from about 0.005 to 1)."""
    out = np.zeros((7, 4000), np.float32)
    for i in range(7):
        clip = fsdd_clips[i % len(fsdd_clips)][:4000]
        out[i, : len(clip)] = clip / np.abs(clip).max() * 10.0 ** (-i / 3)
    return out


def test_divides_by_peak(waves):
    y = np.asarray(PeakNormalization()(waves))
    np.testing.assert_allclose(y, waves / np.abs(waves).max(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(np.abs(y).max(1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(peak_normalize(waves), y, rtol=1e-6)


def test_idempotent_and_level_independent(waves):
    layer = PeakNormalization()
    once = np.asarray(layer(waves))
    np.testing.assert_allclose(np.asarray(layer(once)), once, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(waves * 0.2)), once, rtol=1e-5)  # peaks stay above the floor


def test_floor_limits_gain_and_silence_stays_zero():
    x = np.zeros((3, 50), np.float32)
    x[1, 7] = 1e-5  # far below the 1e-3 floor: scaled by 1000, not to 1
    x[2, 3] = -0.5
    y = np.asarray(PeakNormalization(floor=1e-3)(x))
    assert not np.isnan(y).any()
    np.testing.assert_array_equal(y[0], 0.0)
    np.testing.assert_allclose(y[1, 7], 1e-2, rtol=1e-5)
    np.testing.assert_allclose(y[2, 3], -1.0, rtol=1e-6)


def test_normalizes_each_example_over_all_its_axes():
    x = np.array([[[0.5, 0.1], [-2.0, 1.0]], [[0.2, 0.0], [0.0, 0.1]]], np.float32)
    np.testing.assert_allclose(np.asarray(PeakNormalization()(x)), x / np.array([2.0, 0.2])[:, None, None], rtol=1e-6)


@pytest.mark.parametrize("floor", [0, -1.0, "1e-3", True])
def test_bad_floor(floor):
    with pytest.raises(ValueError, match="floor"):
        PeakNormalization(floor=floor)


def test_round_trips_and_batch_invariance(waves, tmp_path):
    layer = PeakNormalization(floor=1e-4, name="peak")
    clone = harness.check_config_round_trip(layer, waves)
    assert clone.floor == 1e-4
    inputs = keras.Input((waves.shape[1],))
    model = keras.Model(inputs, PeakNormalization(name="peak")(inputs))
    harness.check_keras_round_trip(model, waves, tmp_path)
    harness.check_batch_invariance(model, waves, atol=0)


def _tiny_classifier(samples, normalize):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((samples,), name="waveform")
    x = PeakNormalization(name="input_norm")(inputs) if normalize else inputs
    x = keras.layers.Reshape((samples, 1))(x)
    x = keras.layers.Conv1D(8, 31, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


def test_export_records_normalization_and_runner_applies_it(waves, tmp_path):
    model = _tiny_classifier(waves.shape[1], normalize=True)
    assert leading_peak_normalization(model) is model.get_layer("input_norm")
    _, _, ops = harness.check_tflite(model, waves, tmp_path, atol=1e-5)
    int8_out, expected, int8_ops = harness.check_tflite(
        model, waves, tmp_path, quantize="int8", representative_data=waves, name="int8"
    )
    assert "REDUCE_MAX" in ops and "CONV_2D" in int8_ops
    runner = TFLiteModel(os.path.join(str(tmp_path), "int8_int8.tflite"))
    # The int8 graph normalises in float before its QUANTIZE op (nothing left for a runner to do),
    # so a clip's level does not change the int8 result (peaks here go from 1 down to 0.01; the
    # int8 input keeps all 256 levels).
    assert runner.metadata == {}
    full_scale = runner(peak_normalize(waves))
    np.testing.assert_allclose(int8_out, full_scale, atol=1e-6, rtol=0)
    # int8 vs float: within 10% of the output range for this untrained net (8-bit input,
    # activations and weights; calibrated on these very clips).
    span = expected.max() - expected.min()
    np.testing.assert_allclose(int8_out, expected, atol=0.1 * span, rtol=0)


def test_without_leading_normalization_no_metadata(waves, tmp_path):
    model = _tiny_classifier(waves.shape[1], normalize=False)
    assert leading_peak_normalization(model) is None
    path = to_tflite(model, str(tmp_path / "plain.tflite"))
    assert TFLiteModel(path).metadata == {}


_TF_KERAS_SCRIPT = """
import numpy as np
from tfaudio.backend import keras, USE_LEGACY_KERAS
from tfaudio.layers import PeakNormalization
from tfaudio.layers.peak_normalization import leading_peak_normalization
assert USE_LEGACY_KERAS and keras.__name__ == "tf_keras", keras.__name__
x = np.random.default_rng(0).normal(0, 0.01, (3, 100)).astype("float32")
inputs = keras.Input((100,))
layer = PeakNormalization(floor=1e-4)
model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
assert leading_peak_normalization(model) is layer
y = PeakNormalization.from_config(layer.get_config())(x).numpy()
np.testing.assert_allclose(y, x / np.abs(x).max(1, keepdims=True), rtol=1e-6)
print("ok")
"""


def test_works_under_tf_keras():
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", _TF_KERAS_SCRIPT], capture_output=True, text=True, env=env)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
