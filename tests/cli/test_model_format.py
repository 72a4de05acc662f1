"""`tfaudio evaluate` / `export` take the sample rate and clip length from the model itself, not from fallbacks."""

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.cli.common import audio_format
from tfaudio.cli.evaluate import evaluate
from tfaudio.errors import UserError
from tfaudio.export import TFLiteModel, to_tflite
from tfaudio.models import build


def test_arguments_then_model_then_run_config():
    recorded = {"sample_rate": 8000, "clip_seconds": 0.5}
    run = {"sample_rate": 16000, "clip_seconds": 1.0}
    assert audio_format(recorded, run) == (8000, 0.5)
    assert audio_format({}, run) == (16000, 1.0)
    assert audio_format(recorded, run, sample_rate=22050, clip_seconds=2.0) == (22050, 2.0)
    with pytest.raises(UserError, match="--sample-rate"):
        audio_format({}, {})
    with pytest.raises(UserError, match="--clip-seconds"):
        audio_format({"sample_rate": 8000}, {})


def test_keras_and_tflite_models_without_run_folder(fsdd, tmp_path):
    keras.utils.set_random_seed(0)
    tiny = dict(sinc_filters=8, sinc_kernel_size=51, conv_filters=(8, 8), dense_units=(16,))
    model = build("sincnet", 10, sample_rate=8000, clip_seconds=0.5, **tiny)
    model.save(tmp_path / "model.keras")
    path = to_tflite(model, str(tmp_path / "model.tflite"))
    assert {"sample_rate": 8000, "clip_seconds": 0.5}.items() <= TFLiteModel(path).metadata.items()
    data = f"fsdd:{fsdd}"  # the official test split: 300 clips
    from_keras = evaluate(str(tmp_path / "model.keras"), data)
    from_tflite = evaluate(path, data)
    assert from_keras["examples"] == from_tflite["examples"] == 300
    assert from_keras["accuracy"] == from_tflite["accuracy"]

    # A .tflite that records neither, with no run folder: the error names the flag.
    inputs = keras.Input((4000,))
    plain = keras.Model(inputs, keras.layers.Dense(10)(inputs))
    bare = to_tflite(plain, str(tmp_path / "plain" / "plain.tflite"))
    with pytest.raises(UserError, match="--sample-rate"):
        evaluate(bare, data)
    assert np.isfinite(evaluate(bare, data, sample_rate=8000, clip_seconds=0.5)["accuracy"])
