"""Kaldi-compatible log-mel filterbank (AST's input features) as a Keras layer, TFLite builtins only."""

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.ops import mel as mel_ops
from tfaudio.ops import stft as stft_ops

# torchaudio.compliance.kaldi.fbank's floor before the log: float32 machine epsilon.
KALDI_MEL_FLOOR = float(np.finfo(np.float32).eps)
# ASTFeatureExtractor defaults: AudioSet statistics of the log-mel features.
AUDIOSET_MEAN = -4.2677393
AUDIOSET_STD = 4.5689974
# Gain staging for full int8 (as `LogMelSpectrogram`): stage j >= 1 clips the DFT at 36 * j dB below
# full scale, with a second path 24 dB lower again; the per-path log-mels are merged with a maximum.
_STAGE_DB = 36.0
_SUB_GAIN = 16.0


def kaldi_preprocess_matrix(frame_length, preemphasis=0.97, remove_dc_offset=True):
    """Kaldi's per-frame DC removal and pre-emphasis as one float64 matrix `[frame_length, frame_length]`.

    Both steps are linear in the frame, so for a row of frame samples `x`,
    `x @ matrix` equals Kaldi's `ProcessWindow` before windowing: subtract the
    frame mean, then `y[n] = x[n] - preemphasis * x[n - 1]` with `y[0] = x[0] *
    (1 - preemphasis)` (torchaudio's "replicate" padding). Folding it into the DFT
    kernel keeps framing, pre-processing and the DFT a single convolution.
    """
    n = int(frame_length)
    dc = np.eye(n) - (np.full((n, n), 1.0 / n) if remove_dc_offset else 0.0)
    emphasis = np.eye(n)  # column-vector form: y = emphasis @ x
    if preemphasis:
        emphasis[np.arange(1, n), np.arange(n - 1)] = -preemphasis
        emphasis[0, 0] = 1.0 - preemphasis
    return (emphasis @ dc).T


