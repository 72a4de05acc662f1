"""profile_tflite: every op of float and int8 models timed alone, cut-out ops compute what they do in the model."""

import json

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.bench.profile import _interpreter, _one_op_model, _tensor_values, format_profile, profile_tflite
from tfaudio.export import to_tflite


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("profile")
    inputs = keras.Input((400,))
    x = keras.layers.Reshape((400, 1))(inputs)
    x = keras.layers.Conv1D(8, 9, strides=2, activation="relu")(x)
    x = keras.layers.MaxPooling1D(3)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    data = np.random.default_rng(0).uniform(-1, 1, (16, 400)).astype("float32")
    return {
        "float": to_tflite(model, str(tmp / "f.tflite")),
        "int8": to_tflite(model, str(tmp / "q.tflite"), quantize="int8", representative_data=data),
    }


def _op_count(path):
    interpreter = _interpreter(open(path, "rb").read(), 1, delegates=False)
    return len(interpreter._get_ops_details())


@pytest.mark.parametrize("kind,clock", [("float", "wall"), ("int8", "cpu")])
def test_every_op_is_timed(paths, kind, clock):
    r = profile_tflite(paths[kind], rounds=2, block_ms=0.2, warmup=1, clock=clock)
    assert r["clock"] == clock
    assert len(r["ops"]) == _op_count(paths[kind])
    assert [e["index"] for e in r["ops"]] == list(range(len(r["ops"])))
    assert all(e["ms"] is not None and e["ms"] >= 0 and isinstance(e["xnnpack"], bool) for e in r["ops"])
    assert r["model_ms"] > 0 and r["overhead_ms"] >= 0
    assert r["ops_total_ms"] == pytest.approx(sum(e["ms"] for e in r["ops"]))
    # Op types partition the ops.
    assert sum(t["count"] for t in r["op_types"]) == len(r["ops"])
    assert sum(t["ms"] for t in r["op_types"]) == pytest.approx(r["ops_total_ms"])
    assert [t["ms"] for t in r["op_types"]] == sorted((t["ms"] for t in r["op_types"]), reverse=True)
    conv = next(e for e in r["ops"] if e["op"] == "CONV_2D")
    assert conv["dtype"] == ("float32" if kind == "float" else "int8")
    assert conv["output_shape"] == [1, 1, 196, 8]
    json.dumps(r)  # JSON-friendly
    text = format_profile(r)
    assert "CONV_2D" in text and "| op type |" in text


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_cut_out_ops_reproduce_the_model(paths, kind):
    """Each one-op model, fed the values its inputs take in the model, outputs what the op outputs there."""
    from ai_edge_litert.tools import flatbuffer_utils

    content = open(paths[kind], "rb").read()
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    x = np.random.default_rng(1).uniform(-1, 1, (1, 400)).astype(np.float32)
    values = _tensor_values(content, [x], 1)
    for op in model.subgraphs[0].operators:
        one, sources = _one_op_model(model, op, values)
        interpreter = _interpreter(one, 1, delegates=False)
        interpreter.allocate_tensors()
        for details, source in zip(interpreter.get_input_details(), sources):
            interpreter.set_tensor(details["index"], values[source])
        interpreter.invoke()
        out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_array_equal(out, values[op.outputs[0]])


def test_bad_arguments(paths, tmp_path):
    with pytest.raises(ValueError, match="path"):
        profile_tflite(str(tmp_path / "missing.tflite"))
    with pytest.raises(ValueError, match="num_threads"):
        profile_tflite(paths["float"], num_threads=0)
    with pytest.raises(ValueError, match="rounds"):
        profile_tflite(paths["float"], rounds=0)
    with pytest.raises(ValueError, match="clock"):
        profile_tflite(paths["float"], clock="gpu")


def test_bench_profile_command_runs_without_tensorflow(paths, tmp_path):
    from tests.runtime.test_no_tensorflow import run_without_tensorflow

    out = tmp_path / "profile.json"
    stdout = run_without_tensorflow(
        f"""
        from tfaudio.cli.main import main
        assert main(["bench", {paths["int8"]!r}, "--runs", "3", "--warmup", "1", "--threads", "1", "2",
                     "--profile", {str(out)!r}, "--clock", "cpu"]) == 0
        """
    )
    profiles = json.loads(out.read_text())
    assert [p["num_threads"] for p in profiles] == [1, 2]
    assert all(len(p["ops"]) == _op_count(paths["int8"]) for p in profiles)
    assert "| op type |" in stdout and "CONV_2D" in stdout
