"""polyphase_conv1d equals a one-channel strided conv1d, for static and dynamic lengths; folds to one CONV_2D."""

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import check_tflite
from tfaudio.backend import keras
from tfaudio.ops.polyphase import block_size, polyphase_conv1d, polyphase_conv2d, same_padding_2d


def _reference(signal, kernel, stride):
    return tf.nn.conv1d(signal[..., None], kernel[:, None, :], stride=stride, padding="VALID").numpy()


@pytest.mark.parametrize("taps,stride,samples", [(251, 1, 1000), (31, 3, 401), (256, 80, 1000), (400, 160, 16000),
                                                 (5, 16, 100), (256, 256, 8256), (7, 1, 7)])  # fmt: skip
def test_matches_conv1d(taps, stride, samples):
    rng = np.random.default_rng(taps + stride)
    signal = tf.constant(rng.uniform(-1, 1, (3, samples)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=(taps, 6)).astype(np.float32))
    expected = _reference(signal, kernel, stride)
    got = polyphase_conv1d(signal, kernel, stride).numpy()
    assert got.shape == expected.shape
    # float32 sums of `taps` products of |x| <= 1 and |w| ~ 1 in another order: ~1e-6 * sqrt(taps).
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    dynamic = tf.function(lambda x: polyphase_conv1d(x, kernel, stride),
                          input_signature=[tf.TensorSpec([None, None], tf.float32)])  # fmt: skip
    np.testing.assert_array_equal(dynamic(signal).numpy(), got)


def test_short_signal_gives_no_frames():
    kernel = tf.ones([31, 2])
    assert polyphase_conv1d(tf.zeros([2, 20]), kernel, 2).shape == (2, 0, 2)


def test_block_sizes_and_bad_block():
    assert [block_size(s) for s in (1, 3, 16, 80, 160)] == [16, 18, 16, 80, 160]
    with pytest.raises(ValueError, match="block"):
        polyphase_conv1d(tf.zeros([1, 100]), tf.ones([5, 1]), stride=3, block=16)


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_tflite_is_one_conv_with_block_input_channels(tmp_path, quantize):
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(101, 8)).astype(np.float32)
    inputs = keras.Input((2000,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: polyphase_conv1d(x, tf.constant(kernel), 1))(inputs))
    data = rng.uniform(-1, 1, (8, 2000)).astype(np.float32)
    got, expected, ops = check_tflite(model, data, tmp_path, atol=1e-4 if quantize is None else None,
                                      quantize=quantize, representative_data=data, name="poly")  # fmt: skip
    assert ops.count("CONV_2D") == 1 and "GATHER" not in ops and "TRANSPOSE" not in ops, ops
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(tmp_path / f"poly_{quantize or 'float'}.tflite"),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)  # fmt: skip
    interpreter.allocate_tensors()
    (conv,) = [op for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D"]
    filter_shape = interpreter._get_tensor_details(conv["inputs"][1], 0)["shape"]
    assert list(filter_shape) == [16 * 8, 1, 8, 16]  # [phases x channels, 1, rows, block]
    if quantize:
        span = expected.max() - expected.min()
        assert np.abs(got - expected).max() < 0.03 * span


@pytest.mark.parametrize(
    "shape,kernel_size,strides",
    [((101, 40, 1), (10, 4), (2, 2)), ((101, 40, 1), (10, 4), (2, 1)), ((51, 40, 1), (5, 5), (1, 2)),
     ((20, 10, 3), (3, 3), (1, 1)), ((17, 9, 1), (3, 2), (2, 2)), ((30, 7, 2), (4, 3), (3, 1)),
     ((5, 40, 1), (5, 40), (1, 1)), ((12, 12, 1), (1, 1), (2, 3))],
)  # fmt: skip
def test_polyphase_conv2d_matches_conv2d(shape, kernel_size, strides):
    rng = np.random.default_rng(sum(shape))
    x = tf.constant(rng.normal(size=(3,) + shape).astype(np.float32))
    kernel = tf.constant(rng.normal(size=kernel_size + (shape[-1], 5)).astype(np.float32))
    expected = tf.nn.conv2d(x, kernel, strides, "SAME").numpy()
    got = polyphase_conv2d(x, kernel, strides, same_padding_2d(shape[:2], kernel_size, strides)).numpy()
    assert got.shape == expected.shape
    # float32 sums of <= 200 products of N(0, 1) values in another order: ~1e-6 * sqrt(200) * 10.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    valid = polyphase_conv2d(x, kernel, strides).numpy()
    np.testing.assert_allclose(valid, tf.nn.conv2d(x, kernel, strides, "VALID").numpy(), rtol=0, atol=1e-4)


def test_polyphase_conv2d_stacks_rows_as_channels(tmp_path):
    """DS-CNN's first conv (10x4, stride 2, one channel) becomes one 1x2 CONV_2D on 5 * 2 * 2 = 20 channels."""
    kernel = np.random.default_rng(0).normal(size=(10, 4, 1, 8)).astype(np.float32)
    inputs = keras.Input((101, 40, 1))
    conv = keras.layers.Lambda(lambda x: polyphase_conv2d(x, tf.constant(kernel), (2, 2), ((4, 5), (1, 1))))
    model = keras.Model(inputs, conv(inputs))
    data = np.random.default_rng(1).normal(size=(4, 101, 40, 1)).astype(np.float32)
    _, _, ops = check_tflite(model, data, tmp_path, atol=1e-4, name="poly2d")
    assert ops.count("CONV_2D") == 1 and "GATHER" not in ops, ops
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(tmp_path / "poly2d_float.tflite"),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)  # fmt: skip
    interpreter.allocate_tensors()
    (op,) = [op for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D"]
    assert list(interpreter._get_tensor_details(op["inputs"][1], 0)["shape"]) == [8, 1, 2, 20]
