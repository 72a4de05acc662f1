"""Peak normalisation in NumPy: what a runner does to an input before quantising it."""

import numpy as np


def peak_normalize(x, floor=1e-3):
    """NumPy version of `tfaudio.layers.PeakNormalization` for arrays `[batch, ...]`.

    `y = x / max(max(|x|), floor)`, the maximum taken over all axes but the batch axis.

    Args:
        x: float array `[batch, ...]`.
        floor: float > 0. Peaks below it are divided by `floor` instead. Defaults to 1e-3.

    Returns:
        float32 array of the shape of `x`.
    """
    x = np.asarray(x, np.float32)
    axes = tuple(range(1, x.ndim))
    peak = np.abs(x).max(axis=axes, keepdims=True) if x.size else np.ones([1] * x.ndim, np.float32)
    return (x / np.maximum(peak, np.float32(floor))).astype(np.float32)
