"""quantize="int8_mixed" and int16x8 on a small transformer: which ops stay float, builtins only, Keras parity."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from tests.harness import assert_builtin_only
from tfaudio.backend import keras
from tfaudio.cli.main import build_parser
from tfaudio.export import QUANTIZE_MODES, TFLiteModel, to_tflite
from tfaudio.layers import TransformerEncoderBlock

SAMPLES = 400


def _transformer():
    """Waveform -> conv (one input channel) -> layer norm -> one post-LN transformer block -> logits."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SAMPLES,))
    x = keras.layers.Reshape((SAMPLES, 1))(inputs)
    x = keras.layers.Conv1D(64, 10, strides=8, name="waveform_conv")(x)
    x = keras.layers.LayerNormalization(name="frames_norm")(x)
    x = TransformerEncoderBlock(num_heads=2, intermediate_dim=128, name="block")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


@pytest.fixture(scope="module")
def transformer_and_data():
    rng = np.random.default_rng(0)
    # Speech-like levels: clips from quiet to loud, so one int8 input scale is coarse for the quiet ones.
    x = rng.normal(size=(112, SAMPLES)).astype("float32") * rng.uniform(0.02, 1.0, (112, 1)).astype("float32")
    return _transformer(), x[:96], x[96:]


def _dtypes(path):
    """[(op, output dtype name)] of a .tflite file, in graph order."""
    interpreter = Interpreter(model_path=path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    return [(op["op_name"], tensors[op["outputs"][0]]["dtype"].__name__) for op in interpreter._get_ops_details()]


def test_int8_mixed_keeps_norms_attention_and_waveform_conv_float(transformer_and_data, tmp_path):
    model, calib, x = transformer_and_data
    mixed = to_tflite(model, str(tmp_path / "mixed.tflite"), quantize="int8_mixed", representative_data=calib)
    with pytest.warns(UserWarning, match="int8_mixed"):  # full int8 of a model with layer norms says what to use
        full = to_tflite(model, str(tmp_path / "int8.tflite"), quantize="int8", representative_data=calib)
    assert_builtin_only(mixed)
    ops = _dtypes(mixed)
    kinds = {}
    for op, dtype in ops:
        kinds.setdefault(op, set()).add(dtype)
    # Float: the conv on the waveform (fed straight from the float input, no int8 rounding first),
    # layer-norm statistics, attention scores and softmax.
    data_ops = [op for op in ops if op[1] != "int32"]  # not the shape arithmetic
    first_quantize = data_ops.index(("QUANTIZE", "int8"))
    assert ("CONV_2D", "float32") in data_ops[:first_quantize], data_ops[: first_quantize + 1]
    for op in ("RSQRT", "SQUARED_DIFFERENCE", "BATCH_MATMUL", "SOFTMAX"):
        assert kinds[op] == {"float32"}, (op, kinds[op])
    # int8: the projections and the feed-forward (all their weights), the GELU lookup table.
    assert kinds["FULLY_CONNECTED"] == {"int8"}, kinds["FULLY_CONNECTED"]
    assert kinds["GELU"] == {"int8"} and "QUANTIZE" in kinds and "DEQUANTIZE" in kinds
    # int8 size: no float copy of the dense weights (33 K of the 34 K weights are in the block).
    float_path = to_tflite(model, str(tmp_path / "float.tflite"))
    size = {name: (tmp_path / f"{name}.tflite").stat().st_size for name in ("mixed", "int8", "float")}
    assert size["mixed"] < 1.1 * size["int8"] and size["mixed"] < 0.5 * size["float"], size

    expected = model(x).numpy()
    span = float(expected.max() - expected.min())

    def error(path):  # the median over clips of the largest logit error, as a fraction of the logit span
        return float(np.median(np.abs(TFLiteModel(path)(x) - expected).max(-1))) / span

    # Measured: float 1e-7, mixed 0.006, full int8 0.012 (its quiet clips keep few of the input's 256 levels).
    # Bounds: 2 output steps of int8 (2/255), and clearly below full int8.
    assert error(float_path) < 1e-5
    assert error(mixed) < 0.008 and error(mixed) < 0.7 * error(full), (error(mixed), error(full))


def test_int16x8_converts_layer_norms(transformer_and_data, tmp_path):
    """Keras' LayerNormalization lowers to NEG / SQUARED_DIFFERENCE (no 16x8 kernels); traced in SUB/MUL form."""
    model, calib, x = transformer_and_data
    call = keras.layers.LayerNormalization.call
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int16x8", representative_data=calib)
    assert keras.layers.LayerNormalization.call is call  # the tracing-time form does not leak
    ops = set(assert_builtin_only(path))
    assert not {"NEG", "SQUARED_DIFFERENCE"} & ops and "RSQRT" in ops
    expected = model(x).numpy()
    # int16 activations, int8 weights: measured 0.005 of the logit span; bound 4x.
    error = np.abs(TFLiteModel(path)(x) - expected).max() / float(expected.max() - expected.min())
    assert error < 0.02, error


def test_int8_mixed_is_a_mode_of_the_api_and_the_cli(transformer_and_data, tmp_path):
    assert "int8_mixed" in QUANTIZE_MODES
    args = build_parser().parse_args(["export", "--model", "m.keras", "--quantize", "int8_mixed", "--out", "m.tflite"])
    assert args.quantize == "int8_mixed"
    model, _, _ = transformer_and_data
    with pytest.raises(ValueError, match="representative_data"):
        to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8_mixed")
    with pytest.raises(ValueError, match="int8_io"):
        to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8_mixed", representative_data=np.zeros((2, SAMPLES)),
                  int8_io=True)  # fmt: skip


