"""TimeShift: a random per-example shift of waveforms in time, at training time only."""

import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed

_FILLS = ("zeros", "wrap")


@register_serializable
class TimeShift(RandomAugmentation):
    """Shifts each waveform by a random number of samples (random crop of a padded clip).

    The shift `s ~ U{-max_shift, ..., max_shift}` samples, with
    `max_shift = round(max_shift_seconds * sample_rate)`, is drawn per example.
    With `fill="zeros"` the clip moves inside a window of the same length and the
    uncovered part is silence (equivalent to a random crop of the clip padded by
    `max_shift` zeros on both sides); with `fill="wrap"` the clip is rolled
    circularly. Identity when `training` is false.

    Args:
        max_shift_seconds: float. Largest shift either way, in seconds. Defaults to 0.1.
        sample_rate: int. Sample rate of the input, in Hz. Defaults to 16000.
        fill: "zeros" or "wrap". Defaults to "zeros".
        probability: float in [0, 1]. Chance that an example is shifted at all.
            Defaults to 1.0.
        seed: int or None. Seed of the random stream (see `RandomAugmentation`).
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: float tensor `[batch, samples]`.
        training: bool. Augment only when true.

    Input shape:
        `(batch, samples)`.

    Output shape:
        `(batch, samples)`.

    Example:
    >>> layer = TimeShift(max_shift_seconds=0.1, sample_rate=8000, seed=1)
    >>> y = layer(tf.random.normal([4, 8000]), training=True)  # shifted by up to 800 samples
    """

    def __init__(self, max_shift_seconds=0.1, sample_rate=16000, fill="zeros", probability=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if max_shift_seconds < 0:
            raise ValueError(f"`max_shift_seconds` must be >= 0. Received: max_shift_seconds={max_shift_seconds!r}")
        if sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
        if fill not in _FILLS:
            raise ValueError(f"`fill` must be one of {_FILLS}. Received: fill={fill!r}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        self.max_shift_seconds = float(max_shift_seconds)
        self.sample_rate = int(sample_rate)
        self.fill = fill
        self.probability = float(probability)
        self._max_shift = int(round(self.max_shift_seconds * self.sample_rate))

    def _augment(self, inputs, seed):
        if self._max_shift == 0:
            return inputs
        shift_seed, apply_seed = split_seed(seed, 2)
        batch = tf.shape(inputs)[0]
        length = tf.shape(inputs)[1]
        shift = tf.random.stateless_uniform(
            [batch, 1], seed=shift_seed, minval=-self._max_shift, maxval=self._max_shift + 1, dtype=tf.int32
        )
        # Output sample i reads input sample i - shift.
        source = tf.range(length)[None, :] - shift
        if self.fill == "wrap":
            outputs = tf.gather(inputs, tf.math.floormod(source, length), batch_dims=1)
        else:
            valid = (source >= 0) & (source < length)
            gathered = tf.gather(inputs, tf.clip_by_value(source, 0, length - 1), batch_dims=1)
            outputs = tf.where(valid, gathered, tf.zeros_like(gathered))
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "max_shift_seconds": self.max_shift_seconds,
                "sample_rate": self.sample_rate,
                "fill": self.fill,
                "probability": self.probability,
            }
        )
        return config
