"""Short-time Fourier transform: an FFT path for training and a TFLite-builtin DFT path for export.

Export path: no `tf.signal.stft` and no RFFT: the windowed DFT is a constant
`[frame_length, 1, channels]` kernel applied with a strided 1-D convolution (TFLite CONV_2D),
so the same graph runs in float and full int8 TFLite with any batch size. NumPy functions
build the kernels (float64); TensorFlow functions apply them.

Training path: the same frames and window through `tf.signal.rfft` (`fft_power`), several
times faster in a Keras graph. Layers pick the path when they are traced: the FFT one, except
inside `builtin_ops_only()`, which the TFLite export (`tfaudio.export.to_tflite`) enters while
it traces the model. Both compute the same power spectrum (up to float32 rounding).

Channel layout of the DFT kernel (`dft_kernel`): the `fft_length // 2 + 1` real (cosine) parts
first, then the imaginary (minus sine) parts of the bins whose imaginary part is not
identically zero (all but DC and, for even `fft_length`, Nyquist). Dropping those all-zero
channels keeps per-channel int8 weight scales well defined.
"""

import contextlib
import threading

import numpy as np
import tensorflow as tf

from tfaudio.ops import polyphase

WINDOWS = ("hann", "hamming", "povey", "rectangular")
PAD_MODES = ("constant", "reflect")


_state = threading.local()


@contextlib.contextmanager
def builtin_ops_only():
    """Within this context, layers trace their TFLite-builtin path (DFT convolution), not the FFT.

    `tfaudio.export.to_tflite` enters it while tracing the model for the converter; enter it
    yourself to trace an exportable graph for another converter.

    Example:
    >>> with builtin_ops_only():
    ...     concrete = tf.function(model).get_concrete_function(spec)
    """
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def builtin_ops_only_enabled():
    """True inside `builtin_ops_only()` (in this thread)."""
    return getattr(_state, "depth", 0) > 0


def window(name, frame_length, periodic=True):
    """A window function as a float64 NumPy array of length `frame_length`.

    Args:
        name: str. "hann" (librosa/scipy "hann"), "hamming", "povey" (Kaldi:
            symmetric Hann to the power 0.85) or "rectangular".
        frame_length: int. Window length in samples.
        periodic: bool. Periodic ("DFT-even", librosa's and scipy's
            `fftbins=True`) rather than symmetric. Ignored by "povey", which is
            always symmetric as in Kaldi. Defaults to True.

    Returns:
        float64 array `[frame_length]`.
    """
    if name not in WINDOWS:
        raise ValueError(f"`window` must be one of {WINDOWS}. Received: window={name!r}")
    frame_length = int(frame_length)
    if frame_length < 1:
        raise ValueError(f"`frame_length` must be at least 1. Received: frame_length={frame_length}")
    if name == "rectangular" or frame_length == 1:
        return np.ones(frame_length)
    n = np.arange(frame_length, dtype=np.float64)
    if name == "povey":
        return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / (frame_length - 1))) ** 0.85
    denominator = frame_length if periodic else frame_length - 1
    alpha = 0.5 if name == "hann" else 0.54
    return alpha - (1.0 - alpha) * np.cos(2.0 * np.pi * n / denominator)


def _window_offsets(fft_length, frame_length):
    """Zeros before/after a `frame_length` window centred in `fft_length` (librosa's `pad_center`)."""
    left = (fft_length - frame_length) // 2
    return left, fft_length - frame_length - left


def _check_lengths(fft_length, frame_length):
    fft_length = int(fft_length)
    frame_length = fft_length if frame_length is None else int(frame_length)
    if fft_length < 2:
        raise ValueError(f"`fft_length` must be at least 2. Received: fft_length={fft_length}")
    if not 1 <= frame_length <= fft_length:
        raise ValueError(
            f"`frame_length` must be between 1 and fft_length ({fft_length}). Received: frame_length={frame_length}"
        )
    return fft_length, frame_length


def num_freq_bins(fft_length):
    """Number of one-sided DFT bins, `fft_length // 2 + 1`."""
    return int(fft_length) // 2 + 1


def imag_bins(fft_length):
    """Indices of the DFT bins whose imaginary part is kept (1 .. last bin below Nyquist)."""
    fft_length = int(fft_length)
    last = (fft_length - 1) // 2  # excludes Nyquist for even lengths
    return np.arange(1, last + 1)


