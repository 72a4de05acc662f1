"""wav2vec 2.0 audio classifier: backbone, projector, mean pooling over real frames, linear classifier."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.models.task import Task
from tfaudio.models.wav2vec2.layers import FramePaddingMask
from tfaudio.clip import clip_samples


@register_serializable
class MaskedMeanPooling(keras.layers.Layer):
    """Mean over time of the frames where `padding_mask` is true (all frames without a mask).

    Call arguments:
        inputs: `[batch, frames, channels]`.
        padding_mask: optional bool `[batch, frames]`.

    Output shape:
        `[batch, channels]`.
    """

    def call(self, inputs, padding_mask=None):
        if padding_mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.cast(padding_mask, inputs.dtype)[:, :, None]
        return tf.reduce_sum(inputs * weights, axis=1) / tf.reduce_sum(weights, axis=1)

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return (inputs_shape[0], inputs_shape[-1])


@register_serializable
class Wav2Vec2Classifier(Task):
    """Utterance classifier on a `Wav2Vec2Backbone`, like transformers' `Wav2Vec2ForSequenceClassification`.

    `logits = classifier(mean_over_real_frames(projector(backbone(waveform))))`.

    Args:
        backbone: `Wav2Vec2Backbone`.
        num_classes: int. Number of logits.
        classifier_proj_size: int. Width of the projector before pooling. Defaults to 256.
        freeze_feature_encoder: bool. Keeps the conv feature encoder's weights fixed
            in training (as `freeze_feature_encoder()` in transformers). Defaults to False.
        sample_rate: int. Sample rate the model expects, in Hz (wav2vec 2.0
            checkpoints are trained on 16 kHz audio). Defaults to 16000.
        clip_seconds: float or None. Input length; None derives it from the
            backbone's `num_samples` (None there: any length). When given it must
            round to the backbone's `num_samples`. Defaults to None.

    Input shape:
        The backbone's: `[batch, samples]` waveform, or `{"waveform", "padding_mask"}`.

    Output shape:
        `[batch, num_classes]` logits.

    Example:
    >>> model = Wav2Vec2Classifier(Wav2Vec2Backbone(...), num_classes=10)
    >>> model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """

    def __init__(
        self,
        backbone,
        num_classes,
        classifier_proj_size=256,
        freeze_feature_encoder=False,
        sample_rate=16000,
        clip_seconds=None,
        **kwargs,
    ):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if not isinstance(classifier_proj_size, int) or classifier_proj_size < 1:
            raise ValueError(
                f"`classifier_proj_size` must be a positive int. Received: classifier_proj_size={classifier_proj_size!r}"
            )

        clip_seconds = backbone_clip_seconds(backbone, sample_rate, clip_seconds)

        # === Layers ===
        projector = keras.layers.Dense(classifier_proj_size, name="projector")
        pooling = MaskedMeanPooling(name="pooling")
        classifier = keras.layers.Dense(num_classes, name="classifier")
        frame_padding_mask = FramePaddingMask(backbone.conv_kernels, backbone.conv_strides, name="frame_padding_mask")
        if freeze_feature_encoder:
            backbone.feature_encoder.trainable = False

        # === Functional model ===
        waveform = keras.Input(shape=(backbone.num_samples,), dtype="float32", name="waveform")
        if backbone.use_padding_mask:
            padding_mask = keras.Input(shape=(backbone.num_samples,), dtype="int32", name="padding_mask")
            inputs = {"waveform": waveform, "padding_mask": padding_mask}
            hidden = projector(backbone(inputs))
            pooled = pooling(hidden, padding_mask=frame_padding_mask(padding_mask, hidden))
        else:
            inputs = waveform
            pooled = pooling(projector(backbone(waveform)))
        logits = classifier(pooled)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        self.backbone = backbone
        self.projector = projector
        self.pooling = pooling
        self.classifier = classifier

        # === Config ===
        self.num_classes = num_classes
        self.classifier_proj_size = classifier_proj_size
        self.freeze_feature_encoder = freeze_feature_encoder
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "classifier_proj_size": self.classifier_proj_size,
            "freeze_feature_encoder": self.freeze_feature_encoder,
        }


def backbone_clip_seconds(backbone, sample_rate, clip_seconds):
    """The clip length of a task on `backbone`: `clip_seconds` checked against `backbone.num_samples`, or derived."""
    if clip_seconds is None:
        clip_samples(sample_rate, None)  # validates sample_rate
        return None if backbone.num_samples is None else backbone.num_samples / sample_rate
    if clip_samples(sample_rate, clip_seconds) != backbone.num_samples:
        raise ValueError(
            f"`clip_seconds` must match the backbone's input length ({backbone.num_samples} samples). "
            f"Received: sample_rate={sample_rate!r}, clip_seconds={clip_seconds!r}"
        )
    return clip_seconds
