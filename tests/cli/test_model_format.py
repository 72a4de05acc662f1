"""`tfaudio evaluate` / `export` take the sample rate and clip length from the model itself, not from fallbacks."""

import csv

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.cli.common import audio_format
from tfaudio.cli.evaluate import evaluate
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.models import build


@pytest.fixture(scope="module")
def manifest(fsdd, tmp_path_factory):
    """Digits 0 and 1 of one speaker, 8 kHz: takes 0-3 test, 5-6 train (a manifest needs both)."""
    path = tmp_path_factory.mktemp("data") / "manifest.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split"])
        for digit in range(2):
            for take in (0, 1, 2, 3, 5, 6):
                split = "test" if take < 5 else "train"
                w.writerow([str(fsdd / "recordings" / f"{digit}_jackson_{take}.wav"), str(digit), split])
    return path


def test_arguments_then_model_then_run_config():
    recorded = {"sample_rate": 8000, "clip_seconds": 0.5}
    run = {"sample_rate": 16000, "clip_seconds": 1.0}
    assert audio_format(recorded, run) == (8000, 0.5)
    assert audio_format({}, run) == (16000, 1.0)
    assert audio_format(recorded, run, sample_rate=22050, clip_seconds=2.0) == (22050, 2.0)
    with pytest.raises(SystemExit, match="--sample-rate"):
        audio_format({}, {})
    with pytest.raises(SystemExit, match="--clip-seconds"):
        audio_format({"sample_rate": 8000}, {})


def test_keras_and_tflite_models_without_run_folder(manifest, tmp_path):
    keras.utils.set_random_seed(0)
    tiny = dict(sinc_filters=8, sinc_kernel_size=51, conv_filters=(8, 8), dense_units=(16,))
    model = build("sincnet", 2, sample_rate=8000, clip_seconds=0.5, **tiny)
    model.save(tmp_path / "model.keras")
    path = to_tflite(model, str(tmp_path / "model.tflite"))
    assert {"sample_rate": 8000, "clip_seconds": 0.5}.items() <= TFLiteModel(path).metadata.items()
    data = f"manifest:{manifest}"
    from_keras = evaluate(str(tmp_path / "model.keras"), data)
    from_tflite = evaluate(path, data)
    assert from_keras["examples"] == from_tflite["examples"] == 8
    assert from_keras["accuracy"] == from_tflite["accuracy"]

    # A .tflite that records neither, with no run folder: the error names the flag.
    inputs = keras.Input((4000,))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    bare = to_tflite(plain, str(tmp_path / "plain" / "plain.tflite"))
    with pytest.raises(SystemExit, match="--sample-rate"):
        evaluate(bare, data)
    assert np.isfinite(evaluate(bare, data, sample_rate=8000, clip_seconds=0.5)["accuracy"])