def dft_matrices(fft_length, frame_length=None, window_fn="hann", periodic=True):
    """Windowed one-sided DFT matrices `(real, imag)`, float64 `[frame_length, fft_length // 2 + 1]`.

    `frames @ real + 1j * (frames @ imag)` equals `np.fft.rfft(frames_padded * w)`
    where the window `w` (length `frame_length`) is centred in `fft_length` as
    librosa does, and `frames` holds the `frame_length` samples under the window.
    The phase refers to the start of the `fft_length` frame, as in librosa.

    Args:
        fft_length: int. DFT size.
        frame_length: int or None. Window length, at most `fft_length`; None
            means `fft_length`. Defaults to None.
        window_fn: str or array. A name from `WINDOWS` or the window samples
            (length `frame_length`). Defaults to "hann".
        periodic: bool. Periodic window (see `window`). Defaults to True.
    """
    fft_length, frame_length = _check_lengths(fft_length, frame_length)
    if isinstance(window_fn, str):
        w = window(window_fn, frame_length, periodic=periodic)
    else:
        w = np.asarray(window_fn, dtype=np.float64)
        if w.shape != (frame_length,):
            raise ValueError(f"Window must have shape ({frame_length},). Received: shape={w.shape}")
    offset, _ = _window_offsets(fft_length, frame_length)
    n = np.arange(frame_length, dtype=np.float64)[:, None] + offset
    k = np.arange(num_freq_bins(fft_length), dtype=np.float64)[None, :]
    # Reduce the phase index modulo fft_length before scaling so large n*k stays exact.
    phase = 2.0 * np.pi * np.mod(n * k, fft_length) / fft_length
    return w[:, None] * np.cos(phase), -w[:, None] * np.sin(phase)


def dft_kernel(fft_length, frame_length=None, window_fn="hann", periodic=True):
    """The DFT as a conv kernel, float64 `[frame_length, 1, channels]` (layout in the module docstring).

    `channels = fft_length // 2 + 1 + len(imag_bins(fft_length))`. Apply it with
    `dft_conv`; `power_from_dft` turns its output into a power spectrogram.
    """
    real, imag = dft_matrices(fft_length, frame_length, window_fn, periodic)
    kernel = np.concatenate([real, imag[:, imag_bins(fft_length)]], axis=1)
    return kernel[:, None, :]


def power_fold_matrix(fft_length):
    """0/1 matrix `[channels, fft_length // 2 + 1]` with `dft_output**2 @ fold == |X|**2`.

    Right-multiplying it into a filterbank (`fold @ bank`) gives a kernel that maps
    squared DFT channels straight to the filterbank's outputs.
    """
    bins = num_freq_bins(fft_length)
    imag = imag_bins(fft_length)
    fold = np.zeros((bins + len(imag), bins))
    fold[np.arange(bins), np.arange(bins)] = 1.0
    fold[bins + np.arange(len(imag)), imag] = 1.0
    return fold


def stft_padding(fft_length, frame_length=None, center=True):
    """`(left, right)` samples to pad (>0) or crop (<0) before `dft_conv` so its frames match librosa's.

    With `center=True` the signal is padded by `fft_length // 2` on both sides (as
    librosa); the zeros of a window shorter than `fft_length` are then cropped
    away, so the convolution only spans the `frame_length` samples under the
    window. The number of frames is `1 + len // frame_step` (center) or
    `1 + (len - fft_length) // frame_step`.
    """
    fft_length, frame_length = _check_lengths(fft_length, frame_length)
    before, after = _window_offsets(fft_length, frame_length)
    if center:
        half = fft_length // 2
        return half - before, half - after
    return -before, -after


