"""to_tflite: every quantize mode converts with builtins only; bad arguments and ops are named."""

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.layers import PeakNormalization


def _small_model():
    inputs = keras.Input((64,))
    x = keras.layers.Reshape((64, 1))(inputs)
    x = keras.layers.Conv1D(8, 5, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3)(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(0)
    return _small_model(), rng.uniform(-1, 1, (16, 64)).astype("float32")


@pytest.mark.parametrize(
    "quantize, atol",
    [
        # float32 graph: only op reordering separates it from Keras.
        (None, 1e-5),
        # float16 weights: ~1e-3 relative per weight, logits here are O(0.1-1).
        ("float16", 1e-2),
        # int8 weights (dynamic range): ~1/127 of each weight's range.
        ("dynamic", 5e-2),
        # int8 weights and activations: a few quantization steps of the logits.
        ("int8", 0.1),
        ("int16x8", 2e-2),
    ],
)
def test_quantize_modes_convert_with_builtins_and_match_keras(model_and_data, tmp_path, quantize, atol):
    model, x = model_and_data
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize=quantize, representative_data=x)
    assert_builtin_only(path)
    got = TFLiteModel(path)(x)
    np.testing.assert_allclose(got, model(x).numpy(), atol=atol, rtol=0)


def test_int8_io_has_int8_tensors_and_runner_dequantizes(model_and_data, tmp_path):
    model, x = model_and_data
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=x, int8_io=True)
    runner = TFLiteModel(path)
    assert runner.input_dtype == np.int8
    # int8 waveform input costs resolution: 1/127 of the calibrated range, so a looser bound.
    np.testing.assert_allclose(runner(x), model(x).numpy(), atol=0.15, rtol=0)


def test_dynamic_batch_runs_any_batch_size(model_and_data, tmp_path):
    model, x = model_and_data
    runner = TFLiteModel(to_tflite(model, str(tmp_path / "m.tflite")))
    assert runner.input_shape == (-1, 64)
    for n in (1, 7, 16):
        np.testing.assert_allclose(runner(x[:n]), model(x[:n]).numpy(), atol=1e-5)
    np.testing.assert_allclose(runner.predict(x, batch_size=5), model(x).numpy(), atol=1e-5)


def test_representative_data_accepts_dataset_of_pairs(model_and_data, tmp_path):
    model, x = model_and_data
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(len(x), "int32"))).batch(4)
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=ds)
    np.testing.assert_allclose(TFLiteModel(path)(x), model(x).numpy(), atol=0.1)


def test_non_builtin_op_is_named(tmp_path):
    inputs = keras.Input((4, 4))
    outputs = keras.layers.Lambda(tf.linalg.det)(inputs)
    with pytest.raises(ValueError, match="Offending ops: MatrixDeterminant"):
        to_tflite(keras.Model(inputs, outputs), str(tmp_path / "bad.tflite"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"quantize": "int4"}, "quantize"),
        ({"quantize": "int8"}, "representative_data"),
        ({"quantize": None, "int8_io": True}, "int8_io"),
        ({"metadata": ["labels"]}, "metadata"),
    ],
)
def test_bad_arguments(model_and_data, tmp_path, kwargs, match):
    model, _ = model_and_data
    with pytest.raises(ValueError, match=match):
        to_tflite(model, str(tmp_path / "m.tflite"), **kwargs)


def test_runner_rejects_wrong_shape_and_missing_file(model_and_data, tmp_path):
    model, x = model_and_data
    runner = TFLiteModel(to_tflite(model, str(tmp_path / "m.tflite")))
    with pytest.raises(ValueError, match="does not match"):
        runner(x[:, :32])
    with pytest.raises(ValueError, match="No TFLite model"):
        TFLiteModel(str(tmp_path / "missing.tflite"))


def test_metadata_round_trips_and_survives_int8(model_and_data, tmp_path):
    model, x = model_and_data
    meta = {"labels": ["yes", "no", "ünïcode"], "sample_rate": 16000}
    for quantize, data in ((None, None), ("int8", x)):
        path = str(tmp_path / f"{quantize}.tflite")
        to_tflite(model, path, quantize=quantize, representative_data=data, metadata=meta)
        runner = TFLiteModel(path)
        # "output" says what the last tensor is (here the model's own logits).
        assert runner.metadata == {**meta, "output": "logits"}
        assert runner(x).shape[0] == len(x)  # the extra buffer leaves the model runnable


def test_representative_data_accepts_tensorflows_callable_convention(model_and_data, tmp_path):
    model, x = model_and_data

    def representative_dataset():  # what `converter.representative_dataset` takes
        for row in x:
            yield [row[None]]

    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=representative_dataset)
    np.testing.assert_allclose(TFLiteModel(path)(x), model(x).numpy(), atol=0.1)


def _peak_model():
    inputs = keras.Input((256,))
    x = PeakNormalization(name="input_norm")(inputs)
    x = keras.layers.Reshape((256, 1))(x)
    x = keras.layers.Conv1D(8, 9, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


def test_int8_keeps_peak_normalization_float_inside_the_graph(tmp_path):
    keras.utils.set_random_seed(0)
    model = _peak_model()
    rng = np.random.default_rng(1)
    calib = rng.uniform(-1, 1, (32, 256)).astype("float32") * rng.uniform(0.01, 1, (32, 1)).astype("float32")
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=calib)
    assert_builtin_only(path)
    interpreter = Interpreter(model_path=path)
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    # The normalisation runs in float on the raw input; quantisation starts after it.
    assert ops[:5] == ["ABS", "REDUCE_MAX", "MAXIMUM", "DIV", "QUANTIZE"], ops
    assert "input_normalization" not in TFLiteModel(path).metadata  # nothing left for a runner to do

    # A plain interpreter fed quiet raw clips (peak 0.003-0.03) matches Keras as closely as loud ones:
    # the int8 input keeps its 256 levels for every clip. Bound: a few output steps of these logits.
    quiet = rng.uniform(-1, 1, (8, 256)).astype("float32") * np.geomspace(0.003, 0.03, 8)[:, None].astype("float32")
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], quiet.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], quiet)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    expected = model(quiet).numpy()
    np.testing.assert_allclose(got, expected, atol=0.05, rtol=0)
    np.testing.assert_allclose(got, model(quiet / np.abs(quiet).max(1, keepdims=True)).numpy(), atol=0.05)


def test_int8_io_leaves_normalization_to_the_runner(tmp_path):
    keras.utils.set_random_seed(0)
    model = _peak_model()
    calib = np.random.default_rng(1).uniform(-1, 1, (16, 256)).astype("float32")
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=calib, int8_io=True)
    runner = TFLiteModel(path)
    assert runner.metadata["input_normalization"] == {"type": "peak", "floor": 1e-3}
    quiet = calib[:4] * 0.01
    np.testing.assert_allclose(runner(quiet), model(quiet).numpy(), atol=0.1, rtol=0)
