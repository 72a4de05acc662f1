"""RandomGain: a random per-example gain in decibels, at training time only."""

import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed


@register_serializable
class RandomGain(RandomAugmentation):
    """Multiplies each example by a gain drawn uniformly in decibels.

    The gain `g_db ~ U[min_gain_db, max_gain_db]` is drawn once per example and
    applied as `x * 10 ** (g_db / 20)`. Identity when `training` is false, so
    the layer vanishes from exported graphs.

    Args:
        min_gain_db: float. Lowest gain in dB. Defaults to -6.0.
        max_gain_db: float. Highest gain in dB. Defaults to 6.0.
        probability: float in [0, 1]. Chance that an example is changed at all.
            Defaults to 1.0.
        clip: bool. Clip the result to [-1, 1] like a real recording would.
            Defaults to False.
        seed: int or None. Seed of the random stream (see `RandomAugmentation`).
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: float tensor `[batch, ...]` (waveforms `[batch, samples]`).
        training: bool. Augment only when true.

    Input shape:
        `(batch, ...)`.

    Output shape:
        Same as the input.

    Example:
    >>> layer = RandomGain(min_gain_db=-6.0, max_gain_db=6.0, seed=1)
    >>> y = layer(tf.ones([4, 8000]), training=True)  # each row scaled by 0.5..2.0
    """

    def __init__(self, min_gain_db=-6.0, max_gain_db=6.0, probability=1.0, clip=False, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not min_gain_db <= max_gain_db:
            raise ValueError(
                "`min_gain_db` must be <= `max_gain_db`. "
                f"Received: min_gain_db={min_gain_db!r}, max_gain_db={max_gain_db!r}"
            )
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        self.min_gain_db = float(min_gain_db)
        self.max_gain_db = float(max_gain_db)
        self.probability = float(probability)
        self.clip = bool(clip)

    def _augment(self, inputs, seed):
        gain_seed, apply_seed = split_seed(seed, 2)
        batch = tf.shape(inputs)[0]
        gain_db = tf.random.stateless_uniform(
            [batch], seed=gain_seed, minval=self.min_gain_db, maxval=self.max_gain_db
        )
        gain = tf.pow(10.0, gain_db / 20.0)
        gain = tf.cast(tf.reshape(gain, [-1] + [1] * (len(inputs.shape) - 1)), inputs.dtype)
        outputs = inputs * gain
        if self.clip:
            outputs = tf.clip_by_value(outputs, -1.0, 1.0)
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "min_gain_db": self.min_gain_db,
                "max_gain_db": self.max_gain_db,
                "probability": self.probability,
                "clip": self.clip,
            }
        )
        return config
