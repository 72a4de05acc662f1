"""The image backbones a `SpectrogramClassifier` can use: how to build each, its minimum input, its ImageNet file."""

from tfaudio.backend import USE_LEGACY_KERAS, keras
from tfaudio.models import alexnet, squeezenet

_KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


class Architecture:
    """How to build one backbone.

    Args:
        make: `(image_shape, name, width_multiplier, local_response_normalization) -> keras.Model`.
        min_size: int. Smallest height and width the backbone accepts.
        imagenet_file: str or None. keras.applications' no-top ImageNet weights file.
        imagenet_url: str or None. Where keras.applications downloads it from.
        imagenet_md5: str or None. Its MD5, as keras.applications checks it.
        head_dropout: float. Default dropout before the logits.
        handwritten: bool. Written here (AlexNet, SqueezeNet), so widths scale.
    """

    def __init__(
        self, make, min_size, imagenet_file=None, imagenet_url=None, imagenet_md5=None, head_dropout=0.2,
        handwritten=False,
    ):  # fmt: skip
        self.make = make
        self.min_size = min_size
        self.imagenet_file = imagenet_file
        self.imagenet_url = imagenet_url
        self.imagenet_md5 = imagenet_md5
        self.head_dropout = head_dropout
        self.handwritten = handwritten


def _application(constructor):
    """A `make` for a keras.applications constructor: real architecture, no weights, no classifier top."""

    def make(image_shape, name, width_multiplier=1.0, local_response_normalization=False):
        # Weights are loaded afterwards (`imagenet_weights.imagenet_weights_path`).
        if USE_LEGACY_KERAS:  # tf_keras applications take no `name`
            backbone = constructor(include_top=False, weights=None, input_shape=image_shape, pooling=None)
            return keras.Model(backbone.inputs, backbone.outputs, name=name)
        return constructor(include_top=False, weights=None, input_shape=image_shape, pooling=None, name=name)

    return make


def _alexnet(image_shape, name, width_multiplier=1.0, local_response_normalization=False):
    return alexnet.AlexNetBackbone(
        image_shape,
        width_multiplier=width_multiplier,
        local_response_normalization=local_response_normalization,
        name=name,
    )


def _squeezenet(image_shape, name, width_multiplier=1.0, local_response_normalization=False):
    return squeezenet.SqueezeNetBackbone(image_shape, width_multiplier=width_multiplier, name=name)


def _notop(folder, file, md5):
    return {"imagenet_file": file, "imagenet_url": f"{_KERAS_WEIGHTS_URL}{folder}/{file}", "imagenet_md5": md5}


# MD5s as keras.applications checks them (keras/src/applications/*.py, `file_hash`).
ARCHITECTURES = {
    "alexnet": Architecture(_alexnet, alexnet.MIN_INPUT_SIZE, head_dropout=0.5, handwritten=True),
    "vgg16": Architecture(
        _application(keras.applications.VGG16), 32,
        **_notop("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    ),
    "inception_v3": Architecture(
        _application(keras.applications.InceptionV3), 75,
        **_notop("inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "bcbd6486424b2319ff4ef7d526e38f63"),
    ),
    "resnet50": Architecture(
        _application(keras.applications.ResNet50), 32,
        **_notop("resnet", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
    ),
    "densenet121": Architecture(
        _application(keras.applications.DenseNet121), 32,
        **_notop("densenet", "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
                 "30ee3e1110167f948a6b9946edeeb738"),
    ),
    "squeezenet": Architecture(_squeezenet, squeezenet.MIN_INPUT_SIZE, head_dropout=0.5, handwritten=True),
}  # fmt: skip
