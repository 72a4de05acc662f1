"""tfaudio.data.pipeline: crop/pad, seeded determinism, caching, resampling, bad files in a dataset."""

import os

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

import tfaudio
from tfaudio.data import Split, fit_length, from_folder, make_dataset
from tfaudio.io import load_audio


def _write(path, samples, rate=8000, subtype="PCM_16", value=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(samples)
    audio = (rng.uniform(-0.5, 0.5, samples) if value is None else np.full(samples, value)).astype(np.float32)
    sf.write(path, audio, rate, subtype=subtype)
    return str(path)


@pytest.fixture
def small_split(tmp_path):
    """Twelve clips of different lengths (0.05-0.3 s at 8 kHz), labels 0-2."""
    paths = [_write(tmp_path / f"clip{i:02d}.wav", 400 + 173 * i) for i in range(12)]
    return Split(paths, [i % 3 for i in range(12)])


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_fit_length_centred():
    x = tf.range(10, dtype=tf.float32)
    np.testing.assert_array_equal(fit_length(x, 4), [3, 4, 5, 6])  # excess 6: 3 before, 3 after
    np.testing.assert_array_equal(fit_length(x, 7), [1, 2, 3, 4, 5, 6, 7])  # odd excess: extra sample at the end
    np.testing.assert_array_equal(fit_length(x[:3], 6), [0, 0, 1, 2, 0, 0])  # missing 3: 1 before, 2 after
    np.testing.assert_array_equal(fit_length(x, 10), np.arange(10))


def test_fit_length_random_is_a_window_and_seeded():
    x = tf.range(1, 101, dtype=tf.float32)
    starts = set()
    for s in range(20):
        out = fit_length(x, 30, seed=tf.constant([s, 0], tf.int64)).numpy()
        start = int(out[0]) - 1
        np.testing.assert_array_equal(out, np.arange(start + 1, start + 31))  # a contiguous crop
        starts.add(start)
        np.testing.assert_array_equal(out, fit_length(x, 30, seed=tf.constant([s, 0], tf.int64)))
    assert len(starts) > 5 and min(starts) >= 0 and max(starts) <= 70
    padded = fit_length(x[:10], 25, seed=tf.constant([7, 0], tf.int64)).numpy()
    nz = np.flatnonzero(padded)
    np.testing.assert_array_equal(padded[nz[0] : nz[0] + 10], np.arange(1, 11))  # placed whole, zeros around
    assert nz.size == 10


def test_eval_dataset_shapes_order_and_lengths(small_split):
    x, y = _collect(make_dataset(small_split, sample_rate=8000, clip_seconds=0.1, batch_size=5))
    assert x.shape == (12, 800) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(y, small_split.labels)
    np.testing.assert_array_equal(x[0, :200], 0)  # clip00 has 400 samples: centred, 200 zeros first
    assert np.count_nonzero(x[0]) > 390
    full, _ = _collect(make_dataset(small_split, sample_rate=8000, clip_seconds=None, batch_size=12))
    assert full.shape == (12, 400 + 173 * 11)  # no crop: batch padded to its longest clip
    np.testing.assert_array_equal(full[3, : 400 + 173 * 3], load_audio(small_split.paths[3])[0])


def test_drop_remainder(small_split):
    ds = make_dataset(small_split, sample_rate=8000, clip_seconds=0.1, batch_size=5, drop_remainder=True)
    assert [x.shape[0] for x, _ in ds] == [5, 5]


def test_seeded_training_is_reproducible_and_reshuffles(small_split):
    def epochs(seed, cache=False):
        ds = make_dataset(small_split, 8000, 0.05, batch_size=4, training=True, seed=seed, cache=cache)
        return [_collect(ds) for _ in range(2)]

    (x1, y1), (x2, y2) = epochs(seed=5)
    (x1b, y1b), (x2b, y2b) = epochs(seed=5)
    np.testing.assert_array_equal(x1, x1b)  # same seed: same order and same random crops
    np.testing.assert_array_equal(x2, x2b)
    assert not np.array_equal(y1, y2) or not np.array_equal(x1, x2)  # a new order/crop each epoch
    assert sorted(y1) == sorted(small_split.labels)  # every file exactly once per epoch
    (x_other, _), _ = epochs(seed=6)
    assert not np.array_equal(x1, x_other)
    (xc1, _), (xc2, _) = epochs(seed=5, cache=True)
    (xc1b, _), _ = epochs(seed=5, cache=True)
    np.testing.assert_array_equal(xc1, xc1b)


def test_cache_on_disk_is_reused_and_keyed(tmp_path, small_split):
    cache = tmp_path / "cache"
    first = _collect(make_dataset(small_split, 8000, 0.1, batch_size=4, cache=str(cache)))
    files = sorted(os.listdir(cache))
    assert files and all("8000hz" in f for f in files)
    second = _collect(make_dataset(small_split, 8000, 0.1, batch_size=4, cache=str(cache)))
    np.testing.assert_array_equal(first[0], second[0])
    make_dataset(small_split, 16000, 0.1, batch_size=4, cache=str(cache)).reduce(0, lambda s, _: s)
    assert any("16000hz" in f for f in os.listdir(cache))  # another rate never reads the 8 kHz cache


def test_pipeline_resamples_with_load_audio(small_split):
    x, _ = _collect(make_dataset(small_split, sample_rate=16000, clip_seconds=None, batch_size=1).take(1))
    expected, _ = load_audio(small_split.paths[0], sample_rate=16000)
    np.testing.assert_array_equal(x[0], expected)  # same soxr path as load_audio


def _folder_with_one_bad_file(tmp_path, bad):
    for label in ("cat", "dog"):
        for i in range(3):
            _write(tmp_path / label / f"{i}.wav", 800 + i)
    path = tmp_path / "dog" / "9_bad.wav"
    if bad == "empty":
        path.write_bytes(b"")
    elif bad == "nan":
        _write(path, 800, subtype="FLOAT", value=np.nan)
    return str(path)


def test_one_bad_file_is_named_before_training(tmp_path):
    bad = _folder_with_one_bad_file(tmp_path, "empty")
    with pytest.raises(tfaudio.AudioError) as info:
        from_folder(tmp_path, sample_rate=8000)
    message = str(info.value)
    assert "1 of 7 audio files are bad" in message and f"{bad}: empty file" in message
    assert message.count(str(tmp_path)) == 1  # only the bad file is listed


@pytest.mark.parametrize("bad_kind, validate", [("empty", False), ("nan", True)])
def test_one_bad_file_stops_iteration_and_is_named(tmp_path, bad_kind, validate):
    # NaN samples pass the header check; without validation an empty file is only met when decoding.
    bad = _folder_with_one_bad_file(tmp_path, bad_kind)
    train_ds, test_ds, labels = from_folder(tmp_path, sample_rate=8000, batch_size=2, validate=validate, seed=0)
    assert labels == ["cat", "dog"] and test_ds is None
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"AudioError: {bad}: "):
        for _ in train_ds:  # the bad file is never skipped silently
            pass


