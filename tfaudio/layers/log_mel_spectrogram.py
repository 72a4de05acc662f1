"""Log-mel spectrogram of raw waveforms: FFT in training, TFLite builtin ops only when exported (float and full int8)."""

import math

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.ops import mel as mel_ops
from tfaudio.ops import stft as stft_ops

LOG_MODES = ("db", "log", None)

# Gain staging for int8 (see `gain_stages`): stage j >= 1 clips the DFT at 36 * j dB below a
# full-scale sinusoid, and a second path inside each stage clips 16x (24 dB) lower again.
_STAGE_DB = 36.0
_SUB_GAIN = 16.0


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

    Two paths, one definition: in training and Keras inference the layer computes
    the same power spectrum with `tf.signal.rfft` on the same frames and window (a
    single path: gain staging changes nothing in float); the DFT convolution above
    is traced when the model is exported (`tfaudio.export.to_tflite` traces inside
    `tfaudio.ops.stft.builtin_ops_only()`) or when the layer is trainable (the DFT
    kernel is then a learned weight). The two agree within 1e-3 dB on real clips
    (tests/layers/test_log_mel_spectrogram.py).

    Full int8: every tensor is linearly quantized to 256 levels over the range seen
    in calibration, so a single DFT path keeps only ~24 dB of mel power below the
    loudest calibration clip (quieter clips and bands floor out). `gain_stages > 1`
    (2 by default when `log` is set) adds DFT convolutions whose outputs are clipped at 36 dB steps below full scale
    (each with a second path 24 dB lower) and merges the per-path log-mels with a
    maximum. Clipping can only lower a path's energy, so in float the maximum is the
    unclipped value and outputs are unchanged; in int8 each band takes the path
    whose range fits it. The int8 waveform input itself bounds what is reachable
    (~50 dB below the calibrated peak). Measured on FSDD (8 kHz, 256-point DFT, 40
    bands): int8 vs float mean error over bins within 20 dB of each clip's peak is
    ~31 dB with 1 stage and ~0.8 dB with 2.

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
        gain_stages: int or None. Number of gain-staged DFT convolutions (see
            above). 1 is the plain graph (fastest in float); 2 keeps int8 log-mels
            accurate (about 2x the frontend's compute, still small next to any
            backbone); more than 1 needs `log` set. None means 2 when `log` is set
            and 1 otherwise. Defaults to None.
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

    # A frontend (tfaudio.training.model_wrapping.is_frontend): float32 under mixed precision, SpecAugment after it.
    is_frontend = True

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
        gain_stages=None,
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
        if gain_stages is not None and (not isinstance(gain_stages, (int, np.integer)) or gain_stages < 1):
            raise ValueError(
                f"`gain_stages` must be a positive integer or None. Received: gain_stages={gain_stages!r}"
            )
        if gain_stages is not None and gain_stages > 1 and log is None:
            raise ValueError(
                "`gain_stages` > 1 merges log-mels, so it needs `log` set. "
                f"Received: gain_stages={gain_stages}, log=None"
            )

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
        self.gain_stages = gain_stages

        # Derived values; the helpers validate fft_length, frame_length, window and the band.
        self._dft_kernel = stft_ops.dft_kernel(fft_length, frame_length, window)
        self._window = stft_ops.window(window, frame_length or fft_length)  # the FFT path's window
        bank = mel_ops.mel_filterbank(
            sample_rate, fft_length, num_mel_bins, min_freq, max_freq, scale=mel_scale, norm=mel_norm
        )
        # power == 2: square the DFT channels and map them to mel bands in one product.
        self._mel_kernel = stft_ops.power_fold_matrix(fft_length) @ bank if power == 2 else bank
        self._padding = stft_ops.stft_padding(fft_length, frame_length, center)
        # Clip levels, in DFT amplitude, of the gain stages; sum(|window|) is a full-scale sinusoid's peak.
        full_scale = float(np.abs(self._dft_kernel[:, 0, 0]).sum())
        self._gain_stages = gain_stages if gain_stages is not None else (1 if log is None else 2)
        self._stage_clips = [full_scale * 10.0 ** (-_STAGE_DB * j / 20.0) for j in range(1, self._gain_stages)]

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
        if not self.trainable and not stft_ops.builtin_ops_only_enabled():
            return self._fft_log_mel(x, dtype)
        x = stft_ops.pad_signal(x, *self._padding, pad_mode=self.pad_mode)
        mel_kernel = tf.cast(self.mel_kernel, dtype)
        dft_kernel = tf.cast(self.dft_kernel, dtype)

        # (dft, amplitude scale) paths: the plain DFT, then per gain stage the DFT in units of its
        # clip level, clipped to [-1, 1] (a fused RELU_N1_TO_1 in TFLite), and that 16x louder.
        paths = [(stft_ops.dft_conv(x, dft_kernel, self.frame_step), 1.0)]
        for clip in self._stage_clips:
            # Scaling the input rather than the kernel keeps one DFT constant in the TFLite file.
            staged = tf.clip_by_value(stft_ops.dft_conv(x * (1.0 / clip), dft_kernel, self.frame_step), -1.0, 1.0)
            paths.append((staged, clip))
            paths.append((tf.clip_by_value(staged * _SUB_GAIN, -1.0, 1.0), clip / _SUB_GAIN))

        out = None
        for dft, scale in paths:
            mel = self._mel(dft, mel_kernel if scale == 1.0 else mel_kernel * (scale**self.power))
            if self.log is not None:
                mel = self._log(mel, dtype)
            out = mel if out is None else tf.maximum(out, mel)
        return self._clamp(out)

    def _fft_log_mel(self, signal, dtype):
        """The training path: rfft power of the DFT path's frames, mel, log, clamp (one path, no gain stages)."""
        length = self.frame_length or self.fft_length
        frames = stft_ops.pad_and_frame(signal, *self._padding, length, self.frame_step, self.pad_mode)
        spec = stft_ops.fft_power(frames * tf.constant(self._window, dtype), self.fft_length)
        if self.power != 2:
            spec = tf.sqrt(spec) if self.power == 1 else tf.pow(spec, self.power / 2.0)
        # Rows 0 .. bins-1 of the folded kernel (power == 2) are the mel bank itself. tensordot is a
        # 2-D MatMul: a [batch, frames, bins] BatchMatMulV2 by a shared matrix is slower.
        bank = tf.cast(self.mel_kernel, dtype)[: stft_ops.num_freq_bins(self.fft_length)]
        mel = tf.tensordot(spec, bank, axes=1)
        if self.log is None:
            return mel
        if self.top_db is None or dtype not in ("float32", "float64"):  # 10**(-top_db / 10) is 0 in float16
            return self._clamp(self._log(mel, dtype))
        # The amin floor and the top_db clamp before the log, in one maximum:
        # max(log(max(m, amin)), log(max(peak, amin)) - top) == log(max(m, amin, max(peak, amin) * 10**(-top_db / 10)))
        # (the same in nepers for log="log").
        amin = self._amin(dtype)
        peak = tf.reduce_max(mel, axis=[1, 2], keepdims=True)
        floor = tf.maximum(peak, amin) * (10.0 ** (-self.top_db / 10.0))
        return tf.math.log(tf.maximum(mel, tf.maximum(floor, amin))) * self._log_scale()

    def _clamp(self, out):
        if self.log is not None and self.top_db is not None:
            top = self.top_db * (1.0 if self.log == "db" else math.log(10.0) / 10.0)
            peak = tf.reduce_max(out, axis=[1, 2], keepdims=True)
            out = tf.maximum(out, peak - top)
        return out

    def _mel(self, dft, mel_kernel):
        if self.power == 2:
            spec = dft * dft
        else:
            spec = stft_ops.power_from_dft(dft, self.fft_length)
            spec = tf.sqrt(spec) if self.power == 1 else tf.pow(spec, self.power / 2.0)
        return tf.matmul(spec, mel_kernel)

    def _amin(self, dtype):
        # amin below the dtype's smallest normal (float16) would floor to zero.
        return max(float(self.amin), float(np.finfo(np.dtype(dtype)).tiny))

    def _log_scale(self):
        return 10.0 / math.log(10.0) if self.log == "db" else 1.0

    def _log(self, mel, dtype):
        return tf.math.log(tf.maximum(mel, self._amin(dtype))) * self._log_scale()

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
                "gain_stages": self.gain_stages,
            }
        )
        return config
