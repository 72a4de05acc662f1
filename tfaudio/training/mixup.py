"""Mixup on batches of waveforms (Zhang et al., ICLR 2018, arXiv 1710.09412)."""

import tensorflow as tf


def mix_up(waveforms, labels, alpha, num_classes, seed):
    """Mixes a batch with a shuffled copy of itself.

    Per example, `lam ~ Beta(alpha, alpha)`; the result is `lam * x_i + (1 - lam) * x_j`
    with soft label `lam * y_i + (1 - lam) * y_j`, where `j` is a random permutation of
    the batch. Train with `tfaudio.training.losses.classification_loss(soft_labels=True)`.

    Args:
        waveforms: float tensor `[batch, samples]` (any rank >= 1 works).
        labels: int tensor `[batch]` or float one-hot/soft tensor `[batch, num_classes]`.
        alpha: float > 0. Beta distribution parameter.
        num_classes: int. Width of the soft labels.
        seed: int tensor `[2]`. Stateless seed.

    Returns:
        `(mixed_waveforms, soft_labels float32 [batch, num_classes])`.
    """
    if alpha <= 0:
        raise ValueError(f"`alpha` must be positive. Received: alpha={alpha!r}")
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    if labels.shape.rank == 1:
        labels = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
    labels = tf.cast(labels, tf.float32)
    batch = tf.shape(waveforms)[0]
    a = tf.random.stateless_gamma([batch], seed=seeds[0], alpha=alpha)
    b = tf.random.stateless_gamma([batch], seed=seeds[1], alpha=alpha)
    lam = a / (a + b)
    order = tf.argsort(tf.random.stateless_uniform([batch], seed=seeds[2]))
    lam_x = tf.reshape(tf.cast(lam, waveforms.dtype), [-1] + [1] * (waveforms.shape.rank - 1))
    mixed = lam_x * waveforms + (1 - lam_x) * tf.gather(waveforms, order)
    soft = lam[:, None] * labels + (1 - lam[:, None]) * tf.gather(labels, order)
    return mixed, soft


def mixup_dataset(dataset, alpha, num_classes, seed=0):
    """Applies `mix_up` to every batch of a `(waveforms, labels)` dataset, reproducibly from `seed`."""
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return tf.data.Dataset.zip((dataset, seeds)).map(
        lambda batch, s: mix_up(batch[0], batch[1], alpha, num_classes, s),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )


def one_hot_dataset(dataset, num_classes):
    """Integer labels -> one-hot float labels (evaluation data of a mixup run)."""
    return dataset.map(lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), num_classes)), num_parallel_calls=tf.data.AUTOTUNE)
