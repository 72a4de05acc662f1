"""UtteranceNormalization: standardises each example by its own mean and variance."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable


@register_serializable
class UtteranceNormalization(keras.layers.Layer):
    """Per-utterance standardisation: zero mean, unit variance over all non-batch axes.

    Args:
        epsilon: float. Added to the variance. Defaults to 1e-5.

    Input shape:
        `[batch, ...]`.

    Output shape:
        Same as the input.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)

    def call(self, inputs):
        axes = list(range(1, len(inputs.shape)))
        mean, variance = tf.nn.moments(inputs, axes=axes, keepdims=True)
        return (inputs - mean) * tf.math.rsqrt(variance + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config
