"""Checks every tfaudio layer and model goes through (see STYLE.md, Tests)."""

import os

import numpy as np

from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, tflite_op_names, to_tflite

# TFLite builtins only: anything Flex (TF ops) or custom fails these checks.
_NON_BUILTIN_PREFIXES = ("Flex", "CUSTOM")


def _as_numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def check_config_round_trip(obj, inputs):
    """`from_config(get_config())` rebuilds a layer/model whose outputs match exactly once weights are copied."""
    config = obj.get_config()
    clone = obj.__class__.from_config(config)
    expected = _as_numpy(obj(inputs, training=False))
    clone(inputs, training=False)  # builds the clone's weights
    clone.set_weights(obj.get_weights())
    np.testing.assert_array_equal(_as_numpy(clone(inputs, training=False)), expected)
    assert clone.get_config() == config
    return clone


def check_keras_round_trip(model, inputs, tmp_path):
    """`.keras` save + load reproduces outputs exactly."""
    path = os.path.join(str(tmp_path), "model.keras")
    expected = _as_numpy(model(inputs, training=False))
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(_as_numpy(restored(inputs, training=False)), expected)
    return restored


def check_batch_invariance(model, inputs, atol=1e-5):
    """A batch of 1 and the full batch give the same per-example outputs (atol: float32 op reordering)."""
    full = _as_numpy(model(inputs, training=False))
    for i in (0, len(inputs) - 1):
        single = _as_numpy(model(inputs[i : i + 1], training=False))
        np.testing.assert_allclose(single[0], full[i], atol=atol, rtol=0)


def assert_builtin_only(tflite_path):
    ops = tflite_op_names(tflite_path)
    bad = [op for op in ops if op.startswith(_NON_BUILTIN_PREFIXES)]
    assert not bad, f"non-builtin ops in {tflite_path}: {bad} (all ops: {ops})"
    return ops


def check_tflite(model, inputs, tmp_path, quantize=None, representative_data=None, atol=None, name="model"):
    """Converts with builtins only, runs with ai_edge_litert, and compares with Keras.

    Returns `(tflite_outputs, keras_outputs, op_names)`. With `atol` given,
    asserts the largest absolute difference is within it.
    """
    path = os.path.join(str(tmp_path), f"{name}_{quantize or 'float'}.tflite")
    to_tflite(model, path, quantize=quantize, representative_data=representative_data)
    ops = assert_builtin_only(path)
    runner = TFLiteModel(path)
    got = runner(np.asarray(inputs, np.float32))
    expected = _as_numpy(model(inputs, training=False))
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if atol is not None:
        np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    return got, expected, ops
