"""Quantization-aware training: a tiny SincNet on real FSDD clips -> int8 TFLite that matches its fake-quant model."""

import numpy as np
import pytest

from tests.harness import assert_builtin_only
from tests.models.test_sincnet import TINY
from tests.optimize._tf_keras import CLIP_SECONDS, SAMPLE_RATE, clips, run_tf_keras
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel
from tfaudio.models import build

# Runs under tf_keras (tfmot does not support Keras 3): reads clips from stdin, prints JSON.
_QAT_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
from tfaudio.backend import keras, USE_LEGACY_KERAS
from tfaudio.optimize import qat_to_tflite, quantize_aware, quantize_scope
assert USE_LEGACY_KERAS and keras.__name__ == "tf_keras", keras.__name__
args = json.loads(sys.stdin.read())
x, y = np.asarray(args["x"], np.float32), np.asarray(args["y"])
keras.utils.set_random_seed(0)
tf.config.experimental.enable_op_determinism()  # same fit, same ranges, run after run
# The float model was built and saved by Keras 3 (as `tfaudio train` does); tf_keras loads it.
model = keras.models.load_model(args["keras3_path"])
loaded = model(x, training=False).numpy().tolist()
qat = quantize_aware(model, calibration_data=x)
ranges = {w.name: float(w.numpy()) for w in qat.non_trainable_weights if "output_m" in w.name}
wrapped = sorted(type(l).__name__ for l in qat.layers)
qat.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
qat.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 2 steps
qat_to_tflite(qat, args["path"])
qat.save(args["h5_path"])  # HDF5: tfmot's QuantizeLayer does not reload from .keras
with quantize_scope():
    restored = keras.models.load_model(args["h5_path"])
reload_diff = float(np.abs(restored(x, training=False).numpy() - qat(x, training=False).numpy()).max())

# A nested model (as keras.applications backbones inside spectrogram models) is refused by name.
inner = keras.Sequential([keras.layers.Dense(4)], name="backbone")
inputs = keras.Input((6,))
nested = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
try:
    quantize_aware(nested)
    nested_error = ""
except ValueError as e:
    nested_error = str(e)

