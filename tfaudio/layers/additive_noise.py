"""AdditiveNoise: white or recorded noise added at a random signal-to-noise ratio, at training time only."""

import os

import numpy as np
import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed

_AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
_EPSILON = 1e-10


def noise_audio_files(noise_dir):
    """The audio files under the folder `noise_dir`, sorted and searched recursively."""
    if not os.path.isdir(noise_dir):
        raise ValueError(f"`noise_dir` is not a folder. Received: noise_dir={noise_dir!r}")
    return sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(noise_dir)
        for name in names
        if name.lower().endswith(_AUDIO_EXTENSIONS)
    )


def load_noise_bank(noise_dir, sample_rate, max_seconds=600.0):
    """Reads every audio file under `noise_dir` (sorted, recursive) into one float32 array.

    Each file is resampled to `sample_rate`, mixed to mono and scaled to unit RMS
    (the layer sets the level from the SNR anyway; this keeps one loud file from
    dominating the bank). At most `max_seconds` of audio are kept.
    """
    from tfaudio.io import load_audio

    paths = noise_audio_files(noise_dir)
    if not paths:
        raise ValueError(f"`noise_dir` holds no audio files {_AUDIO_EXTENSIONS}. Received: noise_dir={noise_dir!r}")
    budget = int(max_seconds * sample_rate)
    pieces = []
    for path in paths:
        audio, _ = load_audio(path, sample_rate=sample_rate, mono=True)
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        if rms > 0:
            pieces.append((audio / rms).astype(np.float32)[:budget])
            budget -= len(pieces[-1])
        if budget <= 0:
            break
    if not pieces:
        raise ValueError(f"Every noise file is silent. Received: noise_dir={noise_dir!r}")
    return np.concatenate(pieces)


@register_serializable
class AdditiveNoise(RandomAugmentation):
    """Adds noise to each waveform at a signal-to-noise ratio drawn uniformly in dB.

    Per example, `snr_db ~ U[min_snr_db, max_snr_db]`; the noise `n` is white
    Gaussian, or (with `noise_dir`) a random excerpt of the noise recordings in
    that folder; it is scaled so that `10 * log10(mean(x**2) / mean(n**2))`
    equals `snr_db` and added to the waveform. Identity when `training` is false,
    so the layer (and its noise recordings) vanish from exported graphs.

    Args:
        min_snr_db: float. Lowest SNR in dB (most noise). Defaults to 5.0.
        max_snr_db: float. Highest SNR in dB. Defaults to 40.0.
        noise_dir: str or None. Folder of noise recordings (WAV/FLAC/OGG, searched
            recursively, resampled to `sample_rate`); None for white noise.
            The files are read when the layer is created. Defaults to None.
        sample_rate: int. Sample rate of the input, for reading `noise_dir`.
            Defaults to 16000.
        probability: float in [0, 1]. Chance that an example gets noise at all.
            Defaults to 1.0.
        max_noise_seconds: float. Most noise audio kept in memory. Defaults to 600.
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
    >>> layer = AdditiveNoise(min_snr_db=10.0, max_snr_db=30.0, seed=1)
    >>> y = layer(tf.random.normal([4, 8000]), training=True)
    """

    def __init__(
        self,
        min_snr_db=5.0,
        max_snr_db=40.0,
        noise_dir=None,
        sample_rate=16000,
        probability=1.0,
        max_noise_seconds=600.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if not min_snr_db <= max_snr_db:
            raise ValueError(
                "`min_snr_db` must be <= `max_snr_db`. "
                f"Received: min_snr_db={min_snr_db!r}, max_snr_db={max_snr_db!r}"
            )
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        if sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
        self.min_snr_db = float(min_snr_db)
        self.max_snr_db = float(max_snr_db)
        self.noise_dir = None if noise_dir is None else str(noise_dir)
        self.sample_rate = int(sample_rate)
        self.probability = float(probability)
        self.max_noise_seconds = float(max_noise_seconds)
        self._noise_bank = None
        if self.noise_dir is not None:
            self._noise_bank = load_noise_bank(self.noise_dir, self.sample_rate, self.max_noise_seconds)

    def _noise(self, inputs, seed):
        shape = tf.shape(inputs)
        if self._noise_bank is None:
            return tf.random.stateless_normal(shape, seed=seed, dtype=inputs.dtype)
        bank = tf.constant(self._noise_bank)
        length = shape[1]
        # Repeat the bank until any excerpt of `length` samples fits.
        reps = length // tf.size(bank) + 2
        bank = tf.tile(bank, [reps])
        start = tf.random.stateless_uniform(
            [shape[0], 1], seed=seed, minval=0, maxval=tf.size(bank) - length + 1, dtype=tf.int32
        )
        noise = tf.gather(bank, start + tf.range(length)[None, :])
        return tf.cast(noise, inputs.dtype)

    def _augment(self, inputs, seed):
        snr_seed, noise_seed, apply_seed = split_seed(seed, 3)
        x = tf.cast(inputs, tf.float32)
        noise = tf.cast(self._noise(x, noise_seed), tf.float32)
        snr_db = tf.random.stateless_uniform([tf.shape(x)[0]], seed=snr_seed, minval=self.min_snr_db, maxval=self.max_snr_db)
        signal_power = tf.reduce_mean(tf.square(x), axis=1)
        noise_power = tf.reduce_mean(tf.square(noise), axis=1)
        scale = tf.sqrt(signal_power / (noise_power * tf.pow(10.0, snr_db / 10.0) + _EPSILON))
        outputs = tf.cast(x + noise * scale[:, None], inputs.dtype)
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "min_snr_db": self.min_snr_db,
                "max_snr_db": self.max_snr_db,
                "noise_dir": self.noise_dir,
                "sample_rate": self.sample_rate,
                "probability": self.probability,
                "max_noise_seconds": self.max_noise_seconds,
            }
        )
        return config
