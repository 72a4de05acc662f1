"""to_saved_model: a serving signature with logits, probabilities and label names."""

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.export import to_saved_model


@pytest.fixture(scope="module")
def model():
    inputs = keras.Input((32,))
    return keras.Model(inputs, keras.layers.Dense(3)(inputs))


def test_signature_outputs_match_keras(model, tmp_path):
    path = to_saved_model(model, str(tmp_path / "m"), version=2, labels=["yes", "no", "maybe"])
    assert path.endswith("2")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    x = np.random.default_rng(0).uniform(-1, 1, (5, 32)).astype("float32")
    out = serve(waveform=tf.constant(x))
    expected = model(x).numpy()
    np.testing.assert_allclose(out["logits"].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, atol=1e-6)
    names = np.array(["yes", "no", "maybe"])[expected.argmax(-1)]
    assert [s.decode() for s in out["labels"].numpy()] == list(names)


def test_wrong_length_and_nan_are_named(model, tmp_path):
    serve = tf.saved_model.load(to_saved_model(model, str(tmp_path / "m"))).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"waveform` must be float32 \[batch, 32\]"):
        serve(waveform=tf.zeros((2, 31)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
        serve(waveform=tf.fill((2, 32), np.nan))


def test_bad_arguments(model, tmp_path):
    with pytest.raises(ValueError, match="version"):
        to_saved_model(model, str(tmp_path / "m"), version=0)
    with pytest.raises(ValueError, match="labels"):
        to_saved_model(model, str(tmp_path / "m"), labels=["a"])
