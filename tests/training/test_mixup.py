"""Mixup (Zhang et al. 2018): convex combinations with matching soft labels, Beta(alpha, alpha) weights, seeded."""

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.training import classification_loss, mix_up, mixup_dataset


def test_mixes_pairs_with_matching_soft_labels():
    n, classes = 512, 4
    x = np.eye(n, dtype=np.float32)  # row i marks example i, so each output row names its pair
    y = np.arange(n) % classes
    mixed, soft = mix_up(tf.constant(x), tf.constant(y), alpha=0.4, num_classes=classes, seed=tf.constant([1, 2]))
    mixed, soft = mixed.numpy(), soft.numpy()
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    lams = []
    for i, row in enumerate(mixed):
        others = [k for k in np.flatnonzero(row) if k != i]
        assert len(others) <= 1  # a mix of example i and at most one partner
        if not others:  # paired with itself (or lam exactly 0/1): the example unchanged
            np.testing.assert_allclose(soft[i], np.eye(classes)[y[i]], atol=1e-6)
            continue
        j, lam = others[0], row[i]
        np.testing.assert_allclose(row[i] + row[j], 1.0, atol=1e-6)
        expected = lam * np.eye(classes)[y[i]] + (1 - lam) * np.eye(classes)[y[j]]
        # The soft label is the same convex combination as the waveform; 1e-6: float32.
        np.testing.assert_allclose(soft[i], expected, atol=1e-6)
        lams.append(lam)
    lams = np.array(lams)
    # Beta(0.4, 0.4): mean 0.5, variance 1 / (4 * (2 * 0.4 + 1)) = 0.139; tolerance 4 standard errors.
    assert len(lams) > n - 10
    assert abs(lams.mean() - 0.5) < 4 * np.sqrt(0.139 / len(lams))
    assert abs(lams.var() - 0.139) < 0.03
    assert (lams < 0.1).mean() > 0.15 and (lams > 0.9).mean() > 0.15  # U-shaped for alpha < 1


def test_dataset_is_reproducible_and_loss_accepts_soft_labels():
    x = np.random.default_rng(0).normal(size=(32, 10)).astype("float32")
    y = np.arange(32) % 3
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    a = [b[0].numpy() for b in mixup_dataset(ds, 0.2, 3, seed=5)]
    b = [b[0].numpy() for b in mixup_dataset(ds, 0.2, 3, seed=5)]
    c = [b[0].numpy() for b in mixup_dataset(ds, 0.2, 3, seed=6)]
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
    assert not np.array_equal(np.concatenate(a), np.concatenate(c))
    _, soft = next(iter(mixup_dataset(ds, 0.2, 3, seed=5)))
    logits = tf.random.normal([8, 3])
    loss = classification_loss(soft_labels=True)(soft, logits)
    # Expected cross-entropy under the soft target, computed by hand.
    expected = -np.mean(np.sum(soft.numpy() * tf.nn.log_softmax(logits).numpy(), axis=1))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        mix_up(tf.zeros([2, 3]), tf.zeros([2], tf.int32), alpha=0.0, num_classes=2, seed=tf.constant([0, 0]))
