"""SpeedPerturbation: waveforms played faster or slower (tempo and pitch together), at training time only."""

import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed


@register_serializable
class SpeedPerturbation(RandomAugmentation):
    """Resamples each waveform by a random speed factor, keeping its length (Ko et al. 2015).

    Per example a factor `f ~ U[min_factor, max_factor]` is drawn and the clip is played `f`
    times as fast: output sample `i` reads the input at `c + (i - c) * f` (linear interpolation,
    `c` the centre sample), so a word in the middle stays in the middle, a tone of F Hz comes out at
    `f * F` Hz and the word lasts `1 / f` as long, like sox `speed`. Positions outside the clip
    read zeros. This changes pitch and formants together: a cheap stand-in for new speakers
    (the speed perturbation of Kaldi recipes, 0.9 / 1.0 / 1.1). Identity when `training` is false.

    Args:
        min_factor: float > 0. Slowest speed. Defaults to 0.9.
        max_factor: float >= min_factor. Fastest speed. Defaults to 1.1.
        probability: float in [0, 1]. Chance that an example is perturbed at all. Defaults to 1.0.
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
    >>> layer = SpeedPerturbation(0.9, 1.1, seed=1)
    >>> y = layer(tf.random.normal([4, 16000]), training=True)  # each clip 0.9x to 1.1x as fast
    """

    def __init__(self, min_factor=0.9, max_factor=1.1, probability=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        for name, value in (("min_factor", min_factor), ("max_factor", max_factor)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
        if max_factor < min_factor:
            raise ValueError(
                f"`max_factor` must be >= `min_factor`. Received: min_factor={min_factor!r}, max_factor={max_factor!r}"
            )
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        self.min_factor = float(min_factor)
        self.max_factor = float(max_factor)
        self.probability = float(probability)

    def _augment(self, inputs, seed):
        factor_seed, apply_seed = split_seed(seed, 2)
        inputs = tf.convert_to_tensor(inputs)
        batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
        factor = tf.random.stateless_uniform(
            [batch, 1], seed=factor_seed, minval=self.min_factor, maxval=self.max_factor, dtype=tf.float32
        )
        centre = tf.cast(length - 1, tf.float32) / 2.0
        position = centre + (tf.cast(tf.range(length), tf.float32)[None, :] - centre) * factor
        lower = tf.floor(position)
        frac = tf.cast(position - lower, inputs.dtype)
        lower = tf.cast(lower, tf.int32)
        padded = tf.pad(inputs, [[0, 0], [1, 1]])  # index -1 and `length` read zeros

        def read(index):
            inside = (index >= -1) & (index <= length)
            values = tf.gather(padded, tf.clip_by_value(index, -1, length) + 1, batch_dims=1)
            return tf.where(inside, values, tf.zeros_like(values))

        outputs = (1 - frac) * read(lower) + frac * read(lower + 1)
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update({"min_factor": self.min_factor, "max_factor": self.max_factor, "probability": self.probability})
        return config
