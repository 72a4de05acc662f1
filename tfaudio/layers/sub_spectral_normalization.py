"""SubSpectralNormalization: batch normalisation with separate statistics per frequency sub-band."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable


@register_serializable
class SubSpectralNormalization(keras.layers.Layer):
    """Batch normalisation computed separately in `num_groups` frequency sub-bands.

    Chang et al., "Subspectral Normalization for Neural Audio Data Processing",
    ICASSP 2021, as used in BC-ResNet (Kim et al. 2021). The frequency axis is
    cut into `num_groups` equal sub-bands; every (sub-band, channel) pair gets its
    own mean, variance, scale and offset, with statistics over batch, time and
    the frequencies inside the sub-band. `num_groups=1` is plain batch
    normalisation. Matches the reference's `SubSpectralNorm(C, S)` (a
    `BatchNorm2d(C * S)` on the reshaped map) with its "Sub" affine transform.

    At inference the layer is one multiply and one add by constants of shape
    `[frequency, channels]` (each sub-band's values repeated over its bins), so
    TFLite runs it as builtin MUL and ADD in float and full int8, and it is
    computed frame by frame (a streaming model can use it unchanged).

    Args:
        num_groups: int. Number of frequency sub-bands; must divide the size of
            the frequency axis. Defaults to 5 (BC-ResNet).
        momentum: float. Momentum of the moving statistics (Keras convention:
            PyTorch's momentum 0.1 is 0.9 here). Defaults to 0.9.
        epsilon: float. Added to the variance. Defaults to 1e-5 (PyTorch's).
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: float tensor `[batch, time, frequency, channels]`.
        training: bool. Batch statistics (and moving-average updates) when true,
            moving statistics otherwise.

    Input shape:
        4D tensor `(batch, time, frequency, channels)`; `frequency` is static.

    Output shape:
        Same as the input.

    Example:
    >>> layer = SubSpectralNormalization(num_groups=5)
    >>> layer(np.random.normal(size=(2, 101, 20, 8)).astype("float32")).shape
    TensorShape([2, 101, 20, 8])
    """

    def __init__(self, num_groups=5, momentum=0.9, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_groups, int) or isinstance(num_groups, bool) or num_groups < 1:
            raise ValueError(f"`num_groups` must be a positive int. Received: num_groups={num_groups!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"`momentum` must be in [0, 1). Received: momentum={momentum!r}")
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon!r}")
        self.num_groups = num_groups
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"SubSpectralNormalization takes [batch, time, frequency, channels]. Received: input_shape={input_shape}"
            )
        frequency, channels = input_shape[2], input_shape[3]
        if frequency is None or channels is None or frequency % self.num_groups:
            raise ValueError(
                "The frequency axis (axis 2) must be static and divisible by `num_groups`. "
                f"Received: input_shape={input_shape}, num_groups={self.num_groups}"
            )
        self._band = frequency // self.num_groups
        shape = (self.num_groups, channels)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight(
            name="moving_variance", shape=shape, initializer="ones", trainable=False
        )
        self.built = True

    def _per_bin(self, value):
        # [groups, channels] -> [frequency, channels]: each sub-band's value on its bins.
        return tf.repeat(value, self._band, axis=0)

    def call(self, inputs, training=False):
        x = tf.cast(inputs, "float32")
        if training:
            shape = tf.shape(x)
            grouped = tf.reshape(x, [shape[0], shape[1], self.num_groups, self._band, shape[3]])
            mean, variance = tf.nn.moments(grouped, axes=[0, 1, 3])
            # PyTorch normalises with the biased variance and stores the unbiased one.
            n = tf.cast(shape[0] * shape[1] * self._band, "float32")
            unbiased = variance * n / tf.maximum(n - 1.0, 1.0)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + unbiased * (1.0 - self.momentum))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        scale = tf.cast(self.gamma, "float32") * tf.math.rsqrt(tf.cast(variance, "float32") + self.epsilon)
        offset = tf.cast(self.beta, "float32") - tf.cast(mean, "float32") * scale
        outputs = x * self._per_bin(scale) + self._per_bin(offset)
        return tf.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"num_groups": self.num_groups, "momentum": self.momentum, "epsilon": self.epsilon})
        return config
