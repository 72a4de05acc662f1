"""Strided 1-D convolution of a one-channel signal in a polyphase layout (fast int8 CONV_2D in TFLite).

A convolution over a raw waveform has one input channel and a long kernel (a sinc filter, a
windowed DFT). TFLite's int8 CONV_2D kernels (XNNPACK) run such a layer far slower than float:
each of the hundreds of taps contributes a single channel. Here the signal is cut into rows of
`block` samples (a multiple of the stride) and convolved with a kernel that produces
`block / stride` consecutive outputs per row, then the outputs are put back in order:

    y[t, c] = sum_k x[stride * t + k] w[k, c]                   (the convolution)
    y[u * P + p, c] = sum_{m, j} X[u + m, j] W[m, j, p * C + c]   (P = block / stride phases)

with `X[u, j] = x[block * u + j]` and `W[m, j, p * C + c] = w[block * m + j - stride * p, c]`
(zero off the taps). Same sums, so the same result up to float summation order; the
convolution has `block` input channels instead of one and a few percent more multiplications.
"""

import numpy as np
import tensorflow as tf

# Samples per row: the smallest multiple of the stride at least this large. 16 was fastest for
# SincNet's 251 taps in float and int8 on XNNPACK (x86 AVX2); strides >= 16 give one phase.
MIN_BLOCK = 16


def block_size(stride, min_block=MIN_BLOCK):
    """Row length for `stride`: the smallest multiple of it that is at least `min_block`."""
    stride = int(stride)
    return stride * -(-int(min_block) // stride)


def polyphase_kernel(kernel, stride, block=None):
    """`[rows, block, (block // stride) * channels]` kernel from `kernel` `[taps, channels]` (TF ops).

    A GATHER with constant indices from the kernel and a zero row: once the kernel's variables
    are frozen the TFLite converter folds it into the CONV_2D filter constant (a PAD before it
    stayed in the graph as a runtime filter).
    """
    block = block_size(stride) if block is None else int(block)
    taps, channels = kernel.shape
    phases = block // stride
    rows = -(-(taps + block - stride) // block)
    m, j, p = np.meshgrid(np.arange(rows), np.arange(block), np.arange(phases), indexing="ij")
    tap = block * m + j - stride * p
    index = np.where((tap >= 0) & (tap < taps), tap, taps).astype(np.int32)
    padded = tf.concat([kernel, tf.zeros([1, channels], kernel.dtype)], axis=0)
    return tf.reshape(tf.gather(padded, index), [rows, block, phases * channels])


def _length(x):
    return x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]


def polyphase_conv1d(signal, kernel, stride=1, block=None):
    """'VALID' strided cross-correlation of `signal` `[batch, samples]` with `kernel` `[taps, channels]`.

    Equals `tf.nn.conv1d(signal[..., None], kernel[:, None, :], stride, "VALID")`:
    `[batch, frames, channels]` with `frames = max(0, ceil((samples - taps + 1) / stride))`,
    for static or dynamic `samples`. In TFLite: PAD or SLICE to whole rows, RESHAPE, CONV_2D,
    RESHAPE and a SLICE when the last row holds outputs past the end.

    Args:
        signal: float tensor `[batch, samples]`.
        kernel: float tensor `[taps, channels]` of `signal`'s dtype.
        stride: int. Hop between outputs in samples. Defaults to 1.
        block: int or None. Samples per row, a multiple of `stride`; None picks
            `block_size(stride)`. Defaults to None.
    """
    stride = int(stride)
    block = block_size(stride) if block is None else int(block)
    if stride < 1 or block % stride:
        raise ValueError(f"`block` must be a multiple of `stride` >= 1. Received: block={block}, stride={stride}")
    taps, channels = kernel.shape
    phases = block // stride
    rows = -(-(taps + block - stride) // block)  # kernel rows
    samples = _length(signal)
    frames = tf.maximum(-(-(samples - taps + 1) // stride), 0) if not isinstance(samples, int) else max(
        0, -(-(samples - taps + 1) // stride)
    )
    if isinstance(frames, int) and frames == 0:
        return tf.zeros([tf.shape(signal)[0], 0, channels], signal.dtype)
    blocks = -(-frames // phases)  # output rows
    needed = (blocks + rows - 1) * block  # whole input rows covering every output
    static = isinstance(needed, int)
    if not static or needed > samples:
        signal = tf.pad(signal, [[0, 0], [0, tf.maximum(needed - samples, 0) if not static else needed - samples]])
    if not static or needed < samples:
        signal = tf.slice(signal, [0, 0], [-1, needed])
    x = tf.reshape(signal, [-1, blocks + rows - 1, block])
    y = tf.nn.conv1d(x, polyphase_kernel(kernel, stride, block), stride=1, padding="VALID")
    if phases == 1:
        return y
    y = tf.reshape(y, [-1, blocks * phases, channels])
    if static and frames == blocks * phases:
        return y
    # SLICE (not a strided slice) drops the outputs of the last row past the end.
    return tf.slice(y, [0, 0, 0], [-1, frames, -1])
