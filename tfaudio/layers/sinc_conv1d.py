"""SincConv1D: SincNet's learnable band-pass filter bank on raw waveforms."""

import numpy as np
import tensorflow as tf

from tfaudio.backend import USE_LEGACY_KERAS, keras, register_serializable
from tfaudio.ops import polyphase, sinc

_PADDINGS = ("valid", "same")


@register_serializable
class SincConv1D(keras.layers.Layer):
    """1-D convolution with parametrised band-pass sinc filters (SincNet).

    Ravanelli & Bengio, "Speaker Recognition from Raw Waveform with SincNet",
    SLT 2018 (arXiv 1808.00158). Each filter learns only a low cut-off and a
    band (in Hz); its impulse response is the difference of two windowed low-pass
    sinc filters, as in the reference `SincConv_fast` (mravanelli/SincNet):

    - cut-offs initialised equally spaced on the mel scale, from 30 Hz to
      `sample_rate / 2 - (min_low_hz + min_band_hz)`;
    - `low = min_low_hz + |low_hz|`,
      `high = clip(low + min_band_hz + |band_hz|, min_low_hz, sample_rate / 2)`;
    - the reference's Hamming window, symmetric kernel, centre tap normalised to 1;
    - no bias.

    The kernel is computed from the two weights in `call` with TF ops, so once the
    variables are frozen (`tfaudio.export.to_tflite`) it folds into a constant and
    the layer converts to a single TFLite `CONV_2D`, float or int8.

    The convolution runs in a polyphase layout (`tfaudio.ops.polyphase`): the waveform
    is reshaped into rows of 16 samples (or the smallest multiple of `stride` above)
    and convolved with a kernel that computes `16 / stride` consecutive outputs per
    row, then reshaped back. The result is the same cross-correlation (up to float
    summation order), but the convolution has 16 input channels instead of one. A
    one-channel convolution with hundreds of taps runs far off the fast int8 kernels:
    on XNNPACK (x86 AVX2) SincNet's 80 x 251 layer took ~7x longer in int8 than in
    float; in this layout int8 and float are within ~2x of each other and float was
    ~1.4x faster than before (measured when the layout came in; today's per-model
    figures are in benchmarks/results/latency.md).

    Args:
        filters: int. Number of band-pass filters (output channels).
        kernel_size: int. Filter length in samples; must be odd (a symmetric
            filter has a centre tap). The reference silently adds one to even
            sizes; this layer raises `ValueError` instead so that output shapes
            are what was asked for.
        sample_rate: int. Sample rate of the input, in Hz. Defaults to 16000.
        min_low_hz: float. Smallest low cut-off, in Hz. Defaults to 50.0.
        min_band_hz: float. Smallest band width, in Hz. Defaults to 50.0.
        stride: int. Convolution stride in samples. Defaults to 1.
        padding: "valid" or "same". Defaults to "valid".
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`).

    Call arguments:
        inputs: float tensor `[batch, samples, 1]`.

    Input shape:
        `(batch, samples, 1)`.

    Output shape:
        `(batch, frames, filters)` with `frames = ceil((samples - kernel_size + 1)
        / stride)` for "valid" and `ceil(samples / stride)` for "same".

    Example:
    >>> layer = SincConv1D(filters=80, kernel_size=251, sample_rate=16000)
    >>> layer(tf.zeros([2, 16000, 1])).shape
    TensorShape([2, 15750, 80])
    """

    # A frontend (tfaudio.training.model_wrapping.is_frontend): float32 under mixed precision, SpecAugment after it.
    is_frontend = True

    def __init__(
        self,
        filters,
        kernel_size,
        sample_rate=16000,
        min_low_hz=50.0,
        min_band_hz=50.0,
        stride=1,
        padding="valid",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"`filters` must be a positive int. Received: filters={filters!r}")
        if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 3 or kernel_size % 2 != 1:
            raise ValueError(
                "`kernel_size` must be an odd int >= 3 (SincNet filters are symmetric "
                f"around a centre tap). Received: kernel_size={kernel_size!r}"
            )
        if not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ValueError(f"`stride` must be a positive int. Received: stride={stride!r}")
        if padding not in _PADDINGS:
            raise ValueError(f"`padding` must be one of {_PADDINGS}. Received: padding={padding!r}")
        if sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
        if min_low_hz < 0:
            raise ValueError(f"`min_low_hz` must be >= 0. Received: min_low_hz={min_low_hz!r}")
        if min_band_hz <= 0:
            raise ValueError(f"`min_band_hz` must be > 0. Received: min_band_hz={min_band_hz!r}")
        # Raises ValueError when the constraints leave no room below Nyquist.
        sinc.mel_initial_cutoffs(1, sample_rate, min_low_hz, min_band_hz)

        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.sample_rate = sample_rate
        self.min_low_hz = float(min_low_hz)
        self.min_band_hz = float(min_band_hz)
        self.stride = int(stride)
        self.padding = padding
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: 1})

    def build(self, input_shape):
        low_hz, band_hz = sinc.mel_initial_cutoffs(self.filters, self.sample_rate, self.min_low_hz, self.min_band_hz)
        # The cut-offs stay float32 under mixed precision: sin(2 pi f n / sr) over
        # hundreds of taps needs more than float16's ~3 significant digits.
        extra = {} if USE_LEGACY_KERAS else {"autocast": False}
        self.low_hz = self.add_weight(
            name="low_hz",
            shape=(self.filters,),
            initializer=_ArrayInitializer(low_hz),
            trainable=True,
            dtype="float32",
            **extra,
        )
        self.band_hz = self.add_weight(
            name="band_hz",
            shape=(self.filters,),
            initializer=_ArrayInitializer(band_hz),
            trainable=True,
            dtype="float32",
            **extra,
        )
        self.built = True

    def kernel(self):
        """The current filters as a float32 tensor `[kernel_size, filters]`."""
        return sinc.sinc_kernels(
            tf.convert_to_tensor(self.low_hz),
            tf.convert_to_tensor(self.band_hz),
            self.kernel_size,
            self.sample_rate,
            self.min_low_hz,
            self.min_band_hz,
        )

    def call(self, inputs):
        x = tf.squeeze(tf.cast(inputs, self.compute_dtype), -1)  # [batch, samples]
        if self.padding == "same":  # TensorFlow's rule: output ceil(n / stride), extra padding at the end
            samples = _length(x)
            total = tf.maximum((-(-samples // self.stride) - 1) * self.stride + self.kernel_size - samples, 0)
            x = tf.pad(x, [[0, 0], [total // 2, total - total // 2]])
        kernel = tf.cast(self.kernel(), self.compute_dtype)
        return polyphase.polyphase_conv1d(x, kernel, self.stride)

    def compute_output_shape(self, input_shape):
        batch, samples = input_shape[0], input_shape[1]
        if samples is None:
            frames = None
        elif self.padding == "valid":
            frames = max(0, -(-(samples - self.kernel_size + 1) // self.stride))
        else:
            frames = -(-samples // self.stride)
        return (batch, frames, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "sample_rate": self.sample_rate,
                "min_low_hz": self.min_low_hz,
                "min_band_hz": self.min_band_hz,
                "stride": self.stride,
                "padding": self.padding,
            }
        )
        return config


def _length(x):
    """Static length of `x` `[batch, samples]` when known, else a scalar tensor."""
    return x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]


class _ArrayInitializer:
    """Initializes a weight with a fixed array (the mel-spaced cut-offs)."""

    def __init__(self, value):
        self.value = np.asarray(value, np.float32)

    def __call__(self, shape, dtype=None, **kwargs):
        return tf.constant(self.value.reshape(shape), dtype=dtype or tf.float32)
