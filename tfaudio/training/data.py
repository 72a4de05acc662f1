"""The datasets of a training run: read from the data spec, mixup, sharding options, prefetch."""

import tensorflow as tf

from tfaudio.training import mixup, strategy as strategies


def load_data(config, global_batch_size):
    """`DataSplits(train_ds, test_ds, labels, validation)` of `config.data` through `tfaudio.data.from_spec`."""
    from tfaudio import data as tfdata

    splits = tfdata.from_spec(
        config.data,
        sample_rate=config.sample_rate,
        clip_seconds=config.clip_seconds,
        batch_size=global_batch_size,
        seed=config.seed,
        cache=config.cache,
    )
    train_ds, test_ds, labels = splits
    return tfdata.DataSplits(train_ds, test_ds, [str(x) for x in labels], getattr(splits, "validation", None))


def count_batches(dataset):
    """Batches in `dataset` (counted by iterating when its cardinality is unknown)."""
    n = int(dataset.cardinality())
    if n >= 0:
        return n
    return sum(1 for _ in dataset)


def prepare_datasets(train_ds, test_ds, num_classes, config):
    """Mixup (soft labels) on training batches, auto-shard options, prefetch."""
    if config.mixup:
        train_ds = mixup.mixup_dataset(train_ds, config.mixup, num_classes, seed=config.seed)
    elif config.label_smoothing:
        train_ds = mixup.one_hot_dataset(train_ds, num_classes)
    train_ds = strategies.shard_options(train_ds).prefetch(tf.data.AUTOTUNE)
    return train_ds, prepare_eval_dataset(test_ds, num_classes, config)


def prepare_eval_dataset(ds, num_classes, config):
    """A test or validation dataset as `prepare_datasets` leaves it (one-hot labels with mixup); None stays None."""
    if ds is None:
        return None
    if config.mixup or config.label_smoothing:
        ds = mixup.one_hot_dataset(ds, num_classes)
    return strategies.shard_options(ds).prefetch(tf.data.AUTOTUNE)
