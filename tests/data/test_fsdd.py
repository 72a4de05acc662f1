"""tfaudio.data.fsdd: official and speaker splits, label order, and the pipeline on real clips."""

import os

import numpy as np
import pytest
import soundfile as sf

from tfaudio.data import fsdd as fsdd_datasets
from tfaudio.data import fsdd_files


def _name(path):
    digit, speaker, index = os.path.basename(path)[: -len(".wav")].split("_")
    return digit, speaker, int(index)


def test_official_split_sizes_and_labels(fsdd):
    train, test, labels = fsdd_files(fsdd)
    assert (len(train), len(test)) == (2700, 300)
    assert labels == [str(d) for d in range(10)]
    assert not set(train.paths) & set(test.paths)
    assert all(_name(p)[2] < 5 for p in test.paths) and all(_name(p)[2] >= 5 for p in train.paths)
    for path, label in list(train) + list(test):
        assert labels[label] == _name(path)[0]  # label index is the digit in the file name
    assert list(train.paths) == sorted(train.paths)  # deterministic order


def test_speaker_split_holds_out_the_speaker(fsdd):
    train, test, _ = fsdd_files(fsdd, split="speaker:theo")
    assert (len(train), len(test)) == (2500, 500)
    assert {_name(p)[1] for p in test.paths} == {"theo"}
    assert "theo" not in {_name(p)[1] for p in train.paths}


def test_split_arguments(fsdd):
    with pytest.raises(ValueError, match="Unknown FSDD speaker 'nobody'"):
        fsdd_files(fsdd, split="speaker:nobody")
    with pytest.raises(ValueError, match="Received: split='random'"):
        fsdd_files(fsdd, split="random")
    train, test, _ = fsdd_files(fsdd, split=None)
    assert len(train) == 3000 and test is None
    same, _, _ = fsdd_files(fsdd / "recordings", split=None)  # the recordings folder itself also works
    assert same == train


def test_test_pipeline_is_ordered_and_centred(fsdd):
    _, test, _ = fsdd_files(fsdd)
    _, test_ds, labels = fsdd_datasets(fsdd, batch_size=64, clip_seconds=0.5)
    waves, ys = zip(*[(x.numpy(), y.numpy()) for x, y in test_ds])
    waves, ys = np.concatenate(waves), np.concatenate(ys)
    assert waves.shape == (300, 4000) and waves.dtype == np.float32 and ys.dtype == np.int32
    np.testing.assert_array_equal(ys, test.labels)  # file order kept, no shuffling at evaluation
    for i in (0, 157, 299):  # centred crop or pad of the decoded clip, exactly
        clip, _ = sf.read(test.paths[i], dtype="float32")
        if clip.size >= 4000:
            expected = clip[(clip.size - 4000) // 2 :][:4000]
        else:
            left = (4000 - clip.size) // 2
            expected = np.pad(clip, (left, 4000 - clip.size - left))
        np.testing.assert_array_equal(waves[i], expected)


def test_train_pipeline_resamples_and_shuffles(fsdd):
    train_ds, _, _ = fsdd_datasets(
        fsdd, split="speaker:jackson", sample_rate=16000, clip_seconds=1.0, batch_size=500, seed=3
    )
    x, y = next(iter(train_ds))
    assert x.shape == (500, 16000) and y.shape == (500,)
    y = y.numpy()
    assert not np.array_equal(y, np.sort(y))  # the file list is sorted by digit; shuffled it is not
    assert np.bincount(y, minlength=10).min() > 0  # the first batch mixes all classes
