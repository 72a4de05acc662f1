"""wav2vec 2.0: backbone, classifier and self-supervised pretraining; registers wav2vec2_base/large."""

from tfaudio.models.registry import register
from tfaudio.models.wav2vec2.backbone import Wav2Vec2Backbone
from tfaudio.models.wav2vec2.classifier import MaskedMeanPooling, Wav2Vec2Classifier
from tfaudio.models.wav2vec2.pretraining import GumbelTemperatureDecay, Wav2Vec2PreTrainer
from tfaudio.models.wav2vec2.quantizer import GumbelVectorQuantizer
from tfaudio.clip import clip_samples

__all__ = [
    "GumbelTemperatureDecay",
    "GumbelVectorQuantizer",
    "MaskedMeanPooling",
    "Wav2Vec2Backbone",
    "Wav2Vec2Classifier",
    "Wav2Vec2PreTrainer",
    "build_wav2vec2_base",
    "build_wav2vec2_large",
]

# facebook/wav2vec2-base: group-norm feature encoder, post-LN transformer.
BASE = {
    "hidden_dim": 768,
    "num_layers": 12,
    "num_heads": 12,
    "intermediate_dim": 3072,
    "conv_bias": False,
    "feature_norm": "group",
    "norm_first": False,
}
# facebook/wav2vec2-large-lv60 ("stable layer norm"): layer-norm feature encoder, pre-LN transformer.
LARGE = {
    "hidden_dim": 1024,
    "num_layers": 24,
    "num_heads": 16,
    "intermediate_dim": 4096,
    "conv_bias": True,
    "feature_norm": "layer",
    "norm_first": True,
}
_CLASSIFIER_ARGS = ("classifier_proj_size", "freeze_feature_encoder")


def _build(preset, num_classes, sample_rate, clip_seconds, overrides):
    classifier_args = {k: overrides.pop(k) for k in _CLASSIFIER_ARGS if k in overrides}
    backbone_args = dict(preset, num_samples=clip_samples(sample_rate, clip_seconds))
    backbone_args.update(overrides)
    backbone = Wav2Vec2Backbone(**backbone_args)
    return Wav2Vec2Classifier(
        backbone, num_classes=num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **classifier_args
    )


@register("wav2vec2_base")
def build_wav2vec2_base(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """wav2vec 2.0 base classifier (95M parameters); the model expects 16 kHz audio.

    Overrides reach `Wav2Vec2Backbone` (e.g. `hidden_dim=32, num_layers=2`) or the
    classifier (`classifier_proj_size`, `freeze_feature_encoder`).
    """
    return _build(BASE, num_classes, sample_rate, clip_seconds, overrides)


@register("wav2vec2_large")
def build_wav2vec2_large(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """wav2vec 2.0 large ("stable layer norm", lv60 layout) classifier (315M parameters)."""
    return _build(LARGE, num_classes, sample_rate, clip_seconds, overrides)
