"""The runtime part of tfaudio (runner, metadata, audio loading, latency, `tfaudio bench`) never imports TensorFlow.

Each check runs in a fresh interpreter whose import system refuses `tensorflow`, `keras` and
`tf_keras`, so a stray import fails loudly instead of passing because TensorFlow happens to be
installed here.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.export import to_tflite
from tfaudio.layers import PeakNormalization
from tfaudio.runtime import TFLiteModel

REPO = pathlib.Path(__file__).resolve().parents[2]

# Prepended to every child script: importing TensorFlow (or Keras) raises.
BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import sys

    class _NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"blocked: {name} imported by the TensorFlow-free runtime")
            return None

    sys.meta_path.insert(0, _NoTensorFlow())
    """
)


def run_without_tensorflow(code, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_TENSORFLOW + textwrap.dedent(code)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def test_runtime_modules_import_no_tensorflow():
    out = run_without_tensorflow(
        """
        import tfaudio, tfaudio.runtime, tfaudio.io, tfaudio.bench, tfaudio.cli.bench
        from tfaudio.runtime import TFLiteModel, read_metadata, peak_normalize, tflite_op_names
        from tfaudio.bench import tflite_latency, device_report, profile_tflite
        from tfaudio.streaming import StreamingRunner, Detector, RecognizeCommands
        from tfaudio.prediction import predict
        from tfaudio.cli.main import build_parser
        build_parser().parse_args(["bench", "model.tflite", "--threads", "1", "2"])
        build_parser().parse_args(["detect", "audio.wav", "--model", "stream.tflite"])
        build_parser().parse_args(["evaluate", "--model", "model.tflite", "--data", "folder:x"])
        build_parser().parse_args(["predict", "clip.wav", "--model", "model.tflite"])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
        print(loaded)
        """
    )
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A float and a full-int8 model with a leading PeakNormalization (so metadata matters), and inputs."""
    tmp = tmp_path_factory.mktemp("runtime")
    inputs = keras.Input((256,))
    x = PeakNormalization()(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    rng = np.random.default_rng(0)
    waves = (rng.uniform(-1, 1, (6, 256)) * rng.uniform(0.01, 1.0, (6, 1))).astype("float32")
    np.save(tmp / "waves.npy", waves)
    paths = {
        "float": to_tflite(model, str(tmp / "f.tflite"), metadata={"labels": ["a", "b", "c", "d"]}),
        "int8": to_tflite(model, str(tmp / "q.tflite"), quantize="int8", representative_data=waves),
    }
    return tmp, paths


def test_runner_and_bench_run_without_tensorflow(exported):
    tmp, paths = exported
    run_without_tensorflow(
        f"""
        import json
        import numpy as np
        from tfaudio.cli.main import main
        from tfaudio.runtime import TFLiteModel

        waves = np.load("waves.npy")
        report = {{}}
        for kind, path in {paths!r}.items():
            runner = TFLiteModel(path, num_threads=1)
            np.save(kind + "_out.npy", runner.predict(waves, batch_size=4))
            report[kind] = {{"metadata": runner.metadata, "ops": runner.op_names()}}
            assert main(["bench", path, "--runs", "3", "--warmup", "1", "--out", kind + "_bench.json"]) == 0
        with open("report.json", "w") as f:
            json.dump(report, f)
        """,
        cwd=tmp,
    )
    report = json.loads((tmp / "report.json").read_text())
    waves = np.load(tmp / "waves.npy")
    for kind, path in paths.items():
        runner = TFLiteModel(path, num_threads=1)
        # Same file, same interpreter settings, same LiteRT: the outputs are the same bits.
        np.testing.assert_array_equal(np.load(tmp / f"{kind}_out.npy"), runner.predict(waves, batch_size=4))
        assert report[kind]["metadata"] == runner.metadata
        # Float and int8 (float I/O) files peak-normalise inside the graph: nothing for the runner to do.
        assert "input_normalization" not in report[kind]["metadata"]
        assert report[kind]["ops"] == runner.op_names()
        bench = json.loads((tmp / f"{kind}_bench.json").read_text())
        assert bench[0]["runs"] == 3 and bench[0]["p50_ms"] > 0
    assert report["float"]["metadata"]["labels"] == ["a", "b", "c", "d"]
    assert "FULLY_CONNECTED" in report["int8"]["ops"]


def test_predict_runs_without_tensorflow(exported):
    """`tfaudio predict` and `tfaudio.predict` on a .tflite model: LiteRT + NumPy + soundfile only."""
    tmp, paths = exported
    labelled = to_tflite(keras.models.Sequential([keras.Input((256,)), keras.layers.Dense(4)]),
                         str(tmp / "labelled.tflite"), labels=["a", "b", "c", "d"], sample_rate=8000)  # fmt: skip
    out = run_without_tensorflow(
        f"""
        import numpy as np, soundfile as sf
        import tfaudio
        from tfaudio.cli.main import main
        sf.write("long.wav", np.random.default_rng(0).uniform(-0.5, 0.5, 3000).astype("float32"), 8000)
        (result,) = tfaudio.predict("long.wav", model={labelled!r}, top_k=2)
        assert result.error is None and len(result.labels) == 2, result
        assert main(["predict", "long.wav", "--model", {labelled!r}, "--format", "json", "--progress", "off"]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
        print("LOADED", loaded)
        """,
        cwd=tmp,
    )
    assert "LOADED []" in out
