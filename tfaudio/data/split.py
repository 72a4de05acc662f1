"""File lists with integer labels, shared by every dataset source; no TensorFlow needed."""

import dataclasses
import random

import numpy as np

from tfaudio.errors import AudioError
from tfaudio.io import audio_info, load_audio


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """What `Split.validate` found in a split whose files are all usable.

    Args:
        files: int. Files checked.
        seconds: float. Their total duration (from the headers).
        silent: tuple of str or None. Files whose samples are all zero: allowed (a `_silence_`
            class may be exactly that) but counted, since a whole silent class usually means a
            broken export. None when the samples were not decoded (`decode=False`).
    """

    files: int
    seconds: float
    silent: tuple = None

    def __str__(self):
        text = f"{self.files} audio files, {self.seconds / 3600:.2f} h"
        if self.silent is not None:
            text += f", {len(self.silent)} all-zero (silent)"
        return text


@dataclasses.dataclass(frozen=True)
class Split:
    """The files of one dataset split and their labels, as indices into the label list.

    Args:
        paths: tuple of str. Audio file paths.
        labels: tuple of int. `labels[i]` is the class index of `paths[i]`.

    Example:
        >>> train, test, labels = tfaudio.data.fsdd_files("fsdd")
        >>> len(train), len(test), labels[train.labels[0]]
        (2700, 300, '0')
    """

    paths: tuple
    labels: tuple

    def __post_init__(self):
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        object.__setattr__(self, "labels", tuple(int(x) for x in self.labels))
        if len(self.paths) != len(self.labels):
            raise ValueError(
                f"`paths` and `labels` must have the same length. Received: {len(self.paths)} paths "
                f"and {len(self.labels)} labels"
            )

    def __len__(self):
        return len(self.paths)

    def __iter__(self):
        return iter(zip(self.paths, self.labels))

    def validate(self, min_seconds=None, max_seconds=None, max_reported=20, decode=False):
        """Checks every file, so a long job fails before it starts, and reports what it found.

        Without `decode`, a header check (`tfaudio.io.audio_info`: format, sample rate, duration,
        a file cut short). With `decode`, every file is decoded (`tfaudio.io.load_audio`) as
        well, which also finds NaN/Inf samples and damage inside the data, and counts the
        all-zero files.

        Args:
            min_seconds: float or None. Shortest duration allowed. Defaults to None.
            max_seconds: float or None. Longest duration allowed (checked from the header,
                before decoding). Defaults to None.
            max_reported: int. Bad files listed in the error. Defaults to 20.
            decode: bool. Decode every file too. Defaults to False.

        Returns:
            `ValidationReport`.

        Raises:
            AudioError: listing every bad file (up to `max_reported`) with its reason.
        """
        problems, silent = [], []
        seconds = 0.0
        for path in self.paths:
            try:
                info = audio_info(path, min_seconds=min_seconds, max_seconds=max_seconds)
                if decode:
                    audio, _ = load_audio(path, mono=False)
                    if not np.any(audio):
                        silent.append(path)
            except AudioError as e:
                problems.append(str(e))
                continue
            seconds += info.frames / info.samplerate
        if problems:
            shown = "\n  ".join(problems[:max_reported])
            more = f"\n  ... and {len(problems) - max_reported} more" if len(problems) > max_reported else ""
            raise AudioError(f"{len(problems)} of {len(self.paths)} audio files are bad:\n  {shown}{more}")
        return ValidationReport(len(self.paths), seconds, tuple(silent) if decode else None)


def label_index(names):
    """The sorted, de-duplicated label list and a name -> index dict."""
    labels = sorted({str(n) for n in names})
    return labels, {name: i for i, name in enumerate(labels)}


def stratified_split(paths, label_ids, validation_split, seed=0):
    """Splits `(paths, label_ids)` into train/test Splits, holding out `validation_split` of each class.

    Deterministic for a given `seed`: the files of each class are sorted, shuffled with
    `random.Random(seed)`, and the first `round(n * validation_split)` (at least 1 when the class
    has 2 or more files) go to the test split.
    """
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or not (
        0.0 < validation_split < 1.0
    ):
        raise ValueError(
            f"`validation_split` must be a float in (0, 1) or None. Received: validation_split={validation_split!r}"
        )
    by_class = {}
    for path, label in zip(paths, label_ids):
        by_class.setdefault(label, []).append(str(path))
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(by_class):
        files = sorted(by_class[label])
        rng.shuffle(files)
        n_test = int(round(len(files) * validation_split))
        if len(files) >= 2:
            n_test = min(max(n_test, 1), len(files) - 1)
        test += [(p, label) for p in files[:n_test]]
        train += [(p, label) for p in files[n_test:]]
    train.sort()
    test.sort()
    return Split([p for p, _ in train], [y for _, y in train]), Split([p for p, _ in test], [y for _, y in test])


class DataSplits(tuple):
    """What every dataset source returns: the triple `(train, test, labels)`, plus `.validation`.

    A tuple of length 3, so `train, test, labels = tfaudio.data.fsdd(...)` works as always; the
    validation split (a `Split`, a `tf.data.Dataset` or None) is the attribute `validation`. It is
    held out for model selection (early stopping, best checkpoint) and kept apart from `test`,
    which then only measures the chosen model.

    Example:
        >>> splits = tfaudio.data.speech_commands_files("speech_commands")
        >>> train, test, labels = splits
        >>> len(splits.validation) > 0
        True
    """

    def __new__(cls, train, test, labels, validation=None):
        self = super().__new__(cls, (train, test, labels))
        self.validation = validation
        return self

    def __reduce__(self):
        return (DataSplits, (*self, self.validation))

    @property
    def train(self):
        return self[0]

    @property
    def test(self):
        return self[1]

    @property
    def labels(self):
        return self[2]

    def __repr__(self):
        return f"DataSplits(train={self[0]!r}, test={self[1]!r}, labels={self[2]!r}, validation={self.validation!r})"
