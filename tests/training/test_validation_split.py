"""`train` with a source's validation split: it drives validation metrics and best.keras; test only measures.

The run folder also gets its pictures (training curves, test confusion matrix)."""

import importlib.util
import json

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.data import DataSplits
from tfaudio.training import TrainConfig, train

SAMPLES = 400


def constant_model(num_classes):
    """Always predicts class 0: accuracy is the share of label-0 examples, whatever the weights."""
    inputs = keras.Input(shape=(SAMPLES,), name="waveform")
    x = keras.layers.Lambda(lambda t: t[:, :1] * 0.0)(inputs)
    outputs = keras.layers.Dense(num_classes, kernel_initializer="zeros",
                                 bias_initializer=keras.initializers.Constant([5.0, 0.0]), trainable=False)(x)
    return keras.Model(inputs, outputs, name="constant")


def splits(batch):
    x = np.zeros((8, SAMPLES), np.float32)
    ds = lambda label: tf.data.Dataset.from_tensor_slices((x, np.full(8, label, np.int32))).batch(batch)  # noqa: E731
    return DataSplits(ds(0), ds(1), ["a", "b"], validation=ds(0))  # validation all "a", test all "b"


def test_validation_split_selects_and_test_measures(tmp_path):
    config = TrainConfig(model="constant", out=str(tmp_path / "run"), epochs=1, sample_rate=8000,
                         clip_seconds=SAMPLES / 8000, batch_size=4, strategy="one_device", verbose=0,
                         monitor="val_accuracy")
    result = train(config, data=splits, model=constant_model)
    assert result["history"][0]["val_accuracy"] == 1.0  # measured on the validation split
    assert result["test"]["accuracy"] == 0.0  # the final figure is on the test split
    assert json.loads((tmp_path / "run" / "checkpoints" / "best.json").read_text())["value"] == 1.0
    if importlib.util.find_spec("matplotlib"):  # the run's pictures (tfaudio.plots)
        for name in ("training_curves.png", "confusion_matrix.png"):
            assert (tmp_path / "run" / name).read_bytes()[:4] == b"\x89PNG"
