"""Mel filterbanks as NumPy matrices: librosa's slaney/htk banks and Kaldi's bank."""

import numpy as np

MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", None)

# Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above.
_SLANEY_F_SP = 200.0 / 3.0
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = np.log(6.4) / 27.0


def _check_scale(scale):
    if scale not in MEL_SCALES:
        raise ValueError(f"`scale` must be one of {MEL_SCALES}. Received: scale={scale!r}")


def hz_to_mel(frequencies, scale="slaney"):
    """Converts Hz to mels, as `librosa.hz_to_mel`.

    Args:
        frequencies: float or array. Frequencies in Hz.
        scale: str. "slaney" (Auditory Toolbox, librosa's default) or "htk"
            (`2595 * log10(1 + f / 700)`). Defaults to "slaney".

    Returns:
        float64 array of mels, same shape as `frequencies`.
    """
    _check_scale(scale)
    f = np.asarray(frequencies, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / _SLANEY_F_SP
    log_region = f >= _SLANEY_MIN_LOG_HZ
    safe = np.where(log_region, f, _SLANEY_MIN_LOG_HZ)
    return np.where(log_region, _SLANEY_MIN_LOG_MEL + np.log(safe / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP, mels)


def mel_to_hz(mels, scale="slaney"):
    """Converts mels to Hz, the inverse of `hz_to_mel` (as `librosa.mel_to_hz`)."""
    _check_scale(scale)
    m = np.asarray(mels, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    freqs = _SLANEY_F_SP * m
    log_region = m >= _SLANEY_MIN_LOG_MEL
    return np.where(log_region, _SLANEY_MIN_LOG_HZ * np.exp(_SLANEY_LOGSTEP * (m - _SLANEY_MIN_LOG_MEL)), freqs)


def fft_frequencies(sample_rate, fft_length):
    """Centre frequencies (Hz, float64) of the `fft_length // 2 + 1` one-sided DFT bins."""
    return np.fft.rfftfreq(int(fft_length), d=1.0 / float(sample_rate))


def mel_frequencies(num, min_freq=0.0, max_freq=11025.0, scale="slaney"):
    """`num` frequencies (Hz) evenly spaced on the mel scale between `min_freq` and `max_freq`."""
    mels = np.linspace(hz_to_mel(min_freq, scale), hz_to_mel(max_freq, scale), int(num))
    return mel_to_hz(mels, scale)


def _check_band(sample_rate, num_mel_bins, min_freq, max_freq):
    if sample_rate <= 0:
        raise ValueError(f"`sample_rate` must be positive. Received: sample_rate={sample_rate}")
    if int(num_mel_bins) < 1:
        raise ValueError(f"`num_mel_bins` must be at least 1. Received: num_mel_bins={num_mel_bins}")
    nyquist = sample_rate / 2.0
    max_freq = nyquist if max_freq is None else float(max_freq)
    if not 0.0 <= min_freq < max_freq:
        raise ValueError(
            f"Need 0 <= min_freq < max_freq. Received: min_freq={min_freq}, max_freq={max_freq}"
        )
    if max_freq > nyquist:
        raise ValueError(f"`max_freq` must be at most sample_rate / 2 = {nyquist}. Received: max_freq={max_freq}")
    return max_freq


def mel_filterbank(
    sample_rate,
    fft_length,
    num_mel_bins=128,
    min_freq=0.0,
    max_freq=None,
    scale="slaney",
    norm="slaney",
):
    """Triangular mel filterbank matrix, equal to `librosa.filters.mel(...).T` in float64.

    Args:
        sample_rate: int. Sampling rate of the audio in Hz.
        fft_length: int. DFT size; the bank has `fft_length // 2 + 1` rows.
        num_mel_bins: int. Number of mel filters (columns). Defaults to 128.
        min_freq: float. Lowest band edge in Hz. Defaults to 0.
        max_freq: float or None. Highest band edge in Hz; None means
            `sample_rate / 2`. Defaults to None.
        scale: str. Mel scale, "slaney" (librosa's `htk=False`) or "htk".
            Defaults to "slaney".
        norm: str or None. "slaney" divides each triangle by its width in Hz
            (`2 / (f[i+2] - f[i])`, constant energy per band; librosa's default,
            applied the same way for both scales) or None for peak-1 triangles.
            Defaults to "slaney".

    Returns:
        float64 array `[fft_length // 2 + 1, num_mel_bins]`: `power @ bank` maps
        a one-sided power spectrum to mel bands.

    Example:
    >>> bank = mel_filterbank(16000, 512, num_mel_bins=64)
    >>> bank.shape
    (257, 64)
    """
    _check_scale(scale)
    if norm not in MEL_NORMS:
        raise ValueError(f"`norm` must be one of {MEL_NORMS}. Received: norm={norm!r}")
    max_freq = _check_band(sample_rate, num_mel_bins, min_freq, max_freq)
    num_mel_bins = int(num_mel_bins)

    fft_freqs = fft_frequencies(sample_rate, fft_length)
    edges = mel_frequencies(num_mel_bins + 2, min_freq, max_freq, scale)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]  # [num_mel_bins + 2, freq_bins]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))  # [num_mel_bins, freq_bins]
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.T


def kaldi_mel_filterbank(sample_rate, fft_length, num_mel_bins=23, low_freq=20.0, high_freq=0.0):
    """Kaldi's mel filterbank (`MelBanks` in feature-fbank; torchaudio's `kaldi.get_mel_banks`).

    Triangles are linear in the mel domain (`1127 * ln(1 + f / 700)`) with peak 1
    and no area normalisation, evaluated at the DFT bins `0 .. fft_length/2 - 1`;
    the Nyquist row is zero, as in `torchaudio.compliance.kaldi.fbank`.

    Args:
        sample_rate: float. Sampling rate in Hz.
        fft_length: int. Padded window size (Kaldi rounds the frame length up to
            a power of two); must be even.
        num_mel_bins: int. Number of triangular bins. Defaults to 23 (Kaldi's
            default; AST uses 128).
        low_freq: float. Low cut-off in Hz. Defaults to 20.
        high_freq: float. High cut-off in Hz; a value <= 0 is an offset from the
            Nyquist frequency, as in Kaldi. Defaults to 0 (Nyquist).

    Returns:
        float64 array `[fft_length // 2 + 1, num_mel_bins]`.

    Example:
    >>> kaldi_mel_filterbank(16000, 512, num_mel_bins=128).shape
    (257, 128)
    """
    fft_length = int(fft_length)
    if fft_length % 2:
        raise ValueError(f"`fft_length` must be even for Kaldi's mel banks. Received: fft_length={fft_length}")
    if int(num_mel_bins) < 3:
        raise ValueError(f"Kaldi needs at least 3 mel bins. Received: num_mel_bins={num_mel_bins}")
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq = nyquist + high_freq
    if not 0.0 <= low_freq < high_freq <= nyquist:
        raise ValueError(
            f"Need 0 <= low_freq < high_freq <= nyquist ({nyquist}). "
            f"Received: low_freq={low_freq}, high_freq={high_freq}"
        )
    num_fft_bins = fft_length // 2

    def kaldi_mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    mel_low, mel_high = kaldi_mel(low_freq), kaldi_mel(high_freq)
    delta = (mel_high - mel_low) / (num_mel_bins + 1)
    index = np.arange(num_mel_bins, dtype=np.float64)[:, None]
    left = mel_low + index * delta
    center = mel_low + (index + 1.0) * delta
    right = mel_low + (index + 2.0) * delta
    mel = kaldi_mel(sample_rate / fft_length * np.arange(num_fft_bins, dtype=np.float64))[None, :]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    weights = np.maximum(0.0, np.minimum(up, down))  # [num_mel_bins, num_fft_bins]
    weights = np.pad(weights, ((0, 0), (0, 1)))  # zero weight on the Nyquist bin
    return weights.T
