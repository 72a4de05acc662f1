"""Checks every tfaudio layer and model goes through (see STYLE.md, Tests), after keras-hub's `TestCase`.

- `run_layer_test`: build + call, output shape, symbolic shape (a `keras.Input` call and
  `compute_output_shape` agree with the eager output), JSON config, `from_config` round trip, batch invariance.
- `run_model_saving_test`: JSON config, `.keras` round trip through Keras' own `load_model`, exact outputs.
- `run_litert_export_test`: builtin-only float and int8 TFLite, values compared with required thresholds
  (float: max absolute difference; int8: max error relative to the logit span, and top-1 agreement).

The older `check_*` helpers are the pieces these are made of, and stay for their callers.
"""

import json
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


def check_json_config(obj):
    """`get_config()` survives a JSON round trip unchanged (what a `.keras` file stores)."""
    config = obj.get_config()
    assert json.loads(json.dumps(config)) == _jsonable(config), f"{type(obj).__name__}.get_config() is not JSON-exact"
    return config


def _jsonable(value):
    # Tuples become lists in JSON; that is the only change a JSON-friendly config may undergo.
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def check_symbolic_shape(layer, input_data, output):
    """A symbolic call on `keras.Input` and `compute_output_shape` give the eager output's shape (batch free)."""
    inputs = keras.Input(shape=np.shape(input_data)[1:], dtype=str(np.asarray(input_data).dtype))
    symbolic = layer(inputs)
    eager = tuple(np.shape(output))
    assert tuple(symbolic.shape)[1:] == eager[1:], (tuple(symbolic.shape), eager)
    computed = layer.compute_output_shape((None, *np.shape(input_data)[1:]))
    assert tuple(computed)[1:] == eager[1:], (tuple(computed), eager)


def run_layer_test(layer_cls, init_kwargs, input_data, expected_output_shape=None, batch_atol=1e-5):
    """Every check a layer gets: call, output shape, symbolic shape, JSON config, config round trip, batch invariance.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict of constructor arguments.
        input_data: array `[batch, ...]` (batch of at least 2).
        expected_output_shape: tuple or None. The eager output's shape.
        batch_atol: float. Per-example outputs of a batch of 1 vs the full batch
            (float32 op reordering). None skips the check (layers that mix examples).

    Returns:
        The built layer.
    """
    layer = layer_cls(**init_kwargs)
    output = _as_numpy(layer(input_data, training=False))
    if expected_output_shape is not None:
        assert tuple(output.shape) == tuple(expected_output_shape), (output.shape, expected_output_shape)
    check_symbolic_shape(layer_cls(**init_kwargs), input_data, output)
    check_json_config(layer)
    check_config_round_trip(layer, input_data)
    if batch_atol is not None:
        check_batch_invariance(layer, input_data, atol=batch_atol)
    return layer


def run_model_saving_test(model, input_data, tmp_path):
    """JSON config, then `model.save` + Keras' own `keras.saving.load_model`: same class, config and outputs, exactly."""
    config = check_json_config(model)
    restored = check_keras_round_trip(model, input_data, tmp_path)
    assert type(restored) is type(model), (type(restored), type(model))
    assert restored.get_config() == config
    return restored


def run_litert_export_test(
    model, input_data, tmp_path, *, float_atol, int8_max_error, int8_top1, representative_data=None, name="model"
):
    """Float and full-int8 TFLite with builtin ops only, both compared with Keras on `input_data`; every threshold is required.

    Args:
        float_atol: float. Largest absolute difference of the float file's outputs from Keras'.
        int8_max_error: float. Largest absolute difference of the int8 file's outputs from Keras',
            as a fraction of the span (max - min) of Keras' outputs over `input_data`: logits have
            no fixed scale, and 256 int8 levels are spread over a tensor's range.
        int8_top1: float in (0, 1]. Smallest fraction of examples whose int8 argmax is Keras'.
        representative_data: int8 calibration batch (other examples than `input_data` where
            possible); defaults to `input_data`.

    Returns:
        `{"float": (got, expected, ops), "int8": (got, expected, ops), "int8_error": e, "int8_top1": t}`,
        with the measured int8 error (fraction of the span) and top-1 agreement.
    """
    if None in (float_atol, int8_max_error, int8_top1):
        raise ValueError(
            "run_litert_export_test needs float_atol, int8_max_error and int8_top1: every export is compared. "
            f"Received: float_atol={float_atol}, int8_max_error={int8_max_error}, int8_top1={int8_top1}"
        )
    if not 0 < int8_top1 <= 1:
        raise ValueError(f"`int8_top1` is a fraction of the examples, in (0, 1]. Received: int8_top1={int8_top1}")
    calibration = input_data if representative_data is None else representative_data
    results = {"float": check_tflite(model, input_data, tmp_path, atol=float_atol, name=name)}
    got, expected, ops = check_tflite(
        model, input_data, tmp_path, quantize="int8", representative_data=calibration, name=name
    )
    results["int8"] = (got, expected, ops)
    span = float(expected.max() - expected.min())
    error = float(np.abs(got - expected).max()) / span
    results["int8_error"] = error
    assert expected.ndim == 2, f"run_litert_export_test compares [batch, classes] outputs; {name} gives {expected.shape}"
    top1 = float(np.mean(got.argmax(-1) == expected.argmax(-1)))
    results["int8_top1"] = top1
    float_diff = float(np.abs(results["float"][0] - results["float"][1]).max())
    # The measured values, for bounds written beside them (shown with `pytest -s`, or `-rA`).
    print(f"measured {name}: float {float_diff:.1e} / int8 error {error:.3f} of span {span:.3g} / top-1 {top1:.3f}")
    assert error <= int8_max_error, f"int8 {name}: max |error| is {error:.3f} of the logit span {span:.3g} (bound {int8_max_error})"
    assert top1 >= int8_top1, f"int8 {name}: top-1 agrees with Keras on {top1:.1%} of the examples (bound {int8_top1:.1%})"
    return results
