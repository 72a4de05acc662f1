"""The one clip-length helper: rounding, None for any length, and errors naming the argument."""

import pytest

from tfaudio.clip import clip_samples


def test_rounds_to_the_nearest_sample():
    assert clip_samples(16000, 1.0) == 16000
    assert clip_samples(8000, 0.5) == 4000
    assert clip_samples(16000, 1 / 3) == 5333  # 5333.33 rounds down
    assert clip_samples(44100, 0.00003) == 1  # 1.32 samples


def test_none_means_any_length():
    assert clip_samples(16000, None) is None


@pytest.mark.parametrize(
    "sample_rate, clip_seconds, named",
    [(0, 1.0, "sample_rate=0"), (-8000, 1.0, "sample_rate=-8000"), (None, 1.0, "sample_rate=None"),
     (16000, 0.0, "clip_seconds=0.0"), (16000, -1.0, "clip_seconds=-1.0"), (16000, 1e-6, "clip_seconds=1e-06")],
)  # fmt: skip
def test_bad_arguments_are_named(sample_rate, clip_seconds, named):
    with pytest.raises(ValueError, match=named):
        clip_samples(sample_rate, clip_seconds)
