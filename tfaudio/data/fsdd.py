"""The Free Spoken Digit Dataset (FSDD): file lists and tf.data pipelines."""

import os
import re

from tfaudio.data.split import DataSplits, Split

LABELS = [str(d) for d in range(10)]

_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[^_]+)_(?P<index>\d+)\.wav$")


def _recordings_folder(root):
    root = os.fspath(root)
    recordings = os.path.join(root, "recordings")
    if os.path.isdir(recordings):
        return recordings
    if os.path.isdir(root):
        return root
    raise ValueError(
        f"FSDD folder not found: expected `root` or `root`/recordings to hold the WAVs. Received: root={root!r}"
    )


def fsdd_entries(root):
    """Sorted `(path, digit, speaker, index)` for every recording under `root` (or `root`/recordings)."""
    folder = _recordings_folder(root)
    entries = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(".wav"):
            continue
        match = _NAME.match(name)
        if match is None:
            path = os.path.join(folder, name)
            raise ValueError(f"{path}: not an FSDD file name ({{digit}}_{{speaker}}_{{index}}.wav)")
        entries.append((os.path.join(folder, name), match["digit"], match["speaker"], int(match["index"])))
    if not entries:
        raise ValueError(f"No FSDD recordings (*.wav) found in {folder}. Received: root={os.fspath(root)!r}")
    return entries


def fsdd_files(root, split="official"):
    """FSDD file lists without TensorFlow.

    Args:
        root: str or path-like. The folder holding `recordings/` (or the recordings folder itself).
        split: str or None. "official": the dataset's own split, takes with index 0-4 are the test
            set (300 of 3000 files). "speaker:NAME": every recording of speaker NAME is the test
            set. None: all files in the training split, no test split. Defaults to "official".

    Returns:
        `DataSplits` `(train, test, labels)`: two `Split`s (test is None when `split=None`) and the
        labels "0".."9" (the label index is the digit); no validation split.
    """
    entries = fsdd_entries(root)
    if split is None:
        is_test = [False] * len(entries)
    elif split == "official":
        is_test = [index < 5 for _, _, _, index in entries]
    elif isinstance(split, str) and split.startswith("speaker:"):
        speaker = split[len("speaker:"):]
        speakers = sorted({s for _, _, s, _ in entries})
        if speaker not in speakers:
            raise ValueError(
                f"Unknown FSDD speaker {speaker!r}; the speakers are {speakers}. Received: split={split!r}"
            )
        is_test = [s == speaker for _, _, s, _ in entries]
    else:
        raise ValueError(f'`split` must be "official", "speaker:NAME" or None. Received: split={split!r}')
    def select(held_out):
        chosen = [entry for entry, t in zip(entries, is_test) if t == held_out]
        return Split([path for path, _, _, _ in chosen], [int(digit) for _, digit, _, _ in chosen])

    train, test = select(False), select(True)
    return DataSplits(train, test if split is not None else None, list(LABELS))


def fsdd(root, split="official", sample_rate=8000, clip_seconds=1.0, batch_size=32, **kwargs):
    """The Free Spoken Digit Dataset as `tf.data` pipelines.

    Args:
        root: str or path-like. The folder holding `recordings/` (or the recordings folder itself).
        split: str or None. "official" (takes 0-4 are the test set), "speaker:NAME" (hold out one
            speaker) or None (no test set). Defaults to "official".
        sample_rate: int. Rate of the returned waveforms; files are resampled with soxr when it is
            not 8000. Defaults to 8000.
        clip_seconds: float or None. Every waveform is cropped/zero-padded to this length (random
            placement when training, centred when evaluating). None keeps full lengths and pads
            each batch to its longest clip. Defaults to 1.0.
        batch_size: int. Defaults to 32.
        **kwargs: passed to `tfaudio.data.build_datasets` (`seed`, `shuffle`, `cache`, `validate`,
            `num_parallel_calls`, `drop_remainder`, `min_seconds`, `max_seconds`, ...).

    Returns:
        `(train_ds, test_ds, labels)`: `tf.data.Dataset`s of `(waveform float32 [batch, samples],
        label int32 [batch])` (test_ds is None when `split=None`) and the labels "0".."9".

    Example:
        >>> train_ds, test_ds, labels = tfaudio.data.fsdd("data/fsdd", batch_size=64, seed=0)
        >>> model.fit(train_ds, validation_data=test_ds, epochs=10)
    """
    train, test, labels = fsdd_files(root, split=split)
    from tfaudio.data.pipeline import build_datasets  # TensorFlow only when datasets are built

    return build_datasets(
        train, test, labels, sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size, **kwargs
    )
