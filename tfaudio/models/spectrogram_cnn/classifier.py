"""`SpectrogramClassifier`: a waveform classifier that treats the log-mel spectrogram as an image for a CNN."""

import math
import os

from tfaudio.backend import keras, register_serializable
from tfaudio.clip import clip_samples
from tfaudio.layers.log_mel_spectrogram import LogMelSpectrogram
from tfaudio.layers.peak_normalization import PeakNormalization
from tfaudio.layers.utterance_normalization import UtteranceNormalization
from tfaudio.models.spectrogram_cnn.architectures import ARCHITECTURES
from tfaudio.models.spectrogram_cnn.imagenet_weights import imagenet_weights_path
from tfaudio.models.task import Task

_NORMALIZATIONS = ("batch_norm", "utterance", None)
_CHANNEL_ADAPTERS = (None, "none", "repeat", "conv")
_POOLINGS = ("avg", "max")


@register_serializable
class SpectrogramClassifier(Task):
    """Audio classifier that treats the log-mel spectrogram as an image for a CNN backbone.

    waveform `[batch, samples]` -> `LogMelSpectrogram` -> normalisation ->
    `[batch, frames, num_mel_bins, 1]` image (height = time, width = mel) ->
    [resize] -> [channel adapter] -> backbone -> global pooling -> dropout ->
    Dense logits. The backbone is one of AlexNet (`tfaudio.models.alexnet`),
    SqueezeNet 1.1 (`tfaudio.models.squeezenet`), or VGG16, InceptionV3,
    ResNet50, DenseNet121 from `keras.applications` (the real architectures,
    without their ImageNet classifier top).

    Normalisation: "batch_norm" (default) is a learned `BatchNormalization` per
    mel bin, with statistics over batch and time: it standardises each band's
    dB level the way PANNs' `bn0` does, adapts during fine-tuning and folds into
    a multiply-add in TFLite; `adapt_normalization(waveforms)` initialises its
    moving statistics from data. "utterance" standardises each spectrogram by its
    own mean and variance (no learned state; robust to recording gain). None
    feeds raw log-mel values.

    Resizing happens only when the spectrogram is smaller than what the backbone
    accepts (InceptionV3 75x75, AlexNet 67x67, VGG16/ResNet50/DenseNet121 32x32,
    SqueezeNet 31x31), or when `image_size` asks for it: a bilinear
    `keras.layers.Resizing` in the graph (TFLite builtin `RESIZE_BILINEAR`).

    The channel adapter maps the 1-channel spectrogram to what the backbone
    takes: "none" builds the backbone for 1 channel (training from scratch),
    "repeat" copies the channel three times (fixed; ImageNet filters see a grey
    image), "conv" is a learned 1x1 convolution to 3 channels. The default
    (None) is "none" without pretrained weights and "repeat" with them. No
    ImageNet mean/std preprocessing is applied: the normalised spectrogram is not
    an RGB photo, and fine-tuning adapts the first layers.

    Transfer learning: `weights="imagenet"` loads keras.applications' no-top
    ImageNet weights from the Keras cache (`$KERAS_HOME/models` or
    `~/.keras/models`), downloading them there the first time and checking
    their MD5 as keras.applications does; without network access and no
    cached file it raises `FileNotFoundError` naming the file, the folder and
    the URL (see `imagenet_weights.imagenet_weights_path`). `weights=PATH` loads a
    `.weights.h5` or legacy `.h5` file saved from a backbone of the same
    architecture and input shape. The backbone is the sub-model named "backbone",
    also `model.backbone`; `freeze_backbone=True` sets `model.backbone.trainable
    = False` (frozen BatchNorm layers then run in inference mode) so a trainer can
    fit the head first and later set it back to True and recompile with a lower
    learning rate. Loaded weights are an initialisation, kept in
    `initial_weights` (`weights` is Keras' list of variables): `get_config`
    reports `weights=None`, since the saved model carries its own weights (a
    reload must not fetch ImageNet weights again), and reports
    `freeze_backbone` from the backbone's current trainable state.

    Args:
        architecture: str. One of `ARCHITECTURES`: "alexnet", "vgg16",
            "inception_v3", "resnet50", "densenet121", "squeezenet".
        num_classes: int. Number of logits.
        sample_rate: int. Input sample rate, in Hz. Defaults to 16000.
        clip_seconds: float. Input length; the model takes
            `round(sample_rate * clip_seconds)` samples. Defaults to 1.0.
        fft_length: int or None. FFT size; None picks the power of two at or
            above 25 ms. Defaults to None.
        frame_length: int or None. Window length; None uses `fft_length`.
        frame_step: int or None. Hop in samples; None is 10 ms.
        num_mel_bins: int. Mel bands (image width). Defaults to 64.
        min_freq: float. Lowest mel band edge, in Hz. Defaults to 0.0.
        max_freq: float or None. Highest band edge; None is Nyquist.
        normalization: "batch_norm", "utterance" or None. Defaults to "batch_norm".
        image_size: None or (height, width). Resize the spectrogram to this size
            before the backbone (e.g. (224, 224) to match ImageNet statistics).
            None resizes only up to the backbone's minimum size. Defaults to None.
        channel_adapter: None, "none", "repeat" or "conv". See above.
        weights: None, "imagenet", or a path to a weights file for the backbone.
        freeze_backbone: bool. Make the backbone non-trainable. Defaults to False.
        pooling: "avg" or "max". Global pooling of the backbone's feature maps
            (AlexNet already ends in fully connected layers, so it has none).
            Defaults to "avg".
        dropout: float or None. Dropout rate before the Dense layer; None uses the
            architecture's default (0.5 for AlexNet and SqueezeNet as in their
            papers, 0.2 for the keras.applications backbones).
        width_multiplier: float. AlexNet/SqueezeNet only: scales all filters and
            units (the structure is unchanged). Defaults to 1.0.
        local_response_normalization: bool. AlexNet only: LRN after conv1 and
            conv2 (float TFLite only; no int8 kernel). Defaults to False.
        input_norm: "peak" or None: divide each waveform by its peak before the
            frontend (`PeakNormalization`). It makes the model independent of the
            recording level, and full-int8 exports keep quiet clips' resolution
            (see `tfaudio.export.to_tflite`). On FSDD (benchmarks/model_zoo.py,
            SqueezeNet, 8 epochs) it took test accuracy from 63.7% to 86.3% in
            float and from 53.7% to 84.3% in int8. Defaults to "peak".

    Input shape:
        `[batch, round(sample_rate * clip_seconds)]` float32 waveform in [-1, 1].

    Output shape:
        `[batch, num_classes]` logits.

    Example:
    >>> model = SpectrogramClassifier("resnet50", num_classes=10, sample_rate=8000)
    >>> model.backbone.trainable = False  # stage 1: train the head only
    """

    def __init__(
        self,
        architecture,
        num_classes,
        sample_rate=16000,
        clip_seconds=1.0,
        fft_length=None,
        frame_length=None,
        frame_step=None,
        num_mel_bins=64,
        min_freq=0.0,
        max_freq=None,
        normalization="batch_norm",
        image_size=None,
        channel_adapter=None,
        weights=None,
        freeze_backbone=False,
        pooling="avg",
        dropout=None,
        width_multiplier=1.0,
        local_response_normalization=False,
        input_norm="peak",
        **kwargs,
    ):
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"`architecture` must be one of {sorted(ARCHITECTURES)}. Received: architecture={architecture!r}"
            )
        spec = ARCHITECTURES[architecture]
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {_NORMALIZATIONS}. Received: normalization={normalization!r}"
            )
        if input_norm not in (None, "peak"):
            raise ValueError(f"`input_norm` must be None or 'peak'. Received: input_norm={input_norm!r}")
        if channel_adapter not in _CHANNEL_ADAPTERS:
            raise ValueError(
                f"`channel_adapter` must be one of {_CHANNEL_ADAPTERS}. Received: channel_adapter={channel_adapter!r}"
            )
        if pooling not in _POOLINGS:
            raise ValueError(f"`pooling` must be one of {_POOLINGS}. Received: pooling={pooling!r}")
        if dropout is not None and not 0 <= dropout < 1:
            raise ValueError(f"`dropout` must be None or in [0, 1). Received: dropout={dropout!r}")
        if image_size is not None and (
            len(image_size) != 2 or any(not isinstance(s, int) or s < spec.min_size for s in image_size)
        ):
            raise ValueError(
                f"`image_size` must be None or 2 ints of at least {spec.min_size} for {architecture!r}. "
                f"Received: image_size={image_size!r}"
            )
        if not spec.handwritten and (width_multiplier != 1.0 or local_response_normalization):
            raise ValueError(
                "`width_multiplier` and `local_response_normalization` apply to alexnet and squeezenet only; "
                f"keras.applications backbones keep their real widths. Received: architecture={architecture!r}, "
                f"width_multiplier={width_multiplier!r}, local_response_normalization={local_response_normalization!r}"
            )
        if architecture != "alexnet" and local_response_normalization:
            raise ValueError(
                "`local_response_normalization` applies to alexnet only. "
                f"Received: local_response_normalization={local_response_normalization!r}"
            )
        if weights is not None and not isinstance(weights, (str, os.PathLike)):
            raise ValueError(f"`weights` must be None, 'imagenet' or a file path. Received: weights={weights!r}")
        weights = os.fspath(weights) if weights is not None else None
        adapter = channel_adapter or ("none" if weights is None else "repeat")
        if weights == "imagenet" and adapter == "none":
            raise ValueError(
                "ImageNet weights need a 3-channel input: use channel_adapter='repeat' or 'conv'. "
                f"Received: channel_adapter={channel_adapter!r}"
            )
        # Resolve the ImageNet file before building anything, so a missing file fails fast.
        weights_path = imagenet_weights_path(architecture) if weights == "imagenet" else weights
        if weights_path is not None and not os.path.isfile(weights_path):
            raise FileNotFoundError(f"No weights file at this path. Received: weights={weights!r}")

        num_samples = clip_samples(sample_rate, clip_seconds)
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(0.025 * sample_rate)))
        self._frame_step = frame_step or int(round(0.01 * sample_rate))

        # === Layers ===
        frontend = LogMelSpectrogram(
            sample_rate=sample_rate,
            fft_length=self._fft_length,
            frame_length=frame_length,
            frame_step=self._frame_step,
            num_mel_bins=num_mel_bins,
            min_freq=min_freq,
            max_freq=max_freq,
            name="log_mel_spectrogram",
        )

        # === Functional graph ===
        inputs = keras.Input(shape=(num_samples,), name="waveform")
        x = PeakNormalization(name="input_norm")(inputs) if input_norm == "peak" else inputs
        x = frontend(x)
        if normalization == "batch_norm":
            x = keras.layers.BatchNormalization(axis=-1, name="normalization")(x)
        elif normalization == "utterance":
            x = UtteranceNormalization(name="normalization")(x)
        frames, bins = int(x.shape[1]), int(x.shape[2])
        x = keras.layers.Reshape((frames, bins, 1), name="to_image")(x)
        height, width = image_size or (max(frames, spec.min_size), max(bins, spec.min_size))
        if (height, width) != (frames, bins):
            x = keras.layers.Resizing(height, width, interpolation="bilinear", name="resize")(x)
        if adapter == "repeat":
            x = keras.layers.Concatenate(axis=-1, name="channel_adapter")([x, x, x])
        elif adapter == "conv":
            x = keras.layers.Conv2D(3, 1, name="channel_adapter")(x)
        channels = 1 if adapter == "none" else 3
        backbone = spec.make(
            (height, width, channels),
            name="backbone",
            width_multiplier=width_multiplier,
            local_response_normalization=local_response_normalization,
        )
        if weights_path is not None:
            _load_backbone_weights(backbone, weights_path, weights)
        backbone.trainable = not freeze_backbone
        x = backbone(x)
        if len(x.shape) == 4:
            pool = keras.layers.GlobalAveragePooling2D if pooling == "avg" else keras.layers.GlobalMaxPooling2D
            x = pool(name="pool")(x)
        rate = spec.head_dropout if dropout is None else dropout
        x = keras.layers.Dropout(rate, name="dropout")(x)
        outputs = keras.layers.Dense(num_classes, name="logits")(x)
        kwargs.setdefault("name", architecture)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.architecture = architecture
        self.num_classes = num_classes
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds
        self.fft_length = fft_length
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.normalization = normalization
        self.image_size = tuple(image_size) if image_size is not None else None
        self.channel_adapter = channel_adapter
        self.initial_weights = weights
        self.pooling = pooling
        self.dropout = dropout
        self.width_multiplier = width_multiplier
        self.local_response_normalization = local_response_normalization
        self.input_norm = input_norm

    def adapt_normalization(self, waveforms, batch_size=32):
        """Sets the "batch_norm" normalisation's moving statistics to the data's, per mel bin.

        A fresh `BatchNormalization` starts from mean 0 and variance 1, so until
        training has moved its moving averages (momentum 0.99: hundreds of steps)
        inference sees raw dB values (around -60, spread ~25). Adapting on a sample
        of training clips first makes inference-mode outputs sensible from the
        start (like `keras.layers.Normalization.adapt`); training then refines
        them. A no-op for the other normalisations.

        Args:
            waveforms: float32 array `[clips, samples]`.
            batch_size: int. Batch size of the feature computation.

        Returns:
            The model.
        """
        if self.normalization != "batch_norm":
            return self
        features = keras.Model(self.inputs, self.get_layer("log_mel_spectrogram").output)
        spectrograms = features.predict(waveforms, batch_size=batch_size, verbose=0)
        layer = self.get_layer("normalization")
        layer.moving_mean.assign(spectrograms.mean(axis=(0, 1)))
        layer.moving_variance.assign(spectrograms.var(axis=(0, 1)))
        return self

    # The backbone is rebuilt from `architecture` and the sizes, not serialized.
    backbone_in_config = False
    # Configs saved before `input_norm` existed fed the raw waveform to the frontend.
    legacy_defaults = {"input_norm": None}

    def get_config(self):
        return {
            **super().get_config(),
            "architecture": self.architecture,
            "num_classes": self.num_classes,
            "fft_length": self.fft_length,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "normalization": self.normalization,
            "image_size": list(self.image_size) if self.image_size is not None else None,
            "channel_adapter": self.channel_adapter,
            # The loaded weights are only an initialisation; the saved model carries its own.
            "weights": None,
            "freeze_backbone": not self.backbone.trainable,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "width_multiplier": self.width_multiplier,
            "local_response_normalization": self.local_response_normalization,
            "input_norm": self.input_norm,
        }


def _load_backbone_weights(backbone, path, source):
    try:
        backbone.load_weights(path)
    except Exception as e:  # shape/layer-count mismatches surface from several places in Keras
        raise ValueError(
            f"Could not load the weights file into the {backbone.name!r} backbone (built for input "
            f"{tuple(backbone.inputs[0].shape[1:])}); it must come from the same architecture with the same "
            f"number of input channels. Received: weights={source!r} ({path})\n{e}"
        ) from e