def _tiny_ast(num_classes=3):
    from tfaudio.models import build

    keras.utils.set_random_seed(0)
    return build("ast_base", num_classes, sample_rate=8000, clip_seconds=0.5, hidden_dim=32, num_layers=1,
                 num_heads=2, intermediate_dim=64, num_mel_bins=32)  # fmt: skip


def test_cli_exports_int8_mixed_calibrated_on_the_data(tmp_path):
    import json

    import soundfile as sf

    from tfaudio.cli.main import main

    rng = np.random.default_rng(0)
    for label in ("no", "yes"):
        for i in range(4):
            (tmp_path / "words" / label).mkdir(parents=True, exist_ok=True)
            sf.write(tmp_path / "words" / label / f"{i}.wav", 0.1 * rng.normal(size=4000), 8000, subtype="PCM_16")
    model = _tiny_ast(num_classes=2)
    model.save(tmp_path / "model.keras")
    (tmp_path / "labels.json").write_text(json.dumps(["no", "yes"]))
    out = tmp_path / "out" / "model_mixed.tflite"
    argv = ["export", "--model", str(tmp_path / "model.keras"), "--quantize", "int8_mixed",
            "--data", f"folder:{tmp_path / 'words'}?validation_split=0.25", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    ops = _dtypes(str(out))
    assert ("LOG", "float32") in ops and ("FULLY_CONNECTED", "int8") in ops, ops
    probabilities = TFLiteModel(str(out))(rng.normal(size=(2, 4000)).astype("float32") * 0.1)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)  # labels: a standard classifier


def test_int8_mixed_runs_the_kaldi_fbank_in_float_without_gain_stages(tmp_path):
    model = _tiny_ast()
    assert model.fbank.gain_stages == 3
    rng = np.random.default_rng(0)
    clips = rng.normal(size=(40, 4000)).astype("float32") * rng.uniform(0.003, 0.3, (40, 1)).astype("float32")
    path = to_tflite(model, str(tmp_path / "m.tflite"), quantize="int8_mixed", representative_data=clips[:32])
    assert_builtin_only(path)
    assert len(model.fbank._stage_clips) == 2  # the tracing-time form does not leak
    ops = _dtypes(path)
    # One float DFT (gain stages only serve int8) and the float patch embedding (one input channel).
    assert [dtype for op, dtype in ops if op == "CONV_2D"] == ["float32", "float32"], ops
    assert {dtype for op, dtype in ops if op == "LOG"} == {"float32"}
    dense = [dtype for op, dtype in ops if op == "FULLY_CONNECTED"]
    # Float: the fbank's mel matmul only; int8: q, k, v, attention output, feed-forward (2) and the logits.
    assert dense.count("float32") == 1 and dense.count("int8") == 7, dense
    expected = model(clips[32:]).numpy()
    got = TFLiteModel(path)(clips[32:])
    # Measured: 0.023 of the logit span (random weights: the 3 logits nearly tie, so the span is small
    # against the int8 activations' ranges); bound 1.5x.
    error = float(np.median(np.abs(got - expected).max(-1))) / float(expected.max() - expected.min())
    assert error < 0.035, error


def test_int8_mixed_classifier_loads_in_mediapipe(transformer_and_data, tmp_path):
    # The mode keeps float input/output and the standard metadata: MediaPipe's AudioClassifier scores
    # it as tfaudio's runner does, within one output quantisation step (the softmax's int8 output, 1/256).
    pytest.importorskip("mediapipe")
    from tests.export._mediapipe import clip_scores

    model, calib, x = transformer_and_data
    labels = ["a", "b", "c", "d"]
    path = to_tflite(model, str(tmp_path / "mixed.tflite"), quantize="int8_mixed", representative_data=calib,
                     labels=labels, sample_rate=8000)  # fmt: skip
    expected = TFLiteModel(path)(x)
    got, names = clip_scores(path, x, 8000, len(labels))
    assert names == labels
    np.testing.assert_allclose(got, expected, atol=1 / 256, rtol=0)
