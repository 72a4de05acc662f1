"""Datasets from a folder with one sub-folder per class."""

import os

from tfaudio.data.split import DataSplits, Split, label_index, stratified_split
from tfaudio.io import AUDIO_EXTENSIONS, find_audio_files


def folder_files(root, validation_split=None, split_seed=0, extensions=AUDIO_EXTENSIONS):
    """File lists of a class-per-sub-folder dataset, without TensorFlow.

    Every sub-folder of `root` (hidden ones, and ones whose name starts with "_" such as Speech
    Commands' `_background_noise_`, excluded) is a class; its audio files, searched recursively,
    are the examples. Labels are the sorted sub-folder names.

    Args:
        root: str or path-like. The dataset folder.
        validation_split: float in (0, 1) or None. Fraction of each class held out as the test
            split (see `stratified_split`). Defaults to None (no test split).
        split_seed: int. Seed of the held-out selection; the same seed gives the same split on
            every run, so `evaluate` sees the files `train` held out. Defaults to 0.
        extensions: tuple of str. File name endings counted as audio.

    Returns:
        `DataSplits` `(train, test, labels)`: `Split`s (test None without `validation_split`) and the
        labels; no validation split.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise ValueError(f"Dataset folder not found. Received: root={root!r}")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and d[0] not in "._")
    if not classes:
        raise ValueError(f"No class sub-folders in {root}: expected one sub-folder of audio files per class.")
    labels, index = label_index(classes)
    paths, label_ids = [], []
    for name in labels:
        files = find_audio_files(os.path.join(root, name), extensions)
        if not files:
            raise ValueError(f"Class folder {os.path.join(root, name)} holds no audio files ({', '.join(extensions)}).")
        paths += files
        label_ids += [index[name]] * len(files)
    if validation_split is None:
        return DataSplits(Split(paths, label_ids), None, labels)
    train, test = stratified_split(paths, label_ids, validation_split, seed=split_seed)
    return DataSplits(train, test, labels)


def from_folder(
    root, sample_rate=16000, clip_seconds=1.0, batch_size=32, validation_split=None, split_seed=0, **kwargs
):
    """A class-per-sub-folder dataset as `tf.data` pipelines.

    Args:
        root: str or path-like. One sub-folder per class (see `folder_files`).
        sample_rate: int. Files are resampled to this rate. Defaults to 16000.
        clip_seconds: float or None. Crop/pad length. Defaults to 1.0.
        batch_size: int. Defaults to 32.
        validation_split: float in (0, 1) or None. Per-class fraction held out as test_ds.
            Defaults to None (test_ds is None).
        split_seed: int. Seed of the held-out selection. Defaults to 0.
        **kwargs: passed to `tfaudio.data.build_datasets` (`seed`, `cache`, ...).

    Returns:
        `(train_ds, test_ds, labels)` as `tfaudio.data.fsdd` does.
    """
    train, test, labels = folder_files(root, validation_split=validation_split, split_seed=split_seed)
    from tfaudio.data.pipeline import build_datasets  # TensorFlow only when datasets are built

    return build_datasets(
        train, test, labels, sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size, **kwargs
    )
