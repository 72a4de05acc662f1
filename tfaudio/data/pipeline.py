"""The tf.data steps every dataset shares: decode, resample, cache, shuffle, crop/pad, batch, prefetch."""

import hashlib
import os

import numpy as np
import tensorflow as tf

from tfaudio.clip import clip_samples
from tfaudio.data.split import DataSplits
from tfaudio.io import _check_rate, _check_seconds, load_audio

AUTOTUNE = tf.data.AUTOTUNE


def fit_length(audio, num_samples, seed=None):
    """Crops or zero-pads a 1-D waveform to `num_samples`.

    Without `seed` the clip is centred: a long clip keeps its middle `num_samples` (the extra
    sample of an odd excess goes to the end), a short clip gets `(n - len) // 2` zeros before
    and the rest after. With a stateless `seed` (shape [2] int) the offset is drawn uniformly
    instead: a random crop of a long clip, a random placement of a short one.
    """
    length = tf.shape(audio)[0]
    excess = tf.maximum(length - num_samples, 0)
    missing = tf.maximum(num_samples - length, 0)
    if seed is None:
        start, left = excess // 2, missing // 2
    else:
        # One draw serves both cases: at most one of `excess`, `missing` is non-zero.
        draw = tf.random.stateless_uniform([], seed=seed, minval=0, maxval=excess + missing + 1, dtype=tf.int32)
        start, left = tf.minimum(draw, excess), tf.minimum(draw, missing)
    audio = audio[start : start + num_samples]
    audio = tf.pad(audio, [[left, missing - left]])
    return tf.ensure_shape(audio, [num_samples])


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")


def _cache_file(cache, split, sample_rate, name):
    """`cache=PATH` is a folder; the file name carries a hash of the inputs so a stale cache is never reused."""
    os.makedirs(cache, exist_ok=True)
    key = hashlib.sha1(repr((split.paths, split.labels, sample_rate)).encode()).hexdigest()[:16]
    return os.path.join(os.fspath(cache), f"{name}-{sample_rate}hz-{key}")


