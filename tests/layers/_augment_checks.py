"""Checks shared by the augmentation layer tests: identity at inference, seeding, export."""

import numpy as np

from tests import harness
from tfaudio.backend import keras


def check_identity_at_inference(layer, x):
    """training=False (and the default) returns the input unchanged, bit for bit."""
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)


def check_seeded(layer_class, x, **kwargs):
    """Same seed -> same draws; successive calls and other seeds -> different draws."""
    a, b, c = layer_class(seed=7, **kwargs), layer_class(seed=7, **kwargs), layer_class(seed=8, **kwargs)
    first_a = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first_a, np.asarray(b(x, training=True)))
    assert not np.array_equal(first_a, np.asarray(c(x, training=True)))
    assert not np.array_equal(first_a, np.asarray(a(x, training=True)))  # the stream advances


def check_round_trips_and_tflite(layer, x, tmp_path, head=None):
    """Config and .keras round trips; a model holding the layer converts to builtin-only TFLite
    (float and int8) and the layer is absent there: TFLite output equals the model without it."""
    harness.check_config_round_trip(layer, x)
    inputs = keras.Input(shape=x.shape[1:])
    y = layer(inputs)
    y = head(y) if head is not None else keras.layers.Dense(3, name="head")(keras.layers.Flatten()(y))
    model = keras.Model(inputs, y)
    harness.check_keras_round_trip(model, x, tmp_path)
    # atol 1e-4: the dense head sums up to 8000 float32 products; TFLite (XNNPACK) and TF
    # accumulate in different orders (observed up to 1e-5 on outputs of magnitude ~5).
    harness.check_tflite(model, x, tmp_path, atol=1e-4, name=layer.name)
    _, _, ops = harness.check_tflite(model, x, tmp_path, quantize="int8", representative_data=x, name=layer.name)
    random_ops = [op for op in ops if "RANDOM" in op or "MULTINOMIAL" in op]
    assert not random_ops, ops
    return model
