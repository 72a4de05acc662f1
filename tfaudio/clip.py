"""Clip length: the one place that turns `sample_rate` and `clip_seconds` into a sample count (no TensorFlow)."""


def clip_samples(sample_rate, clip_seconds):
    """Number of samples of a `clip_seconds` clip at `sample_rate`, rounded; None when `clip_seconds` is None.

    Raises:
        ValueError: `sample_rate` or `clip_seconds` is not positive, or the clip
            rounds to no samples; the message names the argument.
    """
    if not sample_rate or sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
    if clip_seconds is None:
        return None
    if clip_seconds <= 0:
        raise ValueError(f"`clip_seconds` must be positive. Received: clip_seconds={clip_seconds!r}")
    samples = int(round(sample_rate * clip_seconds))
    if samples < 1:
        raise ValueError(
            f"The clip is shorter than one sample. Received: sample_rate={sample_rate!r}, clip_seconds={clip_seconds!r}"
        )
    return samples