def num_frames(num_samples, fft_length, frame_step, center=True):
    """Number of STFT frames for a signal of `num_samples` samples (None stays None)."""
    if num_samples is None:
        return None
    padded = num_samples + 2 * (int(fft_length) // 2) if center else num_samples
    if padded < fft_length:
        return 0
    return 1 + (padded - int(fft_length)) // int(frame_step)


def pad_signal(signal, left, right, pad_mode="constant"):
    """Pads (positive amounts) or crops (negative) `signal` `[batch, samples]` along time.

    Args:
        signal: float tensor `[batch, samples]`.
        left: int. Samples to add (or remove when negative) at the start.
        right: int. Samples to add (or remove when negative) at the end.
        pad_mode: str. "constant" (zeros; TFLite PAD) or "reflect" (mirror
            without repeating the edge sample, as numpy/librosa; TFLite
            MIRROR_PAD). Defaults to "constant".
    """
    if pad_mode not in PAD_MODES:
        raise ValueError(f"`pad_mode` must be one of {PAD_MODES}. Received: pad_mode={pad_mode!r}")
    crop_left, crop_right = max(-left, 0), max(-right, 0)
    if crop_left or crop_right:
        end = -crop_right if crop_right else None
        signal = signal[:, crop_left:end]
    pad_left, pad_right = max(left, 0), max(right, 0)
    if pad_left or pad_right:
        mode = "CONSTANT" if pad_mode == "constant" else "REFLECT"
        signal = tf.pad(signal, [[0, 0], [pad_left, pad_right]], mode=mode)
    return signal


def dft_conv(signal, kernel, frame_step):
    """Frames and transforms `signal` `[batch, samples]` with a `dft_kernel`: `[batch, frames, channels]`.

    A 'VALID' strided 1-D convolution, so framing and the DFT are one op. It runs in the
    polyphase layout of `tfaudio.ops.polyphase` (rows of `frame_step` samples, or a multiple
    of it of at least 16): a TFLite CONV_2D with that many input channels, which full int8
    runs on fast kernels (a one-channel conv with hundreds of taps ran ~40x slower in int8
    than in float on XNNPACK). Pad the signal first with
    `pad_signal(signal, *stft_padding(...))`.
    """
    kernel = tf.convert_to_tensor(kernel, dtype=signal.dtype)
    return polyphase.polyphase_conv1d(signal, kernel[:, 0, :], int(frame_step))


def power_from_dft(dft, fft_length):
    """`|X|**2` `[batch, frames, fft_length // 2 + 1]` from `dft_conv` output `[batch, frames, channels]`."""
    bins = num_freq_bins(fft_length)
    imag = imag_bins(fft_length)
    squared = dft * dft
    real_part = squared[..., :bins]
    imag_part = squared[..., bins:]
    if not len(imag):
        return real_part
    # Bins without an imaginary channel (DC, and Nyquist for even lengths) get zero.
    imag_part = tf.pad(imag_part, [[0, 0], [0, 0], [int(imag[0]), bins - 1 - int(imag[-1])]])
    return real_part + imag_part


def pad_and_frame(signal, left, right, frame_length, frame_step, pad_mode="constant"):
    """`pad_signal(signal, left, right, pad_mode)` cut into frames `[batch, frames, frame_length]`.

    The training path's framing, equal to `tf.signal.frame(pad_signal(...), frame_length,
    frame_step)`. With a static length it is built from rows of `frame_step` samples (a
    reshape): frame t is rows t .. t + q - 1 and the first `frame_length - q * frame_step`
    samples of row t + q, so framing is a few slices and one concat instead of a gather.
    A constant pad is one PAD that also adds the zeros the last row needs (they lie past
    the last frame). Unknown lengths use `tf.signal.frame`.
    """
    frame_length, frame_step = int(frame_length), int(frame_step)
    length = signal.shape[-1]
    padded_length = None if length is None else length + left + right
    if padded_length is None or padded_length < frame_length:
        return tf.signal.frame(pad_signal(signal, left, right, pad_mode=pad_mode), frame_length, frame_step)
    count = 1 + (padded_length - frame_length) // frame_step
    full, rest = divmod(frame_length, frame_step)
    rows = count + full - (rest == 0)
    extra = rows * frame_step - padded_length  # > 0: zeros past the last frame; < 0: unused samples
    if pad_mode == "constant":
        signal = pad_signal(signal, left, right + extra)
    else:
        signal = pad_signal(pad_signal(signal, left, right, pad_mode=pad_mode), 0, extra)
    rows = tf.reshape(signal, [-1, rows, frame_step])
    pieces = [rows[:, i : i + count] for i in range(full)]
    if rest:
        pieces.append(rows[:, full : full + count, :rest])
    return pieces[0] if len(pieces) == 1 else tf.concat(pieces, axis=-1)


def fft_power(frames, fft_length):
    """`|rfft(frames, fft_length)|**2` of windowed frames `[..., frame_length]` -> `[..., fft_length // 2 + 1]`.

    The frame is zero-padded at the end to `fft_length`; the power does not depend on where
    the zeros go (a circular shift), so it equals `power_from_dft` of a `dft_kernel` whose
    window is centred. Computed in float32 (float64 stays float64); returns `frames`' dtype.
    """
    dtype = frames.dtype
    work = tf.float64 if dtype == tf.float64 else tf.float32
    spectrum = tf.signal.rfft(tf.cast(frames, work), fft_length=[int(fft_length)])
    power = tf.square(tf.math.real(spectrum)) + tf.square(tf.math.imag(spectrum))
    return tf.cast(power, dtype)


def fft_power_spectrogram(signal, fft_length, frame_step, frame_length=None, window_fn="hann", center=True,
                          pad_mode="constant"):  # fmt: skip
    """`|STFT|**2` `[batch, frames, fft_length // 2 + 1]` with `tf.signal.rfft`: the training path.

    The same frames (`stft_padding`, `frame_step`) and window as `dft_kernel`; not
    convertible to TFLite builtins (RFFT). Arguments as `power_spectrogram`.
    """
    signal = tf.convert_to_tensor(signal)
    fft_length, frame_length = _check_lengths(fft_length, frame_length)
    if isinstance(window_fn, str):
        w = window(window_fn, frame_length)
    else:
        w = np.asarray(window_fn, dtype=np.float64)
        if w.shape != (frame_length,):
            raise ValueError(f"Window must have shape ({frame_length},). Received: shape={w.shape}")
    frames = pad_and_frame(signal, *stft_padding(fft_length, frame_length, center), frame_length, frame_step, pad_mode)
    return fft_power(frames * tf.constant(w, signal.dtype), fft_length)


def power_spectrogram(
    signal,
    fft_length,
    frame_step,
    frame_length=None,
    window_fn="hann",
    center=True,
    pad_mode="constant",
    power=2.0,
):
    """`|STFT|**power` of `signal` `[batch, samples]` -> `[batch, frames, fft_length // 2 + 1]`.

    Matches `np.abs(librosa.stft(y, n_fft=fft_length, hop_length=frame_step,
    win_length=frame_length, window=window_fn, center=center,
    pad_mode=pad_mode)) ** power` transposed to time-major. Uses `tf.signal.rfft`
    (`fft_power_spectrogram`), or TFLite builtins only (the DFT convolution) inside
    `builtin_ops_only()`.

    Args:
        signal: float tensor `[batch, samples]`.
        fft_length: int. DFT size.
        frame_step: int. Hop between frames in samples.
        frame_length: int or None. Window length (<= fft_length); None means
            `fft_length`. Defaults to None.
        window_fn: str or array. Window name from `WINDOWS` or samples.
            Defaults to "hann" (periodic).
        center: bool. Pad `fft_length // 2` samples on both sides so frame t is
            centred on sample `t * frame_step`. Defaults to True.
        pad_mode: str. "constant" or "reflect" padding for `center`. Defaults to
            "constant" (librosa >= 0.10 default).
        power: float. Exponent of the magnitude; 2 is power, 1 magnitude.
            Defaults to 2.0.
    """
    signal = tf.convert_to_tensor(signal)
    if builtin_ops_only_enabled():
        kernel = dft_kernel(fft_length, frame_length, window_fn)
        signal = pad_signal(signal, *stft_padding(fft_length, frame_length, center), pad_mode=pad_mode)
        spec = power_from_dft(dft_conv(signal, kernel.astype(signal.dtype.as_numpy_dtype), frame_step), fft_length)
    else:
        spec = fft_power_spectrogram(signal, fft_length, frame_step, frame_length, window_fn, center, pad_mode)
    if power == 2.0:
        return spec
    if power == 1.0:
        return tf.sqrt(spec)
    return tf.pow(spec, power / 2.0)


def frame(signal, frame_length, frame_step):
    """Splits `signal` `[batch, samples]` into frames `[batch, frames, frame_length]` (no padding).

    Like `tf.signal.frame(signal, frame_length, frame_step)` (Kaldi's
    `snip_edges=True`) but built from a GATHER with constant indices when the
    length is static, so TFLite needs builtins only. Use it when per-frame
    processing (DC removal, pre-emphasis) comes before the DFT; then apply
    `dft_matrices` with `tf.matmul`.
    """
    frame_length, frame_step = int(frame_length), int(frame_step)
    length = signal.shape[-1]
    if length is not None:
        count = max(0, 1 + (length - frame_length) // frame_step)
        indices = (np.arange(count)[:, None] * frame_step + np.arange(frame_length)[None, :]).astype(np.int32)
    else:
        count = tf.maximum(0, 1 + (tf.shape(signal)[-1] - frame_length) // frame_step)
        indices = tf.range(count)[:, None] * frame_step + tf.range(frame_length)[None, :]
    return tf.gather(signal, indices, axis=1)