@register_serializable
class KaldiFbank(keras.layers.Layer):
    """Kaldi-compatible log-mel filterbank with AST's padding and normalisation.

    Computes what `transformers.ASTFeatureExtractor` does (its NumPy path, and
    `torchaudio.compliance.kaldi.fbank(..., window_type="hanning")` when
    torchaudio is installed): frames with `snip_edges=True` (no padding), per-frame
    DC removal, pre-emphasis, a window, the power spectrum of the frame zero-padded
    to a power of two, Kaldi's mel bank (`1127 ln(1 + f / 700)`, triangles in the
    mel domain, `min_freq`..Nyquist), `log(max(mel, eps))`; then zero-pads or crops
    to `max_length` frames and applies `(x - mean) / (2 * std)`. Dither is off.

    DC removal, pre-emphasis, window and DFT are all linear in a frame, so they are
    folded into one strided CONV_2D kernel; the squared DFT goes through one
    matmul with the mel bank. The graph uses TFLite builtins only (float and int8).
    That is the export path (traced inside `tfaudio.ops.stft.builtin_ops_only()`, as
    `tfaudio.export.to_tflite` does); in training and Keras inference the same frames go
    through DC removal, pre-emphasis, the window and `tf.signal.rfft` (one path: gain
    stages change nothing in float), several times faster.

    Args:
        sample_rate: int. Sample rate of the input in Hz. Defaults to 16000.
        num_mel_bins: int. Mel bins. Defaults to 128.
        frame_length: int or None. Window length in samples; None means 25 ms.
        frame_step: int or None. Hop in samples; None means 10 ms.
        window: str. "hann" (symmetric; what AST and ASTFeatureExtractor use),
            "povey" (Kaldi's default), "hamming" or "rectangular". Defaults to "hann".
        preemphasis: float. Pre-emphasis coefficient. Defaults to 0.97.
        remove_dc_offset: bool. Subtract each frame's mean. Defaults to True.
        min_freq: float. Lowest mel edge in Hz. Defaults to 20.0.
        max_freq: float or None. Highest mel edge in Hz; None means Nyquist.
        max_length: int or None. Frames after zero-padding / cropping; None keeps
            all frames. Defaults to None.
        mean: float or None. Normalisation mean; None (with `std` None) skips
            normalisation. Defaults to None.
        std: float or None. Normalisation standard deviation (the output is divided
            by `2 * std`, as AST does). Defaults to None.
        mel_floor: float. Floor of the mel energies before the log. Defaults to
            float32 epsilon (Kaldi's and ASTFeatureExtractor's). A higher floor hides
            quiet bands; on FSDD a 1e-2 floor cost accuracy in float and in int8
            (benchmarks/results/ast.md), so keep the default unless you know better.
        gain_stages: int. 1 is the plain graph. More adds DFT paths clipped at 36 dB
            steps below full scale (each with a second path 24 dB lower) whose
            log-mels are merged with a maximum: in float the result is unchanged
            (clipping only lowers a path's energy), in full int8 each band takes the
            path whose 8-bit range fits it, so quiet frames do not all floor out.
            Measured on 32 FSDD clips (8 kHz, 64 bins), int8 vs float mean absolute
            error in log-mel (nepers; features have std ~5): 3.7 with 1 stage, 1.1
            with 2, 0.62 with 3. Defaults to 3.

    Input shape:
        `[batch, samples]` float waveform (in [-1, 1], as ASTFeatureExtractor expects).

    Output shape:
        `[batch, max_length or frames, num_mel_bins]`.

    Example:
    >>> fbank = KaldiFbank(max_length=1024, mean=-4.2677393, std=4.5689974)
    >>> fbank(tf.zeros([2, 16000])).shape
    TensorShape([2, 1024, 128])
    """

    # A frontend (tfaudio.training.model_wrapping.is_frontend): float32 under mixed precision, SpecAugment after it.
    is_frontend = True

    def __init__(
        self,
        sample_rate=16000,
        num_mel_bins=128,
        frame_length=None,
        frame_step=None,
        window="hann",
        preemphasis=0.97,
        remove_dc_offset=True,
        min_freq=20.0,
        max_freq=None,
        max_length=None,
        mean=None,
        std=None,
        mel_floor=KALDI_MEL_FLOOR,
        gain_stages=3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if sample_rate <= 0:
            raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate!r}")
        if not isinstance(num_mel_bins, int) or num_mel_bins < 3:
            raise ValueError(f"`num_mel_bins` must be an int >= 3. Received: num_mel_bins={num_mel_bins!r}")
        if window not in stft_ops.WINDOWS:
            raise ValueError(f"`window` must be one of {stft_ops.WINDOWS}. Received: window={window!r}")
        if not 0.0 <= preemphasis < 1.0:
            raise ValueError(f"`preemphasis` must be in [0, 1). Received: preemphasis={preemphasis!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"`max_length` must be None or a positive int. Received: max_length={max_length!r}")
        if (mean is None) != (std is None):
            raise ValueError(f"Give both `mean` and `std` or neither. Received: mean={mean!r}, std={std!r}")
        if std is not None and std <= 0:
            raise ValueError(f"`std` must be positive. Received: std={std!r}")
        if not mel_floor > 0:
            raise ValueError(f"`mel_floor` must be positive. Received: mel_floor={mel_floor!r}")
        if not isinstance(gain_stages, int) or gain_stages < 1:
            raise ValueError(f"`gain_stages` must be a positive int. Received: gain_stages={gain_stages!r}")
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.window = window
        self.preemphasis = preemphasis
        self.remove_dc_offset = remove_dc_offset
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.max_length = max_length
        self.mean = mean
        self.std = std
        self.mel_floor = mel_floor
        self.gain_stages = gain_stages

        # Kaldi: lengths from milliseconds, the DFT padded to the next power of two.
        self._frame_length = int(frame_length or round(0.025 * sample_rate))
        self._frame_step = int(frame_step or round(0.010 * sample_rate))
        if self._frame_length < 2 or self._frame_step < 1:
            raise ValueError(
                f"Frames too short. Received: frame_length={self._frame_length}, frame_step={self._frame_step}"
            )
        self._fft_length = int(2 ** np.ceil(np.log2(self._frame_length)))
        nyquist = sample_rate / 2.0
        high = nyquist if max_freq is None else max_freq
        self._mel_bank = mel_ops.kaldi_mel_filterbank(
            sample_rate, self._fft_length, num_mel_bins=num_mel_bins, low_freq=min_freq, high_freq=high
        )
        samples = stft_ops.window(window, self._frame_length, periodic=False)
        self._window = samples  # the FFT path's window
        kernel = stft_ops.dft_kernel(self._fft_length, self._frame_length, window_fn=samples)[:, 0, :]
        kernel = kaldi_preprocess_matrix(self._frame_length, preemphasis, remove_dc_offset) @ kernel
        self._dft_kernel = kernel[:, None, :]  # [frame_length, 1, channels]
        # Squared DFT channels -> mel energies in one matmul.
        self._mel_kernel = stft_ops.power_fold_matrix(self._fft_length) @ self._mel_bank
        # Largest |DFT output| for a waveform in [-1, 1]; the gain stages clip below it.
        full_scale = float(np.abs(kernel).sum(axis=0).max())
        self._stage_clips = [full_scale * 10.0 ** (-_STAGE_DB * j / 20.0) for j in range(1, gain_stages)]

    def num_frames(self, num_samples):
        """Frames before padding/cropping (Kaldi `snip_edges=True`); None stays None."""
        if num_samples is None:
            return None
        return max(0, 1 + (int(num_samples) - self._frame_length) // self._frame_step)

    def _fft_log_mel(self, x, dtype):
        """The training path: Kaldi's per-frame steps on `tf.signal.frame` frames, then `rfft`."""
        frames = tf.signal.frame(x, self._frame_length, self._frame_step)
        if self.remove_dc_offset:
            frames = frames - tf.reduce_mean(frames, axis=-1, keepdims=True)
        if self.preemphasis:
            p = self.preemphasis
            frames = tf.concat([frames[..., :1] * (1.0 - p), frames[..., 1:] - p * frames[..., :-1]], axis=-1)
        power = stft_ops.fft_power(frames * tf.constant(self._window, dtype), self._fft_length)
        energies = tf.matmul(power, tf.constant(self._mel_bank, dtype))
        return tf.math.log(tf.maximum(energies, tf.constant(self.mel_floor, dtype)))

    def _dft_log_mel(self, x, dtype):
        """The export path: one DFT convolution per gain-staged path, merged with a maximum."""
        dft_kernel = tf.constant(self._dft_kernel, dtype)
        # (dft, amplitude scale) paths: the plain DFT, then per gain stage the DFT in units of its
        # clip level, clipped to [-1, 1], and that 16x louder (see `gain_stages`).
        paths = [(stft_ops.dft_conv(x, dft_kernel, self._frame_step), 1.0)]
        for clip in self._stage_clips:
            staged = tf.clip_by_value(stft_ops.dft_conv(x * (1.0 / clip), dft_kernel, self._frame_step), -1.0, 1.0)
            paths.append((staged, clip))
            paths.append((tf.clip_by_value(staged * _SUB_GAIN, -1.0, 1.0), clip / _SUB_GAIN))
        features = None
        for dft, scale in paths:
            # MUL rather than SQUARE: MUL has int8 kernels in TFLite.
            energies = tf.matmul(dft * dft, tf.constant(self._mel_kernel * scale**2, dtype))
            log_mel = tf.math.log(tf.maximum(energies, tf.constant(self.mel_floor, dtype)))
            features = log_mel if features is None else tf.maximum(features, log_mel)
        return features

    def call(self, inputs):
        dtype = self.compute_dtype
        x = tf.cast(inputs, dtype)
        if stft_ops.builtin_ops_only_enabled():
            features = self._dft_log_mel(x, dtype)
        else:
            features = self._fft_log_mel(x, dtype)
        if self.max_length is not None:
            frames = self.num_frames(inputs.shape[-1])
            if frames is None:
                frames = tf.shape(features)[1]
                features = tf.pad(features, [[0, 0], [0, tf.maximum(self.max_length - frames, 0)], [0, 0]])
            elif frames < self.max_length:
                features = tf.pad(features, [[0, 0], [0, self.max_length - frames], [0, 0]])
            features = features[:, : self.max_length, :]
        if self.mean is not None:
            features = (features - tf.constant(self.mean, dtype)) * tf.constant(1.0 / (2.0 * self.std), dtype)
        return features

    def compute_output_shape(self, input_shape):
        frames = self.max_length if self.max_length is not None else self.num_frames(input_shape[-1])
        return (input_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "num_mel_bins": self.num_mel_bins,
                "frame_length": self.frame_length,
                "frame_step": self.frame_step,
                "window": self.window,
                "preemphasis": self.preemphasis,
                "remove_dc_offset": self.remove_dc_offset,
                "min_freq": self.min_freq,
                "max_freq": self.max_freq,
                "max_length": self.max_length,
                "mean": self.mean,
                "std": self.std,
                "mel_floor": self.mel_floor,
                "gain_stages": self.gain_stages,
            }
        )
        return config
