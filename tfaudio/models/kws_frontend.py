"""What the keyword-spotting models share: the log-mel frontend, argument checks and time padding."""

import math

from tfaudio.backend import keras, register_serializable
from tfaudio.layers.log_mel_spectrogram import LogMelSpectrogram
from tfaudio.layers.peak_normalization import PeakNormalization
from tfaudio.ops import polyphase
from tfaudio.ops.stft import builtin_ops_only_enabled

INPUT_NORMS = ("peak", None)
# "same": zero padding on both sides of time (and frequency), the papers' models.
# "causal": time is padded on the past side only and the frontend frames are not
# centred, so every output frame depends on samples up to its own end and none after:
# the model can run one hop per call with state (helper "stream", tfaudio.streaming)
# and give the same outputs as on the whole window.
# "valid": time is not padded at all (the frontend as for "causal"): each output frame sees real
# frames only, so a stream gives the whole-window model's output at every hop (a sliding window).
TIME_PADDINGS = ("same", "causal", "valid")


def validate(input_norm, time_padding, num_mel_bins, frame_length_seconds, frame_step_seconds):
    if input_norm not in INPUT_NORMS:
        raise ValueError(f"`input_norm` must be one of {INPUT_NORMS}. Received: input_norm={input_norm!r}")
    if time_padding not in TIME_PADDINGS:
        raise ValueError(f"`time_padding` must be one of {TIME_PADDINGS}. Received: time_padding={time_padding!r}")
    if not isinstance(num_mel_bins, int) or num_mel_bins < 1:
        raise ValueError(f"`num_mel_bins` must be a positive int. Received: num_mel_bins={num_mel_bins!r}")
    if not 0 < frame_step_seconds <= frame_length_seconds:
        raise ValueError(
            "Need 0 < frame_step_seconds <= frame_length_seconds. "
            f"Received: frame_length_seconds={frame_length_seconds!r}, frame_step_seconds={frame_step_seconds!r}"
        )


def log_mel_features(waveform, sample_rate, num_mel_bins, frame_length_seconds, frame_step_seconds, input_norm,
                     time_padding):
    """waveform `[batch, samples]` -> batch-normalised log-mel image `[batch, frames, num_mel_bins, 1]`.

    Natural-log mel energies (HTK mel scale, unnormalised triangles, floor 1e-6),
    as the BC-ResNet reference (torchaudio `MelSpectrogram`, `log(x + 1e-6)`) and
    kws_streaming's mel frontend; the FFT is the power of two at or above the
    window. With `time_padding="same"` the frames are centred (torchaudio's
    `center=True`) and clamped to 80 dB below each clip's peak; with "causal" they
    are not centred and not clamped (the clamp looks at the whole window), so
    each frame depends on its own samples only. A `BatchNormalization` per mel bin
    (folded into a multiply-add by TFLite) then standardises the bands.
    """
    frame_length = int(round(frame_length_seconds * sample_rate))
    frame_step = int(round(frame_step_seconds * sample_rate))
    causal = time_padding != "same"
    frontend = LogMelSpectrogram(
        sample_rate=sample_rate,
        fft_length=2 ** int(math.ceil(math.log2(frame_length))),
        frame_length=frame_length,
        frame_step=frame_step,
        num_mel_bins=num_mel_bins,
        mel_scale="htk",
        mel_norm=None,
        log="log",
        amin=1e-6,
        top_db=None if causal else 80.0,
        center=not causal,
        name="log_mel_spectrogram",
    )
    x = PeakNormalization(name="input_norm")(waveform) if input_norm == "peak" else waveform
    x = frontend(x)
    x = keras.layers.BatchNormalization(axis=-1, momentum=0.9, name="feature_norm")(x)
    frames, bins = int(x.shape[1]), int(x.shape[2])
    return keras.layers.Reshape((frames, bins, 1), name="to_image")(x)


def _same_pads(size, kernel, stride, dilation):
    span = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


# The class keeps Keras' name: `.keras` files key a functional model's weights by layer class
# name and order ("layers/conv2d_1/vars/0"), so files saved with keras.layers.Conv2D still load.
@register_serializable
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose exported graph gives a conv with few input channels more of them.

    In training and Keras inference it is `keras.layers.Conv2D`. Traced for TFLite (inside
    `tfaudio.ops.stft.builtin_ops_only()`, as `tfaudio.export.to_tflite` does), a convolution
    with fewer than `polyphase.MIN_CHANNELS_2D` input channels and no dilation (DS-CNN's and
    BC-ResNet's first conv on the one-channel log-mel image) becomes
    `polyphase.polyphase_conv2d`: the same products with stride blocks and kernel rows of the
    image as channels, which XNNPACK's x86 int8 kernels run several times faster than a
    one-channel conv (they pack input channels by 8). Its output is the conv's own, so the
    batch norm after it still folds into the CONV_2D. Same weights and arguments as
    `keras.layers.Conv2D`.
    """

    def _polyphase(self, inputs):
        return (
            builtin_ops_only_enabled()
            and self.data_format == "channels_last"
            and int(inputs.shape[-1]) < polyphase.MIN_CHANNELS_2D
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and inputs.shape[1] is not None
            and inputs.shape[2] is not None
        )

    def convolution_op(self, inputs, kernel):
        if not self._polyphase(inputs):
            return super().convolution_op(inputs, kernel)
        size = (int(inputs.shape[1]), int(inputs.shape[2]))
        if self.padding == "same":
            padding = polyphase.same_padding_2d(size, self.kernel_size, self.strides)
        else:
            padding = ((0, 0), (0, 0))
        return polyphase.polyphase_conv2d(inputs, kernel, self.strides, padding)


def conv2d(x, filters, kernel_size, strides=(1, 1), dilation_rate=(1, 1), use_bias=False, time_padding="same",
           freq_padding="same", name=None):
    """A Conv2D (`filters` an int) or DepthwiseConv2D (`filters=None`) on `x` [batch, time, freq, channels].

    Time is padded like Keras "same", with `time_padding="causal"` by
    `dilation * (kernel - 1)` frames in the past only, with "valid" not at all; frequency like "same" or
    not at all (`freq_padding="valid"`). Explicit padding is a ZeroPadding2D
    before a "valid" convolution.
    """
    (kt, kf), (st, sf), (dt, df) = kernel_size, strides, dilation_rate
    kwargs = dict(strides=strides, dilation_rate=dilation_rate, use_bias=use_bias, name=name)
    if time_padding == "same" and freq_padding == "same":
        kwargs["padding"] = "same"
    else:
        kwargs["padding"] = "valid"
        if time_padding == "causal":
            time_pads = (dt * (kt - 1), 0)
        elif time_padding == "valid":
            time_pads = (0, 0)
        else:
            time_pads = _same_pads(int(x.shape[1]), kt, st, dt)
        freq_pads = _same_pads(int(x.shape[2]), kf, sf, df) if freq_padding == "same" else (0, 0)
        if any(time_pads) or any(freq_pads):
            x = keras.layers.ZeroPadding2D((time_pads, freq_pads), name=f"{name}_pad")(x)
    if filters is None:
        return keras.layers.DepthwiseConv2D(kernel_size, **kwargs)(x)
    return Conv2D(filters, kernel_size, **kwargs)(x)
