"""SincConv1D: paper-formula parity, serialization, batch invariance, TFLite, tf_keras."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests import harness
from tests.conftest import REPO
from tests.ops.test_sinc import paper_sinc_filters
from tfaudio.backend import keras
from tfaudio.layers import SincConv1D
from tfaudio.ops import sinc

SAMPLE_RATE = 8000


def _clip_batch(fsdd_clips, samples=4000, count=7):
    """`count` real FSDD clips, centre-cropped / zero-padded to `samples`, as [count, samples, 1]."""
    out = np.zeros((count, samples), np.float32)
    for i in range(count):
        clip = fsdd_clips[i % len(fsdd_clips)]
        clip = clip[max(0, (len(clip) - samples) // 2) :][:samples]
        out[i, : len(clip)] = clip
    return out[..., None]


def _wrap(layer, samples):
    inputs = keras.Input(shape=(samples, 1), name="waveform")
    return keras.Model(inputs, layer(inputs))


def _conv_filter_quantization(tflite_path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=tflite_path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    (conv,) = [op for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D"]
    filter_index = conv["inputs"][1]
    (details,) = [t for t in interpreter.get_tensor_details() if t["index"] == filter_index]
    return details["quantization_parameters"]


def _perturb(layer, seed=0):
    """Moves the cut-offs away from their mel initialisation, as training would."""
    rng = np.random.default_rng(seed)
    low, band = (w.numpy() for w in (layer.low_hz, layer.band_hz))
    layer.low_hz.assign((low * rng.uniform(0.7, 1.3, low.shape)).astype(np.float32))
    layer.band_hz.assign((band * rng.uniform(0.7, 1.3, band.shape)).astype(np.float32))


def test_output_shape_and_weights():
    layer = SincConv1D(80, 251, sample_rate=16000)
    out = layer(tf.zeros([2, 16000, 1]))
    assert out.shape == (2, 15750, 80) == layer.compute_output_shape((2, 16000, 1))
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == ["low_hz", "band_hz"]
    assert all(w.trainable and tuple(w.shape) == (80,) for w in layer.weights)
    low, band = sinc.mel_initial_cutoffs(80, 16000)
    np.testing.assert_allclose(layer.low_hz.numpy(), low, rtol=1e-6)
    np.testing.assert_allclose(layer.band_hz.numpy(), band, rtol=1e-6)


@pytest.mark.parametrize("stride,padding", [(1, "valid"), (3, "valid"), (2, "same"), (1, "same")])
def test_output_shape_matches_compute_output_shape(stride, padding):
    layer = SincConv1D(4, 31, sample_rate=SAMPLE_RATE, stride=stride, padding=padding)
    for samples in (1000, 1001):
        out = layer(tf.zeros([1, samples, 1]))
        assert tuple(out.shape) == layer.compute_output_shape((1, samples, 1))


def test_kernel_matches_paper_formula():
    layer = SincConv1D(80, 251, sample_rate=SAMPLE_RATE)
    layer.build((None, None, 1))
    for seed in (None, 0):
        if seed is not None:
            _perturb(layer, seed)
        expected = paper_sinc_filters(layer.low_hz.numpy(), layer.band_hz.numpy(), 251, SAMPLE_RATE)
        # 1e-5 (issue 2's bound): float64 kernel math rounded once to float32.
        np.testing.assert_allclose(layer.kernel().numpy(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("stride,padding", [(1, "valid"), (2, "same"), (3, "valid"), (5, "same")])
def test_output_on_real_clip_matches_numpy_convolution(fsdd_clips, stride, padding):
    kernel_size = 251
    layer = SincConv1D(80, kernel_size, sample_rate=SAMPLE_RATE, stride=stride, padding=padding)
    layer.build((None, None, 1))
    _perturb(layer)
    clip = fsdd_clips[3].astype(np.float64)  # "3_jackson_0.wav", official test split
    got = layer(clip[None, :, None].astype(np.float32)).numpy()[0]

    filters = paper_sinc_filters(layer.low_hz.numpy(), layer.band_hz.numpy(), kernel_size, SAMPLE_RATE)
    if padding == "same":  # TensorFlow's rule: output ceil(n / stride), extra padding at the end
        pad = max((-(-len(clip) // stride) - 1) * stride + kernel_size - len(clip), 0)
        clip = np.pad(clip, (pad // 2, pad - pad // 2))
    # Cross-correlation (what conv layers compute; the filters are symmetric anyway), float64.
    windows = np.lib.stride_tricks.sliding_window_view(clip, kernel_size)[::stride]
    expected = windows @ filters
    assert got.shape == expected.shape
    # 1e-4 (issue 2's bound): float32 dot products of 251 taps (|tap| <= 1) with a
    # waveform in [-1, 1]; rounding grows like sqrt(251) * 6e-8 * sum|x h| < 1e-5.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("stride,padding", [(1, "valid"), (3, "same")])
def test_unknown_length_matches_known_length(fsdd_clips, stride, padding):
    """The polyphase layout sizes its rows from the runtime length when the static one is unknown."""
    layer = SincConv1D(8, 51, sample_rate=SAMPLE_RATE, stride=stride, padding=padding)
    inputs = _clip_batch(fsdd_clips, samples=1003, count=2)
    dynamic = tf.function(layer, input_signature=[tf.TensorSpec([None, None, 1], tf.float32)])
    np.testing.assert_array_equal(dynamic(inputs).numpy(), layer(inputs).numpy())


def test_config_and_keras_round_trip(fsdd_clips, tmp_path):
    inputs = _clip_batch(fsdd_clips)
    layer = SincConv1D(16, 101, sample_rate=SAMPLE_RATE, min_low_hz=40.0, min_band_hz=60.0, stride=2, padding="same")
    layer(inputs)
    _perturb(layer)
    harness.check_config_round_trip(layer, inputs)
    assert SincConv1D.from_config(layer.get_config()).get_config() == layer.get_config()
    harness.check_keras_round_trip(_wrap(layer, inputs.shape[1]), inputs, tmp_path)


def test_batch_invariance(fsdd_clips):
    inputs = _clip_batch(fsdd_clips, count=7)
    layer = SincConv1D(16, 101, sample_rate=SAMPLE_RATE)
    harness.check_batch_invariance(layer, inputs, atol=1e-6)


def test_gradients_reach_cut_offs(fsdd_clips):
    inputs = tf.constant(_clip_batch(fsdd_clips, count=2))
    layer = SincConv1D(8, 51, sample_rate=SAMPLE_RATE)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(layer(inputs)))
    grads = tape.gradient(loss, [layer.low_hz, layer.band_hz])
    assert all(g is not None and np.all(np.isfinite(g)) and np.any(g.numpy() != 0) for g in grads)


def test_tflite_float_and_int8(fsdd_clips, tmp_path):
    inputs = _clip_batch(fsdd_clips, samples=2000, count=7)
    layer = SincConv1D(16, 101, sample_rate=SAMPLE_RATE)
    model = _wrap(layer, inputs.shape[1])
    _perturb(layer)
    # Float: 1e-5 absolute on outputs of magnitude ~1: same float32 conv, other summation order.
    got, expected, ops = harness.check_tflite(model, inputs, tmp_path, atol=1e-5, name="sinc")
    # The kernel math and its polyphase layout folded into a constant: only the convolution,
    # reshapes, the signal's padding to whole rows and the final crop remain.
    assert set(ops) == {"CONV_2D", "EXPAND_DIMS", "PAD", "RESHAPE", "SLICE"}, ops

    got, expected, ops = harness.check_tflite(
        model, inputs, tmp_path, quantize="int8", representative_data=inputs, name="sinc"
    )
    # The kernel is one constant filter, quantised per output channel with zero points 0
    # (16 filters x 16 polyphase outputs per row).
    assert set(ops) == {"CONV_2D", "EXPAND_DIMS", "PAD", "RESHAPE", "SLICE", "QUANTIZE", "DEQUANTIZE"}, ops
    filter_quantization = _conv_filter_quantization(os.path.join(str(tmp_path), "sinc_int8.tflite"))
    assert len(filter_quantization["scales"]) == 16 * 16 and not np.any(filter_quantization["zero_points"])
    # Full int8 (input, per-channel weights, output): error is a few output quantisation
    # steps, each (max - min) / 255 of the calibrated range; allow 3% of the range.
    span = expected.max() - expected.min()
    assert np.abs(got - expected).max() < 0.03 * span


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"filters": 0, "kernel_size": 31}, "Received: filters=0"),
        ({"filters": 8, "kernel_size": 32}, "Received: kernel_size=32"),
        ({"filters": 8, "kernel_size": 31, "stride": 0}, "Received: stride=0"),
        ({"filters": 8, "kernel_size": 31, "padding": "causal"}, "Received: padding='causal'"),
        ({"filters": 8, "kernel_size": 31, "sample_rate": 0}, "Received: sample_rate=0"),
        ({"filters": 8, "kernel_size": 31, "min_band_hz": 0.0}, "Received: min_band_hz=0.0"),
        ({"filters": 8, "kernel_size": 31, "sample_rate": 200}, "Received: sample_rate=200"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SincConv1D(**kwargs)


_TF_KERAS_SCRIPT = """
import json, sys
import numpy as np
from tfaudio.backend import keras, USE_LEGACY_KERAS
from tfaudio.layers import SincConv1D
assert USE_LEGACY_KERAS and keras.__name__ == "tf_keras", keras.__name__
x = np.asarray(json.loads(sys.stdin.read()), np.float32)
layer = SincConv1D(8, 51, sample_rate=8000, stride=2)
inputs = keras.Input(shape=(x.shape[1], 1))
model = keras.Model(inputs, layer(inputs))
model.compile("adam", "mse")
model.fit(x, np.zeros((len(x),) + model.output_shape[1:], np.float32), epochs=1, verbose=0)
clone = SincConv1D.from_config(layer.get_config())
clone(x)
clone.set_weights(layer.get_weights())
np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
print(json.dumps({"weights": [w.tolist() for w in layer.get_weights()], "out": layer(x).numpy().tolist()}))
"""


def test_works_under_tf_keras(fsdd_clips):
    inputs = _clip_batch(fsdd_clips, samples=1000, count=2)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", _TF_KERAS_SCRIPT],
        input=json.dumps(inputs.tolist()),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    legacy = json.loads(result.stdout.strip().splitlines()[-1])
    # Same weights in Keras 3 give the same outputs (same TF kernel math and conv).
    layer = SincConv1D(8, 51, sample_rate=8000, stride=2)
    layer(inputs)
    layer.set_weights([np.asarray(w, np.float32) for w in legacy["weights"]])
    np.testing.assert_allclose(layer(inputs).numpy(), np.asarray(legacy["out"]), rtol=0, atol=1e-6)
