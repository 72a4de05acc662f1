"""Split.validate and the dataset pipelines on the bad-input corpus (tests/bad_audio.py)."""

import os

import numpy as np
import pytest

import tfaudio
from tests import bad_audio
from tfaudio.data import Split, from_folder, make_dataset
from tfaudio.data.split import ValidationReport

# Cases about files themselves (per-call duration limits and root-only permissions tried elsewhere).
FILE_CASES = [c for c in bad_audio.CASES if not c.kwargs and c.name != "unreadable permissions"]


@pytest.fixture
def corpus(tmp_path):
    paths = {case.name: case.build(str(tmp_path)) for case in FILE_CASES}
    return paths


def test_validate_names_every_bad_file_and_its_reason(corpus):
    split = Split(list(corpus.values()), [0] * len(corpus))
    with pytest.raises(tfaudio.AudioError) as info:
        split.validate(max_reported=100)
    message = str(info.value)
    header_bad = [c for c in FILE_CASES if c.error is not None and c.header_error == "same"]
    assert message.startswith(f"{len(header_bad)} of {len(corpus)} audio files are bad:")
    for case in header_bad:
        assert f"{corpus[case.name]}: " in message and case.error in message, case.name
    # The WAV cut after 100 bytes, which loaded as 28 samples, is named as truncated.
    assert f"{corpus['WAV cut after 100 bytes']}: truncated WAV file" in message


def test_decoding_validation_also_finds_nan_and_inf(corpus):
    split = Split([corpus["NaN sample"], corpus["Inf sample"], corpus["FLAC"]], [0, 0, 1])
    assert split.validate() == ValidationReport(3, pytest.approx(0.1 + 0.1 + 0.5), None)  # header check passes
    with pytest.raises(tfaudio.AudioError, match=r"^2 of 3 audio files are bad") as info:
        split.validate(decode=True)
    assert "first at sample 123" in str(info.value)


def test_report_counts_all_zero_files(corpus):
    good = [c.name for c in FILE_CASES if c.error is None]
    split = Split([corpus[name] for name in good], [0] * len(good))
    report = split.validate(decode=True)
    assert report.files == len(good) and report.silent == (corpus["all-zero samples"],)
    assert str(report).endswith(", 1 all-zero (silent)")
    assert split.validate().silent is None  # not decoded, not counted


def test_duration_limits_through_validate(tmp_path):
    paths = [bad_audio._write("half.wav")(str(tmp_path)), bad_audio.two_hour_wav(str(tmp_path))]
    with pytest.raises(tfaudio.AudioError, match="1 of 2 audio files are bad") as info:
        Split(paths, [0, 1]).validate(max_seconds=60)
    assert f"{paths[1]}: too long, 7200.000 s > max_seconds=60" in str(info.value)


def test_pipeline_refuses_the_truncated_wav_before_training(tmp_path):
    """The bug of issue 14: a WAV cut after 100 bytes became a padded second of silence."""
    for label in ("a", "b"):
        os.makedirs(tmp_path / label)
        for i in range(2):
            bad_audio._write(f"{i}.wav", subtype="PCM_16")(str(tmp_path / label))
    cut = bad_audio._cut("cut100.wav", 100)(str(tmp_path / "b"))
    with pytest.raises(tfaudio.AudioError, match=f"{cut}: truncated WAV file"):
        from_folder(tmp_path, sample_rate=16000)
    # Without the up-front check the decoder stops the iteration with the same message.
    split = Split([cut], [0])
    with pytest.raises(Exception, match=f"{cut}: truncated WAV file") as info:
        list(make_dataset(split, sample_rate=16000, validate=False))
    assert type(info.value).__name__ == "InvalidArgumentError"


def test_pipeline_decodes_each_format_of_the_corpus(corpus):
    good = [c for c in FILE_CASES if c.error is None]
    split = Split([corpus[c.name] for c in good], list(range(len(good))))
    x, y = zip(*[(a.numpy(), b.numpy()) for a, b in make_dataset(split, sample_rate=8000, clip_seconds=0.25)])
    x = np.concatenate(x)
    assert x.shape == (len(good), 2000) and np.isfinite(x).all()
    assert list(np.concatenate(y)) == list(range(len(good)))
