"""SqueezeNet 1.1 (Iandola et al. 2016) as an image backbone for spectrograms."""

from tfaudio.backend import keras, register_serializable
from tfaudio.models.backbone import Backbone
from tfaudio.models import image_backbone_args

# Smallest height/width that survives conv1 (3x3, stride 2, valid) and the three
# 3x3/2 max-pools: 31 -> 15 -> 7 -> 3 -> 1.
MIN_INPUT_SIZE = 31

# He initialisation, as torchvision's SqueezeNet (kaiming_uniform_): without batch
# normalisation, Keras' default Glorot init shrinks the signal through the 18 ReLU
# convolutions until the features are ~1e-4 and training from scratch stalls.
_INIT = "he_uniform"

_CONV1_FILTERS = 64
# (name, squeeze filters, expand filters per branch) of SqueezeNet 1.1's Fire
# modules, with the max-pools in between; a module outputs 2 * expand channels.
_FIRE_MODULES = (
    ("fire2", 16, 64),
    ("fire3", 16, 64),
    ("pool3", None, None),
    ("fire4", 32, 128),
    ("fire5", 32, 128),
    ("pool5", None, None),
    ("fire6", 48, 192),
    ("fire7", 48, 192),
    ("fire8", 64, 256),
    ("fire9", 64, 256),
)


def _fire(x, name, squeeze, expand):
    """Fire module: 1x1 squeeze, then 1x1 and 3x3 expand branches concatenated on channels."""
    s = keras.layers.Conv2D(squeeze, 1, activation="relu", kernel_initializer=_INIT, name=f"{name}_squeeze1x1")(x)
    e1 = keras.layers.Conv2D(expand, 1, activation="relu", kernel_initializer=_INIT, name=f"{name}_expand1x1")(s)
    e3 = keras.layers.Conv2D(
        expand, 3, padding="same", activation="relu", kernel_initializer=_INIT, name=f"{name}_expand3x3"
    )(s)
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")([e1, e3])


@register_serializable
class SqueezeNetBackbone(Backbone):
    """SqueezeNet 1.1 feature extractor: conv1, max-pools and Fire modules 2-9.

    Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters
    and <0.5MB model size", 2016; version 1.1 of the reference implementation
    (3x3/2 conv1 with 64 filters, pools after conv1, fire3 and fire5). A Fire
    module squeezes with 1x1 convolutions, then expands with 1x1 and 3x3
    convolutions whose outputs are concatenated (the 1x1/3x3 split is even).
    The paper's classifier (dropout, 1x1 conv10, ReLU, global average pool) is
    replaced by `SpectrogramClassifier`'s head (global average pool, dropout,
    Dense): the same linear map up to the ReLU before pooling. Max-pools round
    down (Keras "valid") where Caffe rounds up, which changes a border row/column
    on odd sizes only. Layer names follow the Caffe model (`conv1`, `pool1`,
    `fire2_squeeze1x1`, `fire2_expand1x1`, `fire2_expand3x3`, `fire2_concat`, ...).

    Args:
        image_shape: tuple of 3 ints. `(height, width, channels)`; height and
            width must be at least `MIN_INPUT_SIZE` (31).
        width_multiplier: float. Scales every convolution's filters (1.0 is the
            paper's network). Defaults to 1.0.

    Input shape:
        `[batch, height, width, channels]` float images (e.g. log-mel spectrograms).

    Output shape:
        `[batch, h, w, 2 * round(256 * width_multiplier)]` feature maps.

    Example:
    >>> backbone = SqueezeNetBackbone(image_shape=(64, 64, 1), width_multiplier=0.25)
    >>> features = backbone(np.zeros((2, 64, 64, 1), "float32"))  # [2, 3, 3, 128]
    """

    def __init__(self, image_shape, width_multiplier=1.0, **kwargs):
        image_shape = image_backbone_args.validate("SqueezeNet", image_shape, MIN_INPUT_SIZE, width_multiplier)

        # === Functional graph ===
        inputs = keras.Input(shape=image_shape, name="images")
        conv1_filters = image_backbone_args.scaled(_CONV1_FILTERS, width_multiplier)
        x = keras.layers.Conv2D(
            conv1_filters, 3, strides=2, padding="valid", activation="relu", kernel_initializer=_INIT, name="conv1"
        )(inputs)
        x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
        for name, squeeze, expand in _FIRE_MODULES:
            if squeeze is None:
                x = keras.layers.MaxPooling2D(3, strides=2, name=name)(x)
            else:
                scaled = (image_backbone_args.scaled(n, width_multiplier) for n in (squeeze, expand))
                x = _fire(x, name, *scaled)
        kwargs.setdefault("name", "squeezenet")
        super().__init__(inputs=inputs, outputs=x, **kwargs)

        # === Config ===
        self.image_shape = image_shape
        self.width_multiplier = width_multiplier

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "width_multiplier": self.width_multiplier,
        }
