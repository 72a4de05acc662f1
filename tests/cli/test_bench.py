"""`tfaudio bench`: several models, --out, --report, and errors that name the file."""

import json

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.cli.main import main
from tfaudio.export import to_tflite


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench_cli")
    inputs = keras.Input((32,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    x = np.random.default_rng(0).uniform(-1, 1, (8, 32)).astype("float32")
    return [
        to_tflite(model, str(tmp / "f.tflite")),
        to_tflite(model, str(tmp / "q.tflite"), quantize="int8", representative_data=x),
    ]


def test_report_and_out(paths, tmp_path, capsys):
    report_path, out_path = tmp_path / "device.json", tmp_path / "out.json"
    args = ["bench", *paths, "--threads", "1", "2", "--runs", "3", "--warmup", "1"]
    assert main([*args, "--report", str(report_path), "--name", "ci box", "--out", str(out_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("thread(s) p50") == 4
    report = json.loads(report_path.read_text())
    assert report["name"] == "ci box" and report["settings"]["threads"] == [1, 2]
    assert [m["file"] for m in report["models"]] == ["f.tflite", "q.tflite"]
    out = json.loads(out_path.read_text())
    assert [(r["path"], r["num_threads"]) for r in out] == [(p, t) for p in paths for t in (1, 2)]
    # The report holds the numbers that were printed and written to --out, not a second measurement.
    assert report["models"][1]["latency"][1]["p50_ms"] == out[3]["p50_ms"]


def test_missing_file_is_named(tmp_path, capsys):
    missing = str(tmp_path / "nope.tflite")
    assert main(["bench", missing, "--runs", "1"]) == 2  # one error line (tfaudio.cli.main)
    assert "nope.tflite" in capsys.readouterr().err
