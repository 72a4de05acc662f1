"""Log-mel spectrogram of raw waveforms, built from TFLite builtin ops only (float and full int8)."""

import math

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.ops import mel as mel_ops
from tfaudio.ops import stft as stft_ops

LOG_MODES = ("db", "log", None)


@register_serializable
class LogMelSpectrogram(keras.layers.Layer):
    """Log-mel spectrogram of a waveform, computed with a DFT convolution (no FFT op).

    The STFT is a strided 1-D convolution with constant windowed-DFT kernels
    (framing and DFT in one TFLite CONV_2D), the mel projection a matrix product
    (FULLY_CONNECTED / BATCH_MATMUL), the log a LOG after an `amin` floor and a
    `top_db` clamp relative to each example's peak. There is no `tf.signal.stft`,
    RFFT or Flex op, so the layer converts to TFLite builtins in float and in full
    int8 with a dynamic batch size. Defaults reproduce
    `librosa.power_to_db(librosa.feature.melspectrogram(...))` (periodic Hann
    window, `center=True` with zero padding, slaney mel scale and norm).

    With `power=2` the sum `re**2 + im**2` is folded into the mel kernel, so the
    graph is conv -> square -> matmul -> log.

    Args:
        sample_rate: int. Sampling rate of the input in Hz. Defaults to 16000.
        fft_length: int. DFT size; `fft_length // 2 + 1` frequency bins. Defaults
            to 512.
        frame_length: int or None. Window length in samples (<= fft_length; the
            window is centred in the `fft_length` frame as in librosa). None means
            `fft_length`. Defaults to None.
        frame_step: int. Hop between frames in samples. Defaults to 160.
        num_mel_bins: int. Number of mel bands. Defaults to 64.
        min_freq: float. Lowest mel band edge in Hz. Defaults to 0.0.
        max_freq: float or None. Highest mel band edge in Hz; None means
            `sample_rate / 2`. Defaults to None.
        mel_scale: str. "slaney" (librosa's default) or "htk". Defaults to
            "slaney".
        mel_norm: str or None. "slaney" (divide each triangle by its width in
            Hz, librosa's default, for both scales) or None (peak-1 triangles).
            Defaults to "slaney".
        power: float. Exponent of the STFT magnitude: 2.0 power, 1.0 magnitude.
            Defaults to 2.0.
        log: str or None. "db" (`10 * log10`), "log" (natural log) or None
            (linear mel energies). Defaults to "db".
        amin: float. Floor applied before the log (librosa's `amin`). Defaults
            to 1e-10.
        top_db: float or None. Clamp the log output to at most `top_db` decibels
            below each example's maximum (librosa's `top_db`; converted to
            nepers for `log="log"`). Bounds the output range, which int8
            quantization needs. Ignored when `log=None`. Defaults to 80.0.
        window: str. "hann" (periodic), "hamming" (periodic), "povey" or
            "rectangular". Defaults to "hann".
        center: bool. Pad `fft_length // 2` samples on both sides so frame t is
            centred on sample `t * frame_step`. Defaults to True.
        pad_mode: str. Padding for `center`: "constant" (zeros, librosa >= 0.10
            default) or "reflect". Defaults to "constant".
        **kwargs: Base layer arguments (`name`, `dtype`, `trainable`). The DFT
            and mel kernels are weights; the layer is built non-trainable unless
            `trainable=True` is passed.

    Call arguments:
        inputs: float tensor `[batch, samples]`, the waveform.

    Input shape:
        2D tensor `(batch_size, samples)`.

    Output shape:
        3D tensor `(batch_size, frames, num_mel_bins)` with
        `frames = 1 + samples // frame_step` when `center=True`, else
        `1 + (samples - fft_length) // frame_step`.

    Example:
    >>> layer = LogMelSpectrogram(sample_rate=8000, fft_length=256, frame_step=80, num_mel_bins=40)
    >>> layer(np.zeros((2, 8000), "float32")).shape
    TensorShape([2, 101, 40])
    """

    def __init__(
        self,
        sample_rate=16000,
        fft_length=512,
        frame_length=None,
        frame_step=160,
        num_mel_bins=64,
        min_freq=0.0,
        max_freq=None,
        mel_scale="slaney",
        mel_norm="slaney",
        power=2.0,
        log="db",
        amin=1e-10,
        top_db=80.0,
        window="hann",
        center=True,
        pad_mode="constant",
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if not isinstance(frame_step, (int, np.integer)) or frame_step < 1:
            raise ValueError(f"`frame_step` must be a positive integer. Received: frame_step={frame_step!r}")
        if not power > 0:
            raise ValueError(f"`power` must be positive. Received: power={power!r}")
        if log not in LOG_MODES:
            raise ValueError(f"`log` must be one of {LOG_MODES}. Received: log={log!r}")
        if not amin > 0:
            raise ValueError(f"`amin` must be positive. Received: amin={amin!r}")
        if top_db is not None and not top_db > 0:
            raise ValueError(f"`top_db` must be positive or None. Received: top_db={top_db!r}")
        if pad_mode not in stft_ops.PAD_MODES:
            raise ValueError(f"`pad_mode` must be one of {stft_ops.PAD_MODES}. Received: pad_mode={pad_mode!r}")
        if mel_scale not in mel_ops.MEL_SCALES:
            raise ValueError(f"`mel_scale` must be one of {mel_ops.MEL_SCALES}. Received: mel_scale={mel_scale!r}")
        if mel_norm not in mel_ops.MEL_NORMS:
            raise ValueError(f"`mel_norm` must be one of {mel_ops.MEL_NORMS}. Received: mel_norm={mel_norm!r}")

        self.sample_rate = sample_rate
        self.fft_length = fft_length
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.mel_scale = mel_scale
        self.mel_norm = mel_norm
        self.power = power
        self.log = log
        self.amin = amin
        self.top_db = top_db
        self.window = window
        self.center = center
        self.pad_mode = pad_mode

        # Derived values; the helpers validate fft_length, frame_length, window and the band.
        self._dft_kernel = stft_ops.dft_kernel(fft_length, frame_length, window)
        bank = mel_ops.mel_filterbank(
            sample_rate, fft_length, num_mel_bins, min_freq, max_freq, scale=mel_scale, norm=mel_norm
        )
        # power == 2: square the DFT channels and map them to mel bands in one product.
        self._mel_kernel = stft_ops.power_fold_matrix(fft_length) @ bank if power == 2 else bank
        self._padding = stft_ops.stft_padding(fft_length, frame_length, center)

    def build(self, input_shape):
        def constant(value):
            def initializer(shape, dtype=None, **kwargs):
                return tf.constant(value, dtype=dtype or "float32", shape=shape)

            return initializer

        self.dft_kernel = self.add_weight(
            name="dft_kernel",
            shape=self._dft_kernel.shape,
            initializer=constant(self._dft_kernel),
            trainable=True,
        )
        self.mel_kernel = self.add_weight(
            name="mel_kernel",
            shape=self._mel_kernel.shape,
            initializer=constant(self._mel_kernel),
            trainable=True,
        )
        self.built = True

    def call(self, inputs):
        dtype = self.compute_dtype
        x = tf.cast(inputs, dtype)
        x = stft_ops.pad_signal(x, *self._padding, pad_mode=self.pad_mode)
        dft = stft_ops.dft_conv(x, tf.cast(self.dft_kernel, dtype), self.frame_step)
        if self.power == 2:
            spec = dft * dft  # MUL rather than SQUARE: MUL has int8 kernels in TFLite
        else:
            spec = stft_ops.power_from_dft(dft, self.fft_length)
            spec = tf.sqrt(spec) if self.power == 1 else tf.pow(spec, self.power / 2.0)
        mel = tf.matmul(spec, tf.cast(self.mel_kernel, dtype))
        if self.log is None:
            return mel

        # amin below the dtype's smallest normal (float16) would floor to zero.
        amin = max(float(self.amin), float(np.finfo(np.dtype(dtype)).tiny))
        scale = 10.0 / math.log(10.0) if self.log == "db" else 1.0
        out = tf.math.log(tf.maximum(mel, amin)) * scale
        if self.top_db is not None:
            top = self.top_db * (1.0 if self.log == "db" else math.log(10.0) / 10.0)
            peak = tf.reduce_max(out, axis=[1, 2], keepdims=True)
            out = tf.maximum(out, peak - top)
        return out

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = stft_ops.num_frames(samples, self.fft_length, self.frame_step, self.center)
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "fft_length": self.fft_length,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step,
                "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq,
                "max_freq": self.max_freq,
                "mel_scale": self.mel_scale,
                "mel_norm": self.mel_norm,
                "power": self.power,
                "log": self.log,
                "amin": self.amin,
                "top_db": self.top_db,
                "window": self.window,
                "center": self.center,
                "pad_mode": self.pad_mode,
            }
        )
        return config
