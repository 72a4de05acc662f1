"""tflite_latency: reports its fields for float and int8 models; bad arguments are named."""

import pytest

from tfaudio.bench import tflite_latency


@pytest.fixture
def paths(dense_tflite):
    return dense_tflite


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_fields(paths, kind):
    r = tflite_latency(paths[kind], num_threads=2, runs=5, warmup=1)
    assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"]
    assert r["mean_ms"] > 0 and r["runs"] == 5 and r["num_threads"] == 2
    assert r["input_shape"] == [1, 64]
    assert r["input_dtype"] == ("float32" if kind == "float" else "int8")
    assert r["size_bytes"] > 0


def test_bad_arguments(paths, tmp_path):
    with pytest.raises(ValueError, match="path"):
        tflite_latency(str(tmp_path / "missing.tflite"))
    with pytest.raises(ValueError, match="num_threads"):
        tflite_latency(paths["float"], num_threads=0)
