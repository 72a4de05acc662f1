"""BC-ResNet (Kim et al. 2021): broadcasted residual learning for keyword spotting."""

import math

from tfaudio.backend import keras, register_serializable
from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization
from tfaudio.models import kws_frontend
from tfaudio.models.registry import register
from tfaudio.models.task import Task, stores_arguments
from tfaudio.clip import clip_samples

# Blocks per stage and the stages whose first block halves the frequency axis.
_STAGE_BLOCKS = (2, 2, 4, 4)
_STRIDED_STAGES = (1, 2)
# Dilation of each stage's temporal depthwise conv in the reference.
_TIME_DILATIONS = (1, 2, 4, 8)
# Channels as multiples of the base width 8 * width: head, the four stages, classifier.
_CHANNEL_FACTORS = (2, 1, 1.5, 2, 2.5, 4)

# Table 1 of the paper (parameters, for 12 classes) for the widths it reports.
PAPER_PARAMS = {1: 9_200, 2: 27_300, 3: 54_200, 6: 188_000, 8: 321_000}


def channels(width):
    """The six channel counts of BC-ResNet-`width` (the reference's `int(8 * width)` base)."""
    base = int(8 * width)
    return [int(base * f) for f in _CHANNEL_FACTORS]


@register_serializable
class BCResNet(Task):
    """BC-ResNet keyword spotter on an in-graph log-mel spectrogram.

    Kim, Chang, Lee and Sung, "Broadcasted Residual Learning for Efficient
    Keyword Spotting", Interspeech 2021 (arXiv 2106.04140), following the
    authors' code (Qualcomm-AI-research/bcresnet). A BC-ResBlock runs a
    frequency-wise depthwise 3x1 convolution with SubSpectral Normalization
    (`f2`, a 2-D feature), averages it over frequency, runs a temporal depthwise
    convolution (dilated 1, 2, 4, 8 in the four stages) -> BN -> SiLU ->
    pointwise conv -> channel dropout (`f1`, a 1-D feature) and broadcasts the
    result back over frequency: `y = ReLU(x + f2(x) + f1(avgpool_freq(f2(x))))`
    (a transition block, where the channels change, starts `f2` with a 1x1
    conv -> BN -> ReLU and drops the identity term). The network: 5x5 conv
    (stride 2 in frequency) -> BN -> ReLU -> stages of 2, 2, 4, 4 blocks (the
    2nd and 3rd stages halve the frequency axis) -> depthwise conv over the
    remaining frequencies x 5 frames -> pointwise conv -> BN -> ReLU -> global
    average pool -> 1x1 conv (with bias) to the logits. Widths scale with
    `width` (BC-ResNet-`width`): channels `8 * width * (2, 1, 1.5, 2, 2.5, 4)`.

    Frontend as the reference: 40 log-mel bands of 30 ms windows every 10 ms
    (`kws_frontend.log_mel_features`), here in the graph, with a batch norm per
    band in front (80 parameters the reference does not have).

    Parameters (12 classes; tests/models/test_bc_resnet.py): the trainable
    counts equal the reference code's for every width, plus the 80 of the input
    batch norm; Table 1 of the paper rounds them: BC-ResNet-1 9.2K,
    -2 27.3K, -3 54.2K, -6 188K, -8 321K (`PAPER_PARAMS`).

    Args:
        num_classes: int. Number of logits.
        sample_rate: int. Input sample rate, in Hz. Defaults to 16000.
        clip_seconds: float. Input length; the model takes
            `round(sample_rate * clip_seconds)` samples. Defaults to 1.0.
        width: float. The paper's tau, 1 to 8 (base channels `int(8 * width)`).
            Defaults to 1.
        num_mel_bins: int. Mel bands; after the three frequency halvings the
            count must be divisible by `sub_spectral_groups` in every block.
            Defaults to 40.
        frame_length_seconds: float. Window length. Defaults to 0.03.
        frame_step_seconds: float. Hop. Defaults to 0.01.
        sub_spectral_groups: int. Frequency sub-bands of each
            SubSpectralNormalization. Defaults to 5.
        dropout: float. Channel dropout at the end of each `f1`. Defaults to 0.1.
        input_norm: "peak" or None (see `DSCNN`). Defaults to "peak".
        time_padding: "same" (the reference) or "causal" (time padded in the
            past only, frames not centred: streamable one hop per call with
            outputs equal to the whole-window model's on the first window);
            "valid" (no time padding, so a stream equals the whole-window model
            at every hop; needs more frames than the receptive field: 116 with
            the reference dilations, 1.16 s at a 10 ms hop). Defaults to "same".
        time_dilations: four ints. Dilation of the temporal depthwise conv in
            each stage, or None for the reference's (1, 2, 4, 8). Defaults to
            None. `[1, 1, 1, 1]` with `time_padding="valid"` fits a 1 s clip at a
            20 ms hop (32 of its 49 frames consumed), and its int8 stream rounds
            as the whole-window int8 file does (TFLite lowers a dilated conv of a
            whole window to SPACE_TO_BATCH_ND + conv + BATCH_TO_SPACE_ND).
        **kwargs: `keras.Model` arguments (`name`, ...).

    Input shape:
        `[batch, round(sample_rate * clip_seconds)]` float32 waveform in [-1, 1].

    Output shape:
        `[batch, num_classes]` logits.

    Example:
    >>> model = BCResNet(num_classes=12, width=1)
    >>> model(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 12])
    """

    @stores_arguments
    def __init__(
        self,
        num_classes,
        sample_rate=16000,
        clip_seconds=1.0,
        width=1,
        num_mel_bins=40,
        frame_length_seconds=0.03,
        frame_step_seconds=0.01,
        sub_spectral_groups=5,
        dropout=0.1,
        input_norm="peak",
        time_padding="same",
        time_dilations=None,
        **kwargs,
    ):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not 1 <= width <= 8:
            raise ValueError(f"`width` must be a number in [1, 8]. Received: width={width!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
        kws_frontend.validate(input_norm, time_padding, num_mel_bins, frame_length_seconds, frame_step_seconds)
        dilations = _TIME_DILATIONS if time_dilations is None else time_dilations
        dilations = tuple(dilations) if isinstance(dilations, (list, tuple)) else None
        if dilations is None or len(dilations) != len(_STAGE_BLOCKS) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dilations
        ):
            raise ValueError(
                f"`time_dilations` must be {len(_STAGE_BLOCKS)} positive ints, one per stage. "
                f"Received: time_dilations={time_dilations!r}"
            )
        # Frequency sizes the blocks see: after the head's stride 2, then after each strided stage.
        sizes = [-(-num_mel_bins // 2)]
        for _ in _STRIDED_STAGES:
            sizes.append(-(-sizes[-1] // 2))
        if any(size % sub_spectral_groups for size in sizes):
            raise ValueError(
                f"The blocks' frequency sizes {sizes} must be divisible by `sub_spectral_groups` (40 bands give "
                f"[20, 10, 5]). Received: num_mel_bins={num_mel_bins}, sub_spectral_groups={sub_spectral_groups}"
            )
        samples = clip_samples(sample_rate, clip_seconds)
        if time_padding == "valid":
            # Frames the unpadded time convolutions consume: head 4, each block 2 * its dilation, classifier 4
            # (116 with the reference dilations: 4 + 2 * (2*1 + 2*2 + 4*4 + 4*8) + 4).
            consumed = 4 + 2 * sum(n * d for n, d in zip(_STAGE_BLOCKS, dilations)) + 4
            frame_length = int(round(frame_length_seconds * sample_rate))
            frames = 1 + (samples - 2 ** int(math.ceil(math.log2(frame_length)))) // int(round(frame_step_seconds * sample_rate))
            if frames <= consumed:
                raise ValueError(
                    f'time_padding="valid" needs more than {consumed} frames (the receptive field in time); the clip '
                    f"gives {frames}. Use time_padding='causal' or longer clips. Received: time_padding='valid', "
                    f"clip_seconds={clip_seconds}"
                )
        chans = channels(width)
        pad = time_padding

        def block(x, out_channels, stage, index, freq_stride):
            name = f"stage{stage + 1}_block{index + 1}"
            transition = int(x.shape[-1]) != out_channels
            shortcut = x
            # f2: frequency-wise depthwise conv + SubSpectral Normalization (2-D).
            if transition:
                x = keras.layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_transition_conv")(x)
                x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_transition_bn")(x)
                x = keras.layers.ReLU(name=f"{name}_transition_relu")(x)
            x = kws_frontend.conv2d(x, None, (1, 3), time_padding=pad, name=f"{name}_freq_dwconv")
            if freq_stride > 1:
                # TF's depthwise conv takes equal strides only: convolve, then keep every other bin
                # (the reference's stride-2 conv with padding 1, as a 1x1 max-pool of stride 2).
                x = keras.layers.MaxPooling2D((1, 1), strides=(1, freq_stride), name=f"{name}_freq_stride")(x)
            x = SubSpectralNormalization(sub_spectral_groups, name=f"{name}_ssn")(x)
            aux_2d = x
            # f1: average over frequency, temporal depthwise conv, pointwise conv (1-D).
            x = keras.layers.AveragePooling2D((1, int(x.shape[2])), name=f"{name}_freq_avg")(x)
            dilation = dilations[stage]
            x = kws_frontend.conv2d(
                x, None, (3, 1), dilation_rate=(dilation, 1), time_padding=pad, name=f"{name}_time_dwconv"
            )
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_time_bn")(x)
            x = keras.layers.Activation("swish", name=f"{name}_swish")(x)
            x = keras.layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_pwconv")(x)
            if dropout:
                x = keras.layers.SpatialDropout2D(dropout, name=f"{name}_dropout")(x)
            # Broadcast the 1-D feature over frequency.
            terms = [aux_2d, x] if transition else [shortcut, aux_2d, x]
            lost = int(aux_2d.shape[1]) - int(x.shape[1])  # frames the unpadded temporal conv consumed ("valid")
            if lost:
                # Align on each window's last frame, as the causal model does.
                crop = keras.layers.Cropping2D(((lost, 0), (0, 0)), name=f"{name}_crop")
                terms = [crop(t) for t in terms[:-1]] + [x]
            x = keras.layers.Add(name=f"{name}_add")(terms)
            return keras.layers.ReLU(name=f"{name}_relu")(x)

        # === Functional graph ===
        waveform = keras.Input(shape=(samples,), name="waveform")
        x = kws_frontend.log_mel_features(
            waveform, sample_rate, num_mel_bins, frame_length_seconds, frame_step_seconds, input_norm, time_padding
        )
        x = kws_frontend.conv2d(x, chans[0], (5, 5), (1, 2), time_padding=pad, name="head_conv")
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="head_bn")(x)
        x = keras.layers.ReLU(name="head_relu")(x)
        for stage, blocks in enumerate(_STAGE_BLOCKS):
            for index in range(blocks):
                stride = 2 if stage in _STRIDED_STAGES and index == 0 else 1
                x = block(x, chans[stage + 1], stage, index, stride)
        x = kws_frontend.conv2d(
            x, None, (5, int(x.shape[2])), time_padding=pad, freq_padding="valid", name="classifier_dwconv"
        )
        x = keras.layers.Conv2D(chans[-1], 1, use_bias=False, name="classifier_pwconv")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="classifier_bn")(x)
        x = keras.layers.ReLU(name="classifier_relu")(x)
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
        kwargs.setdefault("name", f"bc_resnet_{width:g}")
        super().__init__(inputs=waveform, outputs=logits, **kwargs)

        # === Config === (the other arguments: `stores_arguments`)
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds

    backbone_in_config = False  # one graph from waveform to logits


@register("bc_resnet")
def build_bc_resnet(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """BC-ResNet (`BCResNet` for the arguments `overrides` may set, e.g. `width=3`)."""
    return BCResNet(num_classes=num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **overrides)
