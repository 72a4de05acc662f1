"""Gumbel-softmax product quantizer of wav2vec 2.0 pretraining."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable


def codevector_perplexity(probs, mask=None):
    """Sum over groups of exp(entropy) of the code distribution averaged over (masked) frames.

    Args:
        probs: `[frames, groups, entries]` probabilities (soft or one-hot).
        mask: optional bool `[frames]`; only these frames are averaged.

    Returns:
        Scalar perplexity in `[groups, groups * entries]`.
    """
    if mask is None:
        marginal = tf.reduce_mean(probs, axis=0)
    else:
        weights = tf.cast(tf.reshape(mask, [-1, 1, 1]), probs.dtype)
        marginal = tf.reduce_sum(probs * weights, axis=0) / tf.reduce_sum(weights)
    entropy = -tf.reduce_sum(tf.math.xlogy(marginal, marginal), axis=-1)
    return tf.reduce_sum(tf.exp(entropy))


@register_serializable
class GumbelVectorQuantizer(keras.layers.Layer):
    """Product quantizer with `num_groups` codebooks of `num_entries` learned vectors each.

    wav2vec 2.0 (arXiv 2006.11477, section 3.2): each frame picks one entry per group
    and the chosen entries are concatenated. In training the choice is a straight-through
    hard Gumbel-softmax sample (Jang et al. 2016) at `temperature`; otherwise the argmax.

    Args:
        num_groups: int. G, the number of codebooks. Defaults to 2.
        num_entries: int. V, entries per codebook. Defaults to 320.
        codevector_dim: int. Width of the concatenated code vector; divisible by G.
            Defaults to 256.
        temperature: float. Initial Gumbel-softmax temperature (a non-trainable
            weight, `set_temperature` to anneal). Defaults to 2.0.

    Call arguments:
        inputs: `[batch, frames, channels]` features to quantize.
        frame_mask: optional bool `[batch, frames]`: frames counted in the perplexity.
        training: bool.

    Returns:
        `(codevectors [batch, frames, codevector_dim], perplexity scalar)`.
    """

    def __init__(self, num_groups=2, num_entries=320, codevector_dim=256, temperature=2.0, **kwargs):
        super().__init__(**kwargs)
        if codevector_dim % num_groups:
            raise ValueError(
                f"`codevector_dim` must be divisible by `num_groups`. Received: codevector_dim={codevector_dim}, "
                f"num_groups={num_groups}"
            )
        if temperature <= 0:
            raise ValueError(f"`temperature` must be positive. Received: temperature={temperature!r}")
        self.num_groups = num_groups
        self.num_entries = num_entries
        self.codevector_dim = codevector_dim
        self.temperature = temperature
        self.weight_proj = keras.layers.Dense(
            num_groups * num_entries,
            kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
            bias_initializer="zeros",
            name="weight_proj",
        )

    def build(self, input_shape):
        self.weight_proj.build(input_shape)
        self.codevectors = self.add_weight(
            name="codevectors",
            shape=(self.num_groups * self.num_entries, self.codevector_dim // self.num_groups),
            initializer="random_uniform",
            trainable=True,
        )
        self.gumbel_temperature = self.add_weight(
            name="gumbel_temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.temperature),
            trainable=False,
        )
        self.built = True

    def set_temperature(self, temperature):
        self.gumbel_temperature.assign(temperature)

    def call(self, inputs, frame_mask=None, training=None):
        shape = tf.shape(inputs)
        batch, frames = shape[0], shape[1]
        logits = self.weight_proj(inputs)
        logits = tf.reshape(logits, [batch * frames, self.num_groups, self.num_entries])
        flat_mask = None if frame_mask is None else tf.reshape(frame_mask, [-1])
        hard = tf.one_hot(tf.argmax(logits, axis=-1), self.num_entries, dtype=logits.dtype)
        if training:
            uniform = tf.random.uniform(tf.shape(logits), minval=1e-10, maxval=1.0, dtype=logits.dtype)
            gumbel = -tf.math.log(-tf.math.log(uniform))
            soft_sample = tf.nn.softmax((logits + gumbel) / tf.cast(self.gumbel_temperature, logits.dtype), axis=-1)
            sample = tf.one_hot(tf.argmax(soft_sample, axis=-1), self.num_entries, dtype=logits.dtype)
            probs = tf.stop_gradient(sample - soft_sample) + soft_sample  # straight-through
            perplexity = codevector_perplexity(tf.nn.softmax(logits, axis=-1), flat_mask)
        else:
            probs = hard
            perplexity = codevector_perplexity(hard, flat_mask)
        codebooks = tf.reshape(self.codevectors, [self.num_groups, self.num_entries, -1])
        codevectors = tf.einsum("ngv,gvd->ngd", probs, tf.cast(codebooks, probs.dtype))
        codevectors = tf.reshape(codevectors, [batch, frames, self.codevector_dim])
        return codevectors, perplexity

    def compute_output_shape(self, inputs_shape, frame_mask_shape=None):
        return (tuple(inputs_shape[:-1]) + (self.codevector_dim,), ())

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_groups": self.num_groups,
                "num_entries": self.num_entries,
                "codevector_dim": self.codevector_dim,
                "temperature": self.temperature,
            }
        )
        return config
