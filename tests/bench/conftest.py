"""A small float and full-int8 (int8 input/output) `.tflite` pair shared by the bench tests."""

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.export import to_tflite


@pytest.fixture(scope="session")
def dense_tflite(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dense_tflite")
    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Dense(16, activation="relu")(inputs)))
    x = np.random.default_rng(0).uniform(-1, 1, (8, 64)).astype("float32")
    return {
        "float": to_tflite(model, str(tmp / "f.tflite")),
        "int8": to_tflite(model, str(tmp / "q.tflite"), quantize="int8", representative_data=x, int8_io=True),
    }
