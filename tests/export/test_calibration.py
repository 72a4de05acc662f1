"""Full-int8 calibration: every activation gets the range it really has (TensorFlow's calibrator widens in-place ops' inputs)."""

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, calibration, to_tflite
from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization


def _conv_then_large_multiply():
    """A depthwise conv (outputs ~ +-1) feeding a SubSpectralNormalization whose multiply is ~40x larger:
    the multiply runs in place in TFLite, the pattern of every BC-ResNet block."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 10, 4))
    x = keras.layers.DepthwiseConv2D((1, 3), padding="same", use_bias=False, name="dwconv")(inputs)
    ssn = SubSpectralNormalization(5, name="ssn")
    x = ssn(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3)(x)
    model = keras.Model(inputs, outputs)
    ssn.gamma.assign(np.full((5, 4), 40.0, np.float32))
    return model


def _output_scale(path, op_name):
    """The int8 scale of the output of the file's (first) `op_name` op."""
    interpreter = Interpreter(model_path=path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():
        if op["op_name"] == op_name:
            return float(tensors[op["outputs"][0]]["quantization_parameters"]["scales"][0])
    raise AssertionError(f"no {op_name} op in {path}")


def test_input_of_an_in_place_multiply_keeps_its_own_range(tmp_path):
    model = _conv_then_large_multiply()
    x = np.random.default_rng(0).uniform(-1, 1, (32, 16, 10, 4)).astype("float32")
    conv = keras.Model(model.inputs, model.get_layer("dwconv").output)
    span = float(np.ptp(conv.predict(x, verbose=0)))  # the conv output's real range
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8", representative_data=x)
    assert_builtin_only(path)
    # Asymmetric int8: 255 steps over the calibrated range, which min/max calibration makes exactly `span`.
    # TensorFlow's own calibration gives this tensor the multiply's range, 40x wider (measured 40.0x).
    assert _output_scale(path, "DEPTHWISE_CONV_2D") == pytest.approx(span / 255, rel=1e-3)
    # And the file stays faithful: the logits are within a few output steps of Keras.
    np.testing.assert_allclose(TFLiteModel(path)(x), model(x).numpy(), atol=0.15, rtol=0)


def test_exact_ranges_are_min_and_max_of_every_calibrated_tensor():
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    x = np.random.default_rng(1).normal(size=(10, 8)).astype("float32")

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def serve(v):
        return model(v)

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([row[None]] for row in x)
    calibrated = calibration.calibrated_model(converter)
    ranges = calibration.exact_ranges(calibrated, lambda: ([row[None]] for row in x))
    interpreter = Interpreter(model_content=calibrated)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    by_name = {names[t]: r for (s, t), r in ranges.items()}
    # The input's range is the data's; the logits' range is Keras' logits'.
    input_name = interpreter.get_input_details()[0]["name"]
    np.testing.assert_allclose(by_name[input_name], (x.min(), x.max()), rtol=1e-6)
    logits = model(x).numpy()
    output_name = interpreter.get_output_details()[0]["name"]
    np.testing.assert_allclose(by_name[output_name], (logits.min(), logits.max()), rtol=1e-5, atol=1e-6)
