"""Image backbones on log-mel spectrograms: AlexNet, VGG16, InceptionV3, ResNet50, DenseNet121, SqueezeNet.

- `architectures`: the backbone table (`ARCHITECTURES`).
- `imagenet_weights`: keras.applications' ImageNet files, downloaded once into the Keras cache.
- `classifier`: `SpectrogramClassifier`, the task; registers one builder per architecture.
"""

from tfaudio.layers.utterance_normalization import UtteranceNormalization
from tfaudio.models.registry import register
from tfaudio.models.spectrogram_cnn.architectures import ARCHITECTURES, Architecture
from tfaudio.models.spectrogram_cnn.classifier import SpectrogramClassifier
from tfaudio.models.spectrogram_cnn.imagenet_weights import imagenet_weights_path, keras_cache_dir


def _builder(architecture):
    def build(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
        return SpectrogramClassifier(
            architecture, num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **overrides
        )

    build.__name__ = f"build_{architecture}"
    build.__doc__ = f"Builds a `SpectrogramClassifier` with the {architecture!r} backbone; overrides reach its config."
    return build


for _name in ARCHITECTURES:
    register(_name)(_builder(_name))

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "SpectrogramClassifier",
    "UtteranceNormalization",
    "imagenet_weights_path",
    "keras_cache_dir",
]
