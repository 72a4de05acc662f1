"""Precise BN: BatchNorm moving statistics become the mean of the trained network's batch statistics."""

import numpy as np
import pytest
import tensorflow as tf

from tests.training.test_trainer import _config, synthetic
from tfaudio.backend import keras
from tfaudio.training import reestimate_batch_norm, train
from tfaudio.training.batch_norm import batch_norm_layers


def bn_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(4, name="dense")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.99, name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(x))


def test_moving_statistics_are_the_mean_of_batch_statistics():
    keras.utils.set_random_seed(0)
    model = bn_model()
    rng = np.random.default_rng(0)
    batches = [(rng.normal(3.0, 2.0, (8, 6)).astype("float32"), np.zeros(8)) for _ in range(5)]
    assert reestimate_batch_norm(model, iter(batches), batches=4) == 1
    features = [np.asarray(model.get_layer("dense")(x)) for x, _ in batches[:4]]
    bn = model.get_layer("bn")
    # 1e-5: float32 running means over 4 batches vs NumPy float64; Keras uses the biased batch variance.
    np.testing.assert_allclose(np.asarray(bn.moving_mean), np.mean([f.mean(0) for f in features], 0), atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), np.mean([f.var(0) for f in features], 0), atol=1e-5)
    assert bn.momentum == 0.99  # restored


def test_sub_spectral_normalization_is_re_estimated_too():
    # BC-ResNet normalises with SubSpectralNormalization (its own moving statistics, Keras' momentum convention).
    from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization

    inputs = keras.Input((4, 10, 3))
    ssn = SubSpectralNormalization(num_groups=5, momentum=0.9, name="ssn")
    model = keras.Model(inputs, ssn(inputs))
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (8, 4, 10, 3)).astype("float32") for _ in range(3)]
    assert reestimate_batch_norm(model, batches) == 1
    # Moving statistics are the mean over the 3 batches of what one training call would average in.
    means, variances = [], []
    for x in batches:
        probe = SubSpectralNormalization(num_groups=5, momentum=0.0)
        probe(x, training=True)  # momentum 0: the moving statistics become this batch's
        means.append(np.asarray(probe.moving_mean))
        variances.append(np.asarray(probe.moving_variance))
    # 1e-5: float32 running means of 3 batches.
    np.testing.assert_allclose(np.asarray(ssn.moving_mean), np.mean(means, 0), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ssn.moving_variance), np.mean(variances, 0), atol=1e-5)
    assert ssn.momentum == 0.9  # restored


def test_nested_layers_are_found_and_a_model_without_batch_norm_is_left_alone():
    inner = bn_model()
    inputs = keras.Input((6,))
    outer = keras.Model(inputs, inner(inputs))
    assert [layer.name for layer in batch_norm_layers(outer)] == ["bn"]
    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    before = [w.copy() for w in plain.get_weights()]
    assert reestimate_batch_norm(plain, [np.ones((2, 6), "float32")]) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, plain.get_weights()))
    with pytest.raises(ValueError, match="batches=0"):
        reestimate_batch_norm(plain, [], batches=0)


def test_train_re_estimates_before_saving(tmp_path):
    def model_fn(num_classes):
        inputs = keras.Input((2000,))
        x = keras.layers.Reshape((2000, 1))(inputs)
        x = keras.layers.Conv1D(4, 64, strides=32, name="conv")(x)
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes)(x))

    x, y = synthetic(64, 0)
    xt, yt = synthetic(16, 1)
    # Not shuffled: the batches read back below are the ones the trainer averaged over.
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    test_ds, labels = tf.data.Dataset.from_tensor_slices((xt, yt)).batch(16), ["a", "b", "c"]
    config = _config(tmp_path, epochs=1, precise_bn_batches=3)
    _, model = train(config, data=(train_ds, test_ds, labels), model=model_fn, return_model=True)
    saved = keras.models.load_model(tmp_path / "run" / "model.keras")
    conv = model.get_layer("conv")
    features = [np.asarray(conv(tf.reshape(x, [-1, 2000, 1]))) for x, _ in train_ds.take(3)]
    expected = np.mean([f.mean(axis=(0, 1)) for f in features], 0)
    # 1e-5: float32 running mean over 3 batches vs NumPy.
    np.testing.assert_allclose(np.asarray(saved.get_layer("bn").moving_mean), expected, atol=1e-5)