def test_bad_arguments(small_split):
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        make_dataset(small_split, 8000, batch_size=0)
    with pytest.raises(ValueError, match="Received: sample_rate=None"):
        make_dataset(small_split, None)
    with pytest.raises(ValueError, match="Received: clip_seconds=0"):
        make_dataset(small_split, 8000, clip_seconds=0)
    with pytest.raises(ValueError, match="Received: cache=3"):
        make_dataset(small_split, 8000, cache=3)
    for no_cache in (None, False, "none"):  # the CLI passes None for --cache none
        make_dataset(small_split, 8000, cache=no_cache)
    with pytest.raises(ValueError, match="same length"):
        Split(["a.wav"], [0, 1])


def test_stereo_44k1_file_among_8k_files_is_mixed_and_resampled(tmp_path, small_split):
    path = str(tmp_path / "stereo44k.wav")
    rng = np.random.default_rng(1)
    sf.write(path, rng.uniform(-0.5, 0.5, (4410, 2)).astype(np.float32), 44100, subtype="FLOAT")
    split = Split(small_split.paths[:2] + (path,), [0, 1, 2])
    x, y = _collect(make_dataset(split, sample_rate=8000, clip_seconds=None, batch_size=3))
    expected, rate = load_audio(path, sample_rate=8000)  # documented: channel mean, then soxr 44.1k -> 8k
    assert rate == 8000 and expected.shape == (800,)
    np.testing.assert_array_equal(x[2, :800], expected)
    np.testing.assert_array_equal(x[2, 800:], 0)  # batch padding beyond the clip
