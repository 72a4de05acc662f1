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


# XNNPACK's x86 int8 convolution kernels take input channels in groups of 8 (a one-channel conv
# does 8x the work); float ones take them one at a time. `polyphase_conv2d` is for convs with fewer.
MIN_CHANNELS_2D = 8


def polyphase_kernel_2d(kernel, strides):
    """`[1, cols, rows * sh * sw * C, O]` kernel for `polyphase_conv2d` from `kernel` `[kh, kw, C, O]` (TF ops).

    `W[0, n, (m, j, i, c), o] = w[sh * m + j, sw * n + i, c, o]`, zero past the taps; a GATHER with
    constant indices that the TFLite converter folds into the CONV_2D filter.
    """
    sh, sw = (int(s) for s in strides)
    kh, kw, channels, filters = (int(d) for d in kernel.shape)
    rows, cols = -(-kh // sh), -(-kw // sw)
    n, m, j, i = np.meshgrid(np.arange(cols), np.arange(rows), np.arange(sh), np.arange(sw), indexing="ij")
    a, b = sh * m + j, sw * n + i
    index = np.where((a < kh) & (b < kw), a * kw + b, kh * kw).astype(np.int32)  # [cols, rows, sh, sw]
    flat = tf.reshape(kernel, [kh * kw, channels, filters])
    padded = tf.concat([flat, tf.zeros([1, channels, filters], kernel.dtype)], axis=0)
    return tf.reshape(tf.gather(padded, index), [1, cols, rows * sh * sw * channels, filters])


def polyphase_conv2d(x, kernel, strides=(1, 1), padding=((0, 0), (0, 0))):
    """Zero-padded, strided 2-D cross-correlation of `x` `[batch, H, W, C]` with `kernel` `[kh, kw, C, O]`.

    Equals `tf.nn.conv2d(tf.pad(x, [[0, 0], *padding, [0, 0]]), kernel, strides, "VALID")`
    (static `H`, `W`, `C`), computed with more input channels: `x` is cut into `sh x sw` blocks
    (space-to-depth by the strides) and `ceil(kh / sh)` consecutive block rows are stacked as
    channels, so a stride-1 conv of `1 x ceil(kw / sw)` taps on `ceil(kh / sh) * sh * sw * C`
    channels gives every output in place. Same products (plus zeros where `kh`, `kw` are not
    multiples of the strides); for `C = 1` XNNPACK's int8 kernels run it several times faster.
    Its output is the conv's own, so a following batch norm still folds into the CONV_2D.
    In TFLite: PAD, RESHAPE, TRANSPOSE, RESHAPE, SLICEs, CONCATENATION, CONV_2D.

    Args:
        x: float tensor `[batch, H, W, C]`, static `H`, `W`, `C`.
        kernel: float tensor `[kh, kw, C, O]`.
        strides: (int, int). Defaults to (1, 1).
        padding: ((top, bottom), (left, right)) zeros added first. Defaults to none.
    """
    sh, sw = (int(s) for s in strides)
    if sh < 1 or sw < 1:
        raise ValueError(f"`strides` must be >= 1. Received: strides={strides}")
    kh, kw, channels, filters = (int(d) for d in kernel.shape)
    (top, bottom), (left, right) = padding
    height, width = int(x.shape[1]) + top + bottom, int(x.shape[2]) + left + right
    out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"The padded input {(height, width)} is smaller than the kernel {(kh, kw)}.")
    rows, cols = -(-kh // sh), -(-kw // sw)
    need_h, need_w = (out_h + rows - 1) * sh, (out_w + cols - 1) * sw
    # Pad (or crop rows/cols no output reads) to whole blocks, on [batch, H, W * C]: XNNPACK pads a
    # one-channel 4-D tensor pixel by pixel (~20x slower).
    x = tf.reshape(x, [-1, int(x.shape[1]), int(x.shape[2]) * channels])
    x = tf.pad(x, [[0, 0], [top, max(need_h - height, 0) + bottom],
                   [left * channels, (max(need_w - width, 0) + right) * channels]])  # fmt: skip
    if need_h < height or need_w < width:
        x = x[:, :need_h, : need_w * channels]
    gh, gw = need_h // sh, need_w // sw
    x = tf.reshape(x, [-1, gh, sh, gw, sw * channels])
    if sh > 1 and gw > 1:
        x = tf.transpose(x, [0, 1, 3, 2, 4])
    x = tf.reshape(x, [-1, gh, gw, sh * sw * channels])  # channel (j, i, c)
    if rows > 1:  # channel (m, j, i, c): block rows u .. u + rows - 1
        x = tf.concat([x[:, m : m + out_h] for m in range(rows)], axis=-1)
    return tf.nn.conv2d(x, polyphase_kernel_2d(kernel, (sh, sw)), 1, "VALID")


def same_padding_2d(size, kernel_size, strides, dilation_rate=(1, 1)):
    """((top, bottom), (left, right)) zeros TensorFlow's "SAME" adds for a conv on `size` `(H, W)`."""
    pads = []
    for n, k, s, d in zip(size, kernel_size, strides, dilation_rate):
        span = d * (k - 1) + 1
        total = max((-(-n // s) - 1) * s + span - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)
