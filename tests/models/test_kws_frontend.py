"""kws_frontend.Conv2D: its exported graph (the first conv with stacked input channels) gives the plain conv's
outputs in float and int8; old .keras files load."""

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.models import build, kws_frontend

pytestmark = pytest.mark.usefixtures("fixed_seed")


def _clips(count=6, seed=0):
    """Noise bursts of varied level and length: the log-mel image has structure, not just a noise floor."""
    rng = np.random.default_rng(seed)
    x = np.zeros((count, 16000), np.float32)
    for i in range(count):
        start, length = rng.integers(0, 8000), rng.integers(2000, 8000)
        x[i, start : start + length] = rng.normal(0, 10.0 ** rng.uniform(-2, -0.5), length)
    return x


def _ops(path):
    """(op names in graph order, input channel count of every CONV_2D: filter shape [O, kh, kw, C])."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)  # fmt: skip
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()
    convs = [op for op in ops if op["op_name"] == "CONV_2D"]
    return [op["op_name"] for op in ops], [int(interpreter._get_tensor_details(op["inputs"][1], 0)["shape"][-1]) for op in convs]


@pytest.mark.slow
@pytest.mark.parametrize("name,overrides", [("ds_cnn", {}), ("bc_resnet", dict(width=2, frame_step_seconds=0.02))])
def test_export_path_equals_the_plain_conv_in_float_and_int8(tmp_path, monkeypatch, name, overrides):
    model = build(name, 12, **overrides)
    x = _clips()
    model(x, training=True)  # batch-norm statistics leave their init
    logits = np.asarray(model(x, training=False))
    files = {}
    for tag in ("plain", "polyphase"):
        with monkeypatch.context() as patch:
            if tag == "plain":  # the layers trace Keras' own ops: the graph before the subclasses
                patch.setattr(kws_frontend, "builtin_ops_only_enabled", lambda: False)
            for quantize in (None, "int8"):
                path = tmp_path / f"{tag}_{quantize or 'float'}.tflite"
                to_tflite(model, str(path), quantize=quantize, representative_data=x if quantize else None)
                files[tag, quantize] = path
    for quantize in (None, "int8"):
        (plain_ops, plain_channels), (ops, channels) = (_ops(files[t, quantize]) for t in ("plain", "polyphase"))
        assert min(plain_channels) == 1 and min(channels) >= 8
        # The batch norm after the first conv still folds into it: no MUL / ADD more than before.
        assert (ops.count("MUL"), ops.count("ADD")) == (plain_ops.count("MUL"), plain_ops.count("ADD"))
    span = float(logits.max() - logits.min())
    plain, poly = (TFLiteModel(str(files[t, None])).predict(x) for t in ("plain", "polyphase"))
    # Float: the same sums in another order (~1e-6 relative), well inside the Keras-vs-TFLite tolerance.
    np.testing.assert_allclose(poly, plain, rtol=0, atol=1e-4 * span)
    np.testing.assert_allclose(poly, logits, rtol=0, atol=1e-3 * span)
    plain8, poly8 = (TFLiteModel(str(files[t, "int8"])).predict(x) for t in ("plain", "polyphase"))
    # int8: the same integer products and scales (the batch norm still folds into the conv); calibration sees
    # float activations that differ by rounding, so a scale may move by an ulp, an output by a step: 1% of the span.
    assert np.abs(poly8 - plain8).max() <= 0.01 * span, (np.abs(poly8 - plain8).max(), span)


def test_old_keras_files_load_into_the_subclass(tmp_path, monkeypatch):
    x = _clips(2)
    # A model saved before the subclass existed: Keras' own Conv2D.
    monkeypatch.setattr(kws_frontend, "Conv2D", keras.layers.Conv2D)
    old = build("ds_cnn", 12)
    assert type(old.get_layer("conv_1")) is keras.layers.Conv2D
    old(x, training=True)
    expected = np.asarray(old(x, training=False))
    old.save(tmp_path / "old.keras")
    monkeypatch.undo()
    loaded = keras.models.load_model(tmp_path / "old.keras")
    assert type(loaded.get_layer("conv_1")) is kws_frontend.Conv2D
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)
    conv = loaded.get_layer("conv_1")
    harness.check_json_config(conv)
    assert kws_frontend.Conv2D.from_config(conv.get_config()).get_config() == conv.get_config()