# A plain functional model of standard layers (tfmot's own recipes only).
inputs = keras.Input((32, 32, 1))
h = keras.layers.BatchNormalization()(keras.layers.Conv2D(8, 3, use_bias=False)(inputs))
h = keras.layers.MaxPooling2D()(keras.layers.ReLU()(h))
plain = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(h)))
images = np.random.default_rng(0).normal(0, 1, (8, 32, 32, 1)).astype("float32")
plain_qat = quantize_aware(plain)
plain_qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
plain_qat.fit(images, np.arange(8) % 4, batch_size=4, epochs=1, verbose=0)
qat_to_tflite(plain_qat, args["plain_path"])
print(json.dumps({
    "keras": qat(x, training=False).numpy().tolist(), "wrapped": wrapped, "nested_error": nested_error,
    "reload_diff": reload_diff, "ranges": ranges, "loaded": loaded,
    "images": images.tolist(), "plain_keras": plain_qat(images, training=False).numpy().tolist(),
}))
"""


@pytest.mark.slow
def test_sincnet_qat_int8_tflite_matches_fake_quant_keras(fsdd_clips, tmp_path):
    x = clips(fsdd_clips)
    path = str(tmp_path / "sincnet_qat_int8.tflite")
    plain_path = str(tmp_path / "plain_qat_int8.tflite")
    payload = {"x": x.tolist(), "y": list(range(len(x))), "path": path, "plain_path": plain_path}
    payload["h5_path"] = str(tmp_path / "sincnet_qat.h5")
    payload["keras3_path"] = str(tmp_path / "sincnet.keras")
    keras.utils.set_random_seed(0)
    model = build("sincnet", 8, sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, **TINY)
    model.save(payload["keras3_path"])
    out = run_tf_keras(_QAT_SCRIPT, payload)

    # Keras 3 -> tf_keras: the .keras file loads with the same function (float32 op reordering only).
    np.testing.assert_allclose(np.asarray(out["loaded"]), model(x, training=False).numpy(), atol=1e-5, rtol=0)

    # tfaudio's layers got QuantizeConfigs and the model was wrapped throughout.
    assert "QuantizeWrapperV2" in out["wrapped"] and "QuantizeLayer" in out["wrapped"], out["wrapped"]
    assert "'backbone'" in out["nested_error"] and "nested" in out["nested_error"], out["nested_error"]
    # Calibrated activation ranges (not tfmot's initial [-6, 6]), with 0 inside each as TFLite needs.
    ranges = out["ranges"]
    assert len(ranges) >= 8 and all(v != -6.0 for k, v in ranges.items() if "_min" in k), ranges
    assert all((v <= 0) if "_min" in k else (v >= 0) for k, v in ranges.items()), ranges
    # Saved as HDF5 and loaded in `quantize_scope()`: the same fake-quant model, exactly.
    assert out["reload_diff"] == 0.0

    ops = assert_builtin_only(path)
    runner = TFLiteModel(path)
    assert runner.metadata["input_normalization"]["type"] == "peak"
    interpreter = runner.interpreter
    assert {"CONV_2D", "FULLY_CONNECTED"} <= set(ops), ops
    # Full int8: every conv and dense op runs on int8 tensors (ranges from the fake-quant nodes).
    dtypes = {t["index"]: t["dtype"] for t in interpreter.get_tensor_details()}
    compute = [op for op in interpreter._get_ops_details() if op["op_name"] in ("CONV_2D", "FULLY_CONNECTED")]
    assert len(compute) == 6, [op["op_name"] for op in compute]  # sinc + 2 convs + 3 dense
    assert all(dtypes[i] == np.int8 for op in compute for i in op["inputs"][:2]), "float conv/dense found"
    # The two conv -> batch norm -> ReLU6 blocks became one int8 CONV_2D each (batch norm folded,
    # ReLU6 fused). The sinc block's batch norm cannot fold across the RESHAPE that ends
    # SincConv1D's polyphase layout, so it runs as int8 MUL/ADD and one RELU6.
    relu6 = [op["op_name"] for op in interpreter._get_ops_details()].count("RELU6")
    assert relu6 == 1, ops

    got = runner(x)
    expected = np.asarray(out["keras"], np.float32)
    assert got.shape == expected.shape == (8, 8)
    step = _output_step(runner)
    # QAT's promise: int8 TFLite ~= the fake-quant Keras model. Tolerance 8 output steps max
    # (3% of the logits' int8 range), 1.5 steps mean; measured 3.0 and 0.94 (up to 6 steps max
    # in runs before op determinism was enabled). Integer kernels round differently from
    # fake-quant float math (one-step flips that grow through 6 quantized layers), and the
    # kernels folded with a batch norm (5 of the 6 here) are quantized by the converter only.
    diff = np.abs(got - expected)
    assert diff.max() <= 8 * step, (diff.max(), step)
    assert diff.mean() <= 1.5 * step, (diff.mean(), step)

    # The plain Conv2D/Dense model: tfmot's Conv2D + batch norm + ReLU recipe (one fused int8
    # CONV_2D). Outputs agree up to one rounding flip of the int8 logits (exactly one step;
    # 1.5 steps for float32 in the dequantize).
    plain_ops = set(assert_builtin_only(plain_path))
    assert {"CONV_2D", "FULLY_CONNECTED"} <= plain_ops and not plain_ops & {"MUL", "ADD", "RELU"}, plain_ops
    plain = TFLiteModel(plain_path)
    plain_got = plain(np.asarray(out["images"], np.float32))
    plain_expected = np.asarray(out["plain_keras"], np.float32)
    np.testing.assert_allclose(plain_got, plain_expected, atol=1.5 * _output_step(plain), rtol=0)


def _output_step(runner):
    """The int8 logits' quantization step: the scale of the tensor that the float output is dequantized from."""
    interpreter = runner.interpreter
    out_index = interpreter.get_output_details()[0]["index"]
    ops_details = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    (last,) = [op for op in ops_details if out_index in op["outputs"]]
    assert last["op_name"] == "DEQUANTIZE", last["op_name"]
    step = interpreter._get_tensor_details(last["inputs"][0], 0)["quantization"][0]
    assert step > 0
    return step


def test_refuses_keras3_models():
    from tfaudio.backend import keras
    from tfaudio.optimize import quantize_aware

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="TF_USE_LEGACY_KERAS=1"):
        quantize_aware(model)


def test_quantization_aware_conversion_arguments_are_checked(tmp_path):
    # `qat_to_tflite` is `to_tflite(..., quantize="int8", quantization_aware=True)`: the one conversion path.
    from tfaudio.export import to_tflite

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = str(tmp_path / "m.tflite")
    for kwargs in (dict(quantize=None), dict(quantize="dynamic"), dict(quantize="int8", int8_io=True),
                   dict(quantize="int8", representative_data=np.zeros((2, 8), "float32"))):  # fmt: skip
        with pytest.raises(ValueError, match="quantization_aware=True"):
            to_tflite(model, path, quantization_aware=True, **kwargs)
