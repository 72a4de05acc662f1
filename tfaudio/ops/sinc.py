"""Sinc band-pass filter math for SincNet: mel-spaced initial cut-offs, Hamming window, kernels."""

import math

import numpy as np
import tensorflow as tf

# SincNet (Ravanelli & Bengio 2018, arXiv 1808.00158; reference code
# mravanelli/SincNet `dnn_models.py`, class `SincConv_fast`) parametrises filter i
# by a low cut-off and a band, both in Hz and both learnable:
#   low_i  = min_low_hz + |low_hz_i|
#   high_i = clip(low_i + min_band_hz + |band_hz_i|, min_low_hz, sample_rate / 2)
#   g_i[n] = (2 high_i sinc(2 pi high_i n / sr) - 2 low_i sinc(2 pi low_i n / sr)) * w[n]
# for n = -(K-1)/2 .. (K-1)/2, normalised by 2 (high_i - low_i) so that the centre
# tap is 1. The window is the reference code's Hamming window, computed for the
# left half and mirrored (see `hamming_half_window`).

# Lowest initial cut-off of the mel-spaced filter bank, in Hz (reference: `low_hz = 30`).
INIT_MIN_HZ = 30.0


def hz_to_mel(hz):
    """HTK mel scale, as in SincNet: `2595 log10(1 + hz / 700)`."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    """Inverse of `hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def mel_initial_cutoffs(filters, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """Initial `(low_hz, band_hz)` of a SincNet filter bank, equally spaced on the mel scale.

    `filters + 1` edges from 30 Hz to `sample_rate / 2 - (min_low_hz + min_band_hz)`;
    filter i spans edges i to i+1. These are the raw parameters: the layer adds
    `min_low_hz` and `min_band_hz` on top (see `sinc_kernels`).

    Returns:
        Two float64 arrays of shape `[filters]`: `low_hz` and `band_hz`.
    """
    high_hz = sample_rate / 2.0 - (min_low_hz + min_band_hz)
    if high_hz <= INIT_MIN_HZ:
        raise ValueError(
            "`sample_rate / 2 - (min_low_hz + min_band_hz)` must be above "
            f"{INIT_MIN_HZ} Hz. Received: sample_rate={sample_rate}, "
            f"min_low_hz={min_low_hz}, min_band_hz={min_band_hz}"
        )
    edges = mel_to_hz(np.linspace(hz_to_mel(INIT_MIN_HZ), hz_to_mel(high_hz), filters + 1))
    return edges[:-1], np.diff(edges)


def hamming_half_window(kernel_size):
    """Left half (`(kernel_size - 1) // 2` taps, centre excluded) of SincNet's Hamming window.

    Exactly the reference's `0.54 - 0.46 cos(2 pi n / K)` at
    `n = linspace(0, K / 2 - 1, (K - 1) // 2)`; the centre tap is 1 and the right
    half is the mirror image, so the full window is symmetric.
    """
    half = (kernel_size - 1) // 2
    n = np.linspace(0.0, kernel_size / 2.0 - 1.0, half)
    return 0.54 - 0.46 * np.cos(2.0 * math.pi * n / kernel_size)


def band_edges(low_hz, band_hz, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """Constrained `(low, high)` cut-offs in Hz from raw parameters (TF ops; differentiable).

    `low = min_low_hz + |low_hz|`, `high = clip(low + min_band_hz + |band_hz|,
    min_low_hz, sample_rate / 2)` (the Nyquist clip).
    """
    low = min_low_hz + tf.abs(low_hz)
    high = tf.clip_by_value(low + min_band_hz + tf.abs(band_hz), min_low_hz, sample_rate / 2.0)
    return low, high


def sinc_kernels(low_hz, band_hz, kernel_size, sample_rate, min_low_hz=50.0, min_band_hz=50.0):
    """Band-pass sinc impulse responses from raw SincNet parameters, with TF ops.

    Args:
        low_hz: float tensor `[filters]`. Raw low cut-off parameters, in Hz.
        band_hz: float tensor `[filters]`. Raw band parameters, in Hz.
        kernel_size: int. Odd number of taps.
        sample_rate: int. In Hz.
        min_low_hz: float. Smallest low cut-off, in Hz.
        min_band_hz: float. Smallest band, in Hz.

    Returns:
        Tensor `[kernel_size, filters]` of `low_hz`'s dtype (the layout `tf.nn.conv1d` wants once
        an input-channel axis is added), symmetric in time, centre tap 1.

    Uses the reference's simplified left half
    `(sin(2 pi high t) - sin(2 pi low t)) / (pi t) * w`, `t = n / sample_rate < 0`,
    equal to the difference of the two low-pass sinc filters, then mirrors it.
    """
    if kernel_size % 2 != 1:
        raise ValueError(f"`kernel_size` must be odd. Received: kernel_size={kernel_size}")
    dtype = low_hz.dtype
    # float64 inside: in float32 the phase 2 pi f n / sr of the outer taps (up to
    # ~400 rad for 251 taps) is off by ~2e-5 rad, and dividing the difference of
    # two such sines by a narrow band amplifies that to ~1e-4 in the kernel. The
    # kernel is small (taps x filters) and folds into a constant on export.
    low_hz, band_hz = tf.cast(low_hz, tf.float64), tf.cast(band_hz, tf.float64)
    low, high = band_edges(low_hz, band_hz, sample_rate, min_low_hz, min_band_hz)
    band = high - low
    half = (kernel_size - 1) // 2
    # 2 pi n / sr for n = -half .. -1, as a [half, 1] column.
    n = tf.constant((2.0 * math.pi * np.arange(-half, 0) / sample_rate)[:, None], tf.float64)
    window = tf.constant(hamming_half_window(kernel_size)[:, None], tf.float64)
    left = (tf.sin(n * high[None, :]) - tf.sin(n * low[None, :])) / (n / 2.0) * window
    centre = 2.0 * band[None, :]
    right = tf.reverse(left, axis=[0])
    return tf.cast(tf.concat([left, centre, right], axis=0) / centre, dtype)
