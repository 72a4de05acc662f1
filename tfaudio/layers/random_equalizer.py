"""RandomEqualizer: each waveform through a random smooth frequency response (another microphone), training only."""

import math

import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed


def _mel(hz):
    return 2595.0 * math.log10(1.0 + hz / 700.0)


@register_serializable
class RandomEqualizer(RandomAugmentation):
    """Filters each example with a random smooth gain curve, as another microphone or room would colour it.

    Per example, `num_bands` gains `g_k ~ U[-max_db, max_db]` dB are drawn at points equally spaced
    on the mel scale from 0 Hz to Nyquist; the gain of every frequency is the linear interpolation
    (in dB, along the mel axis) of its two neighbours, so the curve is as smooth as a graphic
    equaliser's. The filter is zero-phase, applied in the frequency domain on the clip zero-padded to
    at least twice its length (a linear, not circular, convolution for these smooth curves), and the
    output keeps the input's length. Identity when `training` is false, so exports never hold it.

    Args:
        max_db: float >= 0. Largest band gain, in dB (either sign). Defaults to 6.
        num_bands: int >= 2. Control points of the curve. Defaults to 6.
        sample_rate: int. Sample rate of the input (places the mel-spaced points). Defaults to 16000.
        probability: float in [0, 1]. Chance that an example is filtered at all. Defaults to 1.0.
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
    >>> layer = RandomEqualizer(max_db=6.0, sample_rate=8000, seed=1)
    >>> y = layer(tf.random.normal([4, 8000]), training=True)  # each clip with its own +-6 dB curve
    """

    def __init__(self, max_db=6.0, num_bands=6, sample_rate=16000, probability=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(max_db, bool) or not isinstance(max_db, (int, float)) or not max_db >= 0:
            raise ValueError(f"`max_db` must be a number >= 0. Received: max_db={max_db!r}")
        if isinstance(num_bands, bool) or not isinstance(num_bands, int) or num_bands < 2:
            raise ValueError(f"`num_bands` must be an int >= 2. Received: num_bands={num_bands!r}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be a positive int. Received: sample_rate={sample_rate!r}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        self.max_db = float(max_db)
        self.num_bands = num_bands
        self.sample_rate = sample_rate
        self.probability = float(probability)

    def gain_curve_db(self, band_gains_db, num_bins):
        """Gain in dB at `num_bins` frequencies 0..Nyquist for `band_gains_db` `[batch, num_bands]`."""
        hz = tf.linspace(0.0, self.sample_rate / 2.0, num_bins)
        mel = 2595.0 * tf.math.log(1.0 + hz / 700.0) / math.log(10.0)
        position = mel / _mel(self.sample_rate / 2.0) * (self.num_bands - 1)  # fractional band index
        lower = tf.minimum(tf.cast(tf.floor(position), tf.int32), self.num_bands - 2)
        frac = position - tf.cast(lower, tf.float32)
        return (1.0 - frac) * tf.gather(band_gains_db, lower, axis=1) + frac * tf.gather(band_gains_db, lower + 1, axis=1)

    def _augment(self, inputs, seed):
        gain_seed, apply_seed = split_seed(seed, 2)
        x = tf.cast(inputs, tf.float32)
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        fft_length = tf.cast(2.0 ** tf.math.ceil(tf.math.log(tf.cast(2 * length, tf.float32)) / math.log(2.0)), tf.int32)
        spectrum = tf.signal.rfft(x, fft_length=[fft_length])
        gains = tf.random.stateless_uniform(
            [batch, self.num_bands], seed=gain_seed, minval=-self.max_db, maxval=self.max_db
        )
        amplitude = tf.pow(10.0, self.gain_curve_db(gains, fft_length // 2 + 1) / 20.0)
        filtered = tf.signal.irfft(spectrum * tf.cast(amplitude, tf.complex64), fft_length=[fft_length])[:, :length]
        outputs = tf.cast(filtered, inputs.dtype)
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update({"max_db": self.max_db, "num_bands": self.num_bands, "sample_rate": self.sample_rate,
                       "probability": self.probability})
        return config
