"""AlexNet (Krizhevsky et al. 2012) as an image backbone for spectrograms."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.models.backbone import Backbone
from tfaudio.models import image_backbone_args

# Smallest height/width that survives conv1 (11x11, stride 4, valid) and the three
# 3x3/2 max-pools: 67 -> 15 -> 7 -> 7 -> 3 -> 3 -> 1.
MIN_INPUT_SIZE = 67

# He initialisation for the ReLU layers (the paper's N(0, 0.01) only trains with its
# hand-tuned learning-rate schedule); the same choice as for SqueezeNet.
_INIT = "he_uniform"

_CONV_FILTERS = (96, 256, 384, 384, 256)
_FC_UNITS = 4096


def _conv(filters, kernel_size, name, strides=1, padding="same"):
    return keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, activation="relu", kernel_initializer=_INIT, name=name
    )


@register_serializable
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels, as in AlexNet section 3.3.

    `b = a / (bias + alpha * sum_{d-r..d+r} a^2) ** beta`, the paper's formula with
    `n = 2 * depth_radius + 1` (alpha is not divided by n, unlike Caffe).
    TFLite runs it as the builtin `LOCAL_RESPONSE_NORMALIZATION`, which has a
    float kernel only: models using it convert to float TFLite but not to full int8.

    Args:
        depth_radius: int. Half-width `r` of the channel window. Defaults to 2 (n=5).
        bias: float. `k` in the paper. Defaults to 2.0.
        alpha: float. Defaults to 1e-4.
        beta: float. Defaults to 0.75.

    Input shape:
        `[batch, height, width, channels]`.

    Output shape:
        Same as the input.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(depth_radius, int) or depth_radius < 0:
            raise ValueError(f"`depth_radius` must be a non-negative int. Received: depth_radius={depth_radius!r}")
        self.depth_radius = depth_radius
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"depth_radius": self.depth_radius, "bias": self.bias, "alpha": self.alpha, "beta": self.beta}
        )
        return config


@register_serializable
class AlexNetBackbone(Backbone):
    """AlexNet feature extractor: 5 convolutions and the first two fully connected layers.

    Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NeurIPS 2012. Single-tower layout:
    conv1 11x11/4 (96) -> [LRN] -> max-pool 3/2 -> conv2 5x5 (256) -> [LRN] ->
    max-pool 3/2 -> conv3 3x3 (384) -> conv4 3x3 (384) -> conv5 3x3 (256) ->
    max-pool 3/2 -> flatten -> fc6 (4096) -> dropout -> fc7 (4096), all ReLU.
    The third fully connected layer (fc8) and the dropout before it are the
    classifier head that `SpectrogramClassifier` adds on top. Layer names are
    stable (`conv1`..`conv5`, `pool1`, `pool2`, `pool5`, `fc6`, `drop6`, `fc7`).

    Args:
        image_shape: tuple of 3 ints. `(height, width, channels)`; height and
            width must be at least `MIN_INPUT_SIZE` (67).
        width_multiplier: float. Scales every convolution's filters and the
            fully connected units (1.0 is the paper's network; smaller values keep
            the structure and shrink the model, e.g. for tests). Defaults to 1.0.
        dropout: float. Rate of the dropout after fc6. Defaults to 0.5.
        local_response_normalization: bool. Apply LRN after conv1 and conv2 as in
            the paper. It has no int8 TFLite kernel, so it is off by default.

    Input shape:
        `[batch, height, width, channels]` float images (e.g. log-mel spectrograms).

    Output shape:
        `[batch, round(4096 * width_multiplier)]` features.

    Example:
    >>> backbone = AlexNetBackbone(image_shape=(96, 72, 1), width_multiplier=0.25)
    >>> features = backbone(np.zeros((2, 96, 72, 1), "float32"))  # [2, 1024]
    """

    def __init__(
        self,
        image_shape,
        width_multiplier=1.0,
        dropout=0.5,
        local_response_normalization=False,
        **kwargs,
    ):
        image_shape = image_backbone_args.validate("AlexNet", image_shape, MIN_INPUT_SIZE, width_multiplier)
        if not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")

        # === Layers ===
        filters = [image_backbone_args.scaled(f, width_multiplier) for f in _CONV_FILTERS]
        fc_units = image_backbone_args.scaled(_FC_UNITS, width_multiplier)

        # === Functional graph ===
        inputs = keras.Input(shape=image_shape, name="images")
        x = _conv(filters[0], 11, "conv1", strides=4, padding="valid")(inputs)
        if local_response_normalization:
            x = LocalResponseNormalization(name="lrn1")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
        x = _conv(filters[1], 5, "conv2")(x)
        if local_response_normalization:
            x = LocalResponseNormalization(name="lrn2")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool2")(x)
        x = _conv(filters[2], 3, "conv3")(x)
        x = _conv(filters[3], 3, "conv4")(x)
        x = _conv(filters[4], 3, "conv5")(x)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool5")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(fc_units, activation="relu", kernel_initializer=_INIT, name="fc6")(x)
        x = keras.layers.Dropout(dropout, name="drop6")(x)
        outputs = keras.layers.Dense(fc_units, activation="relu", kernel_initializer=_INIT, name="fc7")(x)
        kwargs.setdefault("name", "alexnet")
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.width_multiplier = width_multiplier
        self.dropout = dropout
        self.local_response_normalization = local_response_normalization

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "width_multiplier": self.width_multiplier,
            "dropout": self.dropout,
            "local_response_normalization": self.local_response_normalization,
        }
