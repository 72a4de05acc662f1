"""AST audio classifier: waveform -> Kaldi fbank -> AST backbone -> mean of the two tokens -> logits."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.models.ast.backbone import ASTBackbone  # noqa: F401  (registered before from_config deserializes it)
from tfaudio.models.ast.features import AUDIOSET_MEAN, AUDIOSET_STD, KALDI_MEL_FLOOR, KaldiFbank
from tfaudio.models.task import Task
from tfaudio.clip import clip_samples


@register_serializable
class ASTTokenPooling(keras.layers.Layer):
    """Mean of the [CLS] and distillation token outputs: `[batch, seq, hidden]` -> `[batch, hidden]`."""

    def call(self, inputs):
        return (inputs[:, 0] + inputs[:, 1]) * tf.constant(0.5, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@register_serializable
class ASTClassifier(Task):
    """Audio Spectrogram Transformer classifier on raw waveforms (Gong et al. 2021, arXiv 2104.01778).

    The features are computed inside the graph (`KaldiFbank`, the same as
    `transformers.ASTFeatureExtractor`), so the model, its `.keras` file and its
    TFLite export take a float32 waveform directly. The head is transformers'
    `ASTMLPHead`: layer norm then a Dense layer on the mean of the [CLS] and
    distillation token outputs.

    Args:
        backbone: `ASTBackbone`. Its `num_mel_bins` and `max_length` set the features.
        num_classes: int. Number of logits.
        sample_rate: int. Sample rate of the input waveform in Hz. Defaults to 16000.
        clip_seconds: float. Input length in seconds; the input has
            `round(sample_rate * clip_seconds)` samples. Defaults to 1.0.
        mean: float. Feature normalisation mean. Defaults to AudioSet's (-4.2677393).
        std: float. Feature normalisation std (features are divided by `2 * std`).
            Defaults to AudioSet's (4.5689974).
        window: str. Fbank window, "hann" as AST or "povey" as Kaldi. Defaults to "hann".
        mel_floor: float. Fbank floor before the log (see `KaldiFbank`). Defaults to
            float32 epsilon, as AST.
        labels: list of str or None. Class names, index-aligned with the logits
            (saved with the model). Defaults to None.

    Input shape:
        `[batch, round(sample_rate * clip_seconds)]` float32 waveform in [-1, 1].

    Output shape:
        `[batch, num_classes]` logits.

    Example:
    >>> backbone = ASTBackbone(num_mel_bins=32, max_length=98, hidden_dim=32, num_layers=2,
    ...                        num_heads=2, intermediate_dim=64)
    >>> model = ASTClassifier(backbone, num_classes=10)
    >>> model(tf.zeros([2, 16000])).shape
    TensorShape([2, 10])
    """

    def __init__(
        self,
        backbone,
        num_classes,
        sample_rate=16000,
        clip_seconds=1.0,
        mean=AUDIOSET_MEAN,
        std=AUDIOSET_STD,
        window="hann",
        mel_floor=KALDI_MEL_FLOOR,
        labels=None,
        **kwargs,
    ):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) != num_classes:
                raise ValueError(
                    f"`labels` must have `num_classes` ({num_classes}) entries. Received: labels={labels!r}"
                )
        num_samples = clip_samples(sample_rate, clip_seconds)

        # === Layers ===
        fbank = KaldiFbank(
            sample_rate=sample_rate,
            num_mel_bins=backbone.num_mel_bins,
            window=window,
            mel_floor=mel_floor,
            max_length=backbone.max_length,
            mean=mean,
            std=std,
            dtype="float32",  # mel energies can exceed float16's range; the backbone casts afterwards
            name="fbank",
        )
        pooling = ASTTokenPooling(name="token_pooling")
        head_norm = keras.layers.LayerNormalization(epsilon=backbone.layer_norm_epsilon, name="head_norm")
        logits_layer = keras.layers.Dense(
            num_classes, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="logits"
        )

        # === Functional graph ===
        waveform = keras.Input(shape=(num_samples,), name="waveform")
        x = backbone(fbank(waveform))
        outputs = logits_layer(head_norm(pooling(x)))
        super().__init__(inputs=waveform, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.num_classes = num_classes
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds
        self.mean = mean
        self.std = std
        self.window = window
        self.mel_floor = mel_floor
        self.labels = labels
        self.fbank = fbank
        self.head_norm = head_norm
        self.logits_layer = logits_layer

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "mean": self.mean,
            "std": self.std,
            "window": self.window,
            "mel_floor": self.mel_floor,
            "labels": self.labels,
        }