def make_dataset(
    split,
    sample_rate,
    clip_seconds=1.0,
    batch_size=32,
    training=False,
    shuffle=None,
    seed=None,
    cache=False,
    validate=True,
    num_parallel_calls=AUTOTUNE,
    drop_remainder=False,
    shuffle_buffer=10000,
    min_seconds=None,
    max_seconds=None,
    name="data",
):
    """A `tf.data.Dataset` of `(waveform float32 [batch, samples], label int32 [batch])` from a `Split`.

    Steps: header check of every file (`validate`), parallel decoding + mono mixdown + soxr
    resampling through `tf.numpy_function` (`tfaudio.io.load_audio`), optional caching of the
    decoded audio, shuffling (seeded), crop/pad to `clip_seconds` (random when `training`,
    centred otherwise), batching and prefetch. Element order is deterministic; with a `seed`,
    shuffling and random crops are reproducible too (and still differ from epoch to epoch).

    A bad file is never dropped: `validate` raises `tfaudio.AudioError` listing the bad files
    before anything runs, and a problem only decoding shows (e.g. NaN samples) stops the
    iteration with a `tf.errors.InvalidArgumentError` whose message is the AudioError's, path
    and reason included.

    Args:
        split: `tfaudio.data.Split`. The files and their label indices.
        sample_rate: int. Rate of the returned waveforms (files are resampled as needed).
        clip_seconds: float or None. Output length; None keeps full clips and zero-pads each
            batch to its longest clip. Defaults to 1.0.
        batch_size: int. Defaults to 32.
        training: bool. Random crop/placement and (by default) shuffling. Defaults to False.
        shuffle: bool or None. Defaults to `training`.
        seed: int or None. Seeds shuffling and random crops. Defaults to None (not reproducible).
        cache: None, False or "none" (no cache); True or "memory" (decoded audio kept in memory);
            or a folder path (kept on disk and reused across runs; the cache file name inside it
            hashes the file list and the rate, so a changed dataset never reads a stale cache).
            Defaults to False.
        validate: bool. Header-check all files first. Defaults to True.
        num_parallel_calls: int. Parallel decoders. Defaults to `tf.data.AUTOTUNE`.
        drop_remainder: bool. Drop the last partial batch. Defaults to False.
        shuffle_buffer: int. Shuffle buffer when shuffling decoded (cached) audio; without a cache
            the file list itself is shuffled in full. Defaults to 10000.
        min_seconds, max_seconds: float or None. Strict duration checks on every file.
        name: str. Used in the disk-cache file name. Defaults to "data".
    """
    _check_batch_size(batch_size)
    _check_rate("sample_rate", sample_rate, allow_none=False)
    _check_seconds("min_seconds", min_seconds)
    _check_seconds("max_seconds", max_seconds)
    if clip_seconds is not None and (not isinstance(clip_seconds, (int, float)) or not clip_seconds > 0):
        raise ValueError(f"`clip_seconds` must be positive or None. Received: clip_seconds={clip_seconds!r}")
    if cache is None or cache is False or cache == "none":
        cache = False
    elif cache is not True and not isinstance(cache, (str, os.PathLike)):
        raise ValueError(
            f'`cache` must be None/False/"none", True/"memory" or a folder path. Received: cache={cache!r}'
        )
    if len(split) == 0:
        raise ValueError(f"The {name} split holds no files.")
    shuffle = training if shuffle is None else shuffle
    num_samples = clip_samples(sample_rate, clip_seconds)
    if validate:
        split.validate(min_seconds=min_seconds, max_seconds=max_seconds)

    def decode(path):
        audio, _ = load_audio(path.decode(), sample_rate=sample_rate, min_seconds=min_seconds, max_seconds=max_seconds)
        return audio

    def decode_element(path, label):
        audio = tf.numpy_function(decode, [path], tf.float32, stateful=False)
        audio.set_shape([None])
        return audio, label

    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(split.paths, tf.string), tf.constant(split.labels, tf.int32))
    )
    # Seeds for the shuffles and crops are drawn from one seeded stream.
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=2) if seed is not None else [None, None]
    cached = cache is not False
    if shuffle and not cached:  # shuffle names, not audio: cheap and a full permutation
        ds = ds.shuffle(len(split), seed=seeds[0], reshuffle_each_iteration=True)
    ds = ds.map(decode_element, num_parallel_calls=num_parallel_calls, deterministic=True)
    if cached:
        ds = ds.cache("" if cache in (True, "memory") else _cache_file(cache, split, sample_rate, name))
        if shuffle:
            ds = ds.shuffle(min(len(split), shuffle_buffer), seed=seeds[0], reshuffle_each_iteration=True)
    if num_samples is not None:

        def random_crop(element, crop_seed):
            audio, label = element
            return fit_length(audio, num_samples, seed=crop_seed), label

        def centre_crop(audio, label):
            return fit_length(audio, num_samples), label

        if training:
            # One stateless seed per element, from a seeded stream that changes every epoch.
            crop_seeds = tf.data.Dataset.random(seed=seeds[1], rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip((ds, crop_seeds))
            ds = ds.map(random_crop, num_parallel_calls=num_parallel_calls, deterministic=True)
        else:
            ds = ds.map(centre_crop, num_parallel_calls=num_parallel_calls, deterministic=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    else:
        ds = ds.padded_batch(batch_size, padded_shapes=([None], []), drop_remainder=drop_remainder)
    return ds.prefetch(AUTOTUNE)


def build_datasets(train, test, labels, sample_rate, clip_seconds=1.0, batch_size=32, validation=None, **kwargs):
    """`(train_ds, test_ds, labels)` from `Split`s: the training one shuffled with random crops.

    `test` and `validation` may be None (then their datasets are None). `kwargs` go to
    `make_dataset` for every split, except `shuffle`, which only applies to the training split
    (test and validation keep file order, centred crops). Returns a `DataSplits` whose
    `.validation` is the validation dataset.
    """
    for key in ("training", "name"):
        if key in kwargs:
            raise ValueError(f"`{key}` is set per split by build_datasets. Received: {key}={kwargs[key]!r}")
    shuffle = kwargs.pop("shuffle", None)  # the test split is never shuffled
    common = dict(sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size, **kwargs)
    train_ds = make_dataset(train, training=True, shuffle=shuffle, name="train", **common)
    test_ds = None if test is None else make_dataset(test, training=False, name="test", **common)
    val_ds = None if validation is None else make_dataset(validation, training=False, name="validation", **common)
    return DataSplits(train_ds, test_ds, list(labels), val_ds)
