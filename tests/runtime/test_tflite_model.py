"""TFLiteModel under load: one instance shared by 8 threads gives the sequential results."""

import concurrent.futures

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.export import to_tflite
from tfaudio.runtime import TFLiteModel


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("threads")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((400,))
    hidden = keras.layers.Dense(64, activation="relu")(keras.layers.Dense(128, activation="relu")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5)(hidden))
    x = np.random.default_rng(0).uniform(-1, 1, (32, 400)).astype("float32")
    return {
        "float": to_tflite(model, str(tmp / "f.tflite")),
        "int8": to_tflite(model, str(tmp / "q.tflite"), quantize="int8", representative_data=x),
    }


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_eight_threads_share_one_model(models, kind):
    """Issue 14: 281 of 320 such calls raised "There is at least 1 reference to internal data"."""
    runner = TFLiteModel(models[kind])
    rng = np.random.default_rng(1)
    # Mixed batch sizes, so threads also resize their tensors while others run.
    requests = [rng.uniform(-1, 1, (int(rng.integers(1, 5)), 400)).astype(np.float32) for _ in range(320)]
    expected = [runner(x) for x in requests]  # sequential, one thread
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(runner, requests))
    for want, out in zip(expected, got):
        np.testing.assert_array_equal(out, want)  # same interpreter kernels: bit-identical


def test_bad_requests_do_not_break_the_shared_model(models):
    runner = TFLiteModel(models["float"])
    good = np.zeros((2, 400), np.float32)
    want = runner(good)

    def call(i):
        if i % 3 == 0:
            with pytest.raises(ValueError, match="does not match the model's input"):
                runner(np.zeros((2, 399), np.float32))
            return None
        return runner(good)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = [r for r in pool.map(call, range(200)) if r is not None]
    assert len(results) == 133
    for out in results:
        np.testing.assert_array_equal(out, want)
