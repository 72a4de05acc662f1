"""BackgroundNoise: recorded noise mixed in at a random volume, as the TensorFlow speech_commands training does."""

import os

import numpy as np
import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, apply_with_probability, split_seed
from tfaudio.layers.additive_noise import noise_audio_files


def load_peak_normalized_bank(paths, sample_rate, max_seconds=600.0):
    """The files in `paths`, resampled to mono `sample_rate`, each scaled to peak 1, concatenated (float32).

    Silent files are skipped; at most `max_seconds` of audio are kept.
    """
    from tfaudio.io import load_audio

    budget = int(max_seconds * sample_rate)
    pieces = []
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"A noise file does not exist. Received: noise_files=[..., {path!r}, ...]")
        audio, _ = load_audio(path, sample_rate=sample_rate, mono=True)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 0:
            pieces.append((audio / peak).astype(np.float32)[:budget])
            budget -= len(pieces[-1])
        if budget <= 0:
            break
    if not pieces:
        raise ValueError(f"Every noise file is silent or empty. Received: {len(paths)} files, e.g. {list(paths)[:3]}")
    return np.concatenate(pieces)


@register_serializable
class BackgroundNoise(RandomAugmentation):
    """Adds a random excerpt of noise recordings at a random volume, at training time only.

    The mixing of the TensorFlow speech_commands example (`input_data.py`,
    `--background_frequency 0.8 --background_volume 0.1`): with probability
    `probability` per example, `y = clip(x + v * n, -1, 1)` where `n` is a random
    excerpt of the noise bank (every file scaled to peak 1, which the official
    `_background_noise_` recordings are close to) and `v ~ U[0, max_volume]`.
    Unlike `AdditiveNoise` the level is absolute, not a signal-to-noise ratio: a
    quiet word gets the same noise as a loud one, as in the TensorFlow recipe.
    Identity when `training` is false, so the layer is absent from exports.

    For Speech Commands, `tfaudio.data.speech_commands_noise_files(root, ...)`
    lists the right files: `_background_noise_/` of the official download, or the
    training split's `_silence_` clips of the 12-class layout (never a test clip).

    Args:
        noise_files: list of str or None. Noise recordings (WAV/FLAC/OGG).
        noise_dir: str or None. A folder searched recursively for noise
            recordings, instead of `noise_files` (exactly one of the two).
        max_volume: float >= 0. Largest volume `v`. Defaults to 0.1.
        probability: float in [0, 1]. Chance that an example gets noise.
            Defaults to 0.8.
        sample_rate: int. Sample rate of the input; the files are resampled to
            it. Defaults to 16000.
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
    >>> files = tfaudio.data.speech_commands_noise_files("speech_commands", split="speaker_fold:1/3")
    >>> layer = BackgroundNoise(noise_files=files, seed=1)
    >>> y = layer(waveforms, training=True)
    """

    def __init__(
        self,
        noise_files=None,
        noise_dir=None,
        max_volume=0.1,
        probability=0.8,
        sample_rate=16000,
        max_noise_seconds=600.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if (noise_files is None) == (noise_dir is None):
            raise ValueError(
                "Give exactly one of `noise_files` and `noise_dir`. "
                f"Received: noise_files={noise_files!r}, noise_dir={noise_dir!r}"
            )
        if not max_volume >= 0:
            raise ValueError(f"`max_volume` must be >= 0. Received: max_volume={max_volume!r}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"`probability` must be in [0, 1]. Received: probability={probability!r}")
        if sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
        self.noise_files = None if noise_files is None else [str(p) for p in noise_files]
        self.noise_dir = None if noise_dir is None else str(noise_dir)
        self.max_volume = float(max_volume)
        self.probability = float(probability)
        self.sample_rate = int(sample_rate)
        self.max_noise_seconds = float(max_noise_seconds)
        paths = self.noise_files if self.noise_files is not None else noise_audio_files(self.noise_dir)
        if not paths:
            raise ValueError(
                f"No noise recordings to mix in. Received: noise_files={noise_files!r}, noise_dir={noise_dir!r}"
            )
        self._bank = load_peak_normalized_bank(paths, self.sample_rate, self.max_noise_seconds)

    def _augment(self, inputs, seed):
        start_seed, volume_seed, apply_seed = split_seed(seed, 3)
        x = tf.cast(inputs, tf.float32)
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        bank = tf.constant(self._bank)
        size = tf.size(bank)
        start = tf.random.stateless_uniform([batch, 1], seed=start_seed, minval=0, maxval=size, dtype=tf.int32)
        # The bank read circularly: any start gives a whole excerpt, even when the bank is short.
        noise = tf.gather(bank, tf.math.floormod(start + tf.range(length)[None, :], size))
        volume = tf.random.stateless_uniform([batch, 1], seed=volume_seed, minval=0.0, maxval=self.max_volume)
        outputs = tf.cast(tf.clip_by_value(x + volume * noise, -1.0, 1.0), inputs.dtype)
        return apply_with_probability(inputs, outputs, self.probability, apply_seed)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "noise_files": self.noise_files,
                "noise_dir": self.noise_dir,
                "max_volume": self.max_volume,
                "probability": self.probability,
                "sample_rate": self.sample_rate,
                "max_noise_seconds": self.max_noise_seconds,
            }
        )
        return config
