"""DS-CNN (Zhang et al. 2017, "Hello Edge"): a depthwise-separable CNN for keyword spotting."""

from tfaudio.backend import keras, register_serializable
from tfaudio.models import kws_frontend
from tfaudio.models.registry import register
from tfaudio.models.task import Task, stores_arguments
from tfaudio.clip import clip_samples

# The ARM reference configurations (ARM-software/ML-KWS-for-MCU, README "DS_CNN" rows,
# `model_size_info`): (filters, (kernel time, kernel freq), (stride time, stride freq))
# of the first (regular) convolution, then one entry per depthwise-separable block.
SIZES = {
    "s": ((64, (10, 4), (2, 2)), [(64, (3, 3), (1, 1))] * 4),
    "m": ((172, (10, 4), (2, 1)), [(172, (3, 3), (2, 2))] + [(172, (3, 3), (1, 1))] * 3),
    "l": ((276, (10, 4), (2, 1)), [(276, (3, 3), (2, 2))] + [(276, (3, 3), (1, 1))] * 4),
}

# What Table 7 of the paper lists as "Memory" for each size (KB), the weights and biases
# (batch norm folded, 8 bits each) plus the largest pair of activation buffers.
PAPER_MEMORY_KB = {"s": 38.6, "m": 189.2, "l": 497.6}


@register_serializable
class DSCNN(Task):
    """DS-CNN keyword spotter on an in-graph log-mel spectrogram.

    Zhang, Suda, Lai and Chandra, "Hello Edge: Keyword Spotting on
    Microcontrollers", arXiv 1711.07128 (2017). waveform -> [peak
    normalisation] -> 40-band log-mel (30 ms windows, 10 ms hop) -> batch norm
    per band -> conv (10x4 in time x frequency) -> BN -> ReLU -> N x
    [depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU] -> average
    pool over time and frequency -> [dropout] -> Dense logits. Filters, kernels
    and strides per size are the ARM reference's (`SIZES`): S has 64 filters and
    4 separable blocks, M 172 and 4, L 276 and 5.

    Parameters: the convolution and dense weights do not depend on the input
    size, so the counts are the paper's whatever the frontend. With batch
    normalisation folded into the convolutions (as TFLite stores them), S has
    22,604 weights and biases for 12 classes, M 135,032 and L 410,700. The
    paper's Table 7 reports memory (8-bit weights plus the largest in/out
    activation pair on its 49 x 10 MFCC input): 38.6 / 189.2 / 497.6 KB; our
    counts plus those activations give 38,604 / 189,212 / 497,640 bytes, equal to
    the table to its last digit (tests/models/test_ds_cnn.py). Keras' own count
    adds the four batch-norm statistics per channel.

    Where it departs from the paper: the paper feeds 10 MFCCs of 40 ms frames
    every 20 ms (49 x 10); here the input is the log-mel image (101 x 40 at 1 s,
    `num_mel_bins`, `frame_length_seconds`, `frame_step_seconds`), which leaves
    the parameters unchanged and raises the compute (`frame_step_seconds=0.02`
    and `num_mel_bins=10` come close to the paper's cost). Convolutions have no
    bias (the batch norm after each one holds it).

    Args:
        num_classes: int. Number of logits.
        sample_rate: int. Input sample rate, in Hz. Defaults to 16000.
        clip_seconds: float. Input length; the model takes
            `round(sample_rate * clip_seconds)` samples. Defaults to 1.0.
        size: "s", "m" or "l". Defaults to "s".
        num_mel_bins: int. Mel bands. Defaults to 40.
        frame_length_seconds: float. Window length. Defaults to 0.03.
        frame_step_seconds: float. Hop. Defaults to 0.01.
        dropout: float. Dropout before the logits. Defaults to 0.2.
        input_norm: "peak" or None. Divide each waveform by its peak first
            (`PeakNormalization`; full-int8 exports need it, see
            `tfaudio.export.to_tflite`). Defaults to "peak".
        time_padding: "same" (the paper) or "causal": convolutions pad time in
            the past only and frontend frames are not centred, so the model can be
            made to stream one hop per call with outputs equal to the whole-window
            model's (see `kws_frontend.TIME_PADDINGS`); "valid" pads no time at all
            (a stream then equals the model on every sliding window). Defaults to "same".
        **kwargs: `keras.Model` arguments (`name`, ...).

    Input shape:
        `[batch, round(sample_rate * clip_seconds)]` float32 waveform in [-1, 1].

    Output shape:
        `[batch, num_classes]` logits.

    Example:
    >>> model = DSCNN(num_classes=12, size="s")
    >>> model(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 12])
    """

    @stores_arguments
    def __init__(
        self,
        num_classes,
        sample_rate=16000,
        clip_seconds=1.0,
        size="s",
        num_mel_bins=40,
        frame_length_seconds=0.03,
        frame_step_seconds=0.01,
        dropout=0.2,
        input_norm="peak",
        time_padding="same",
        **kwargs,
    ):
        if size not in SIZES:
            raise ValueError(f"`size` must be one of {sorted(SIZES)}. Received: size={size!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
        kws_frontend.validate(input_norm, time_padding, num_mel_bins, frame_length_seconds, frame_step_seconds)
        samples = clip_samples(sample_rate, clip_seconds)
        (first_filters, first_kernel, first_strides), blocks = SIZES[size]

        def bn_relu(x, name):
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            return keras.layers.ReLU(name=f"{name}_relu")(x)

        # === Functional graph ===
        waveform = keras.Input(shape=(samples,), name="waveform")
        x = kws_frontend.log_mel_features(
            waveform, sample_rate, num_mel_bins, frame_length_seconds, frame_step_seconds, input_norm, time_padding
        )
        x = kws_frontend.conv2d(x, first_filters, first_kernel, first_strides, time_padding=time_padding, name="conv_1")
        x = bn_relu(x, "conv_1")
        for i, (filters, kernel, strides) in enumerate(blocks):
            name = f"conv_ds_{i + 1}"
            x = kws_frontend.conv2d(x, None, kernel, strides, time_padding=time_padding, name=f"{name}_dw")
            x = bn_relu(x, f"{name}_dw")
            x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
            x = bn_relu(x, f"{name}_pw")
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name="dropout")(x)
        logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
        kwargs.setdefault("name", f"ds_cnn_{size}")
        super().__init__(inputs=waveform, outputs=logits, **kwargs)

        # === Config === (the other arguments: `stores_arguments`)
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds

    backbone_in_config = False  # one graph from waveform to logits


@register("ds_cnn")
def build_ds_cnn(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """DS-CNN (`DSCNN` for the arguments `overrides` may set, e.g. `size="m"`)."""
    return DSCNN(num_classes=num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **overrides)
