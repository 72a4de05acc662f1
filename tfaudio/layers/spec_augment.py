"""SpecAugment: random time warping and time and frequency masks on spectrograms, at training time only."""

import tensorflow as tf

from tfaudio.backend import register_serializable
from tfaudio.layers._random import RandomAugmentation, split_seed


def _band_mask(seed, batch, size, num_masks, max_width, ratio=1.0):
    """`[batch, size]` bool: union of `num_masks` bands of width ~ U{0..max_width} per example.

    Widths are drawn uniformly from `0..min(max_width, floor(ratio * size))`, starts
    uniformly from `0..size - width` (Park et al. 2019, section 2).
    """
    width_seed, start_seed = split_seed(seed, 2)
    limit = tf.minimum(tf.cast(max_width, tf.int32), tf.cast(tf.floor(ratio * tf.cast(size, tf.float32)), tf.int32))
    width = tf.random.stateless_uniform([batch, num_masks], seed=width_seed, minval=0, maxval=limit + 1, dtype=tf.int32)
    u = tf.random.stateless_uniform([batch, num_masks], seed=start_seed)
    start = tf.cast(tf.floor(u * tf.cast(size - width + 1, tf.float32)), tf.int32)
    index = tf.range(size)[None, None, :]
    inside = (index >= start[:, :, None]) & (index < (start + width)[:, :, None])
    return tf.reduce_any(inside, axis=1)


def time_warp(inputs, center, displacement):
    """Piecewise-linear warp of the time axis (axis 1) moving frame `center` to `center + displacement`.

    Per example, output frame `t` reads the input at the source position `s(t)`
    that maps the anchors `0 -> 0`, `center + displacement -> center` and
    `τ - 1 -> τ - 1` linearly in between (the time axis of Park et al.'s 2-D
    sparse warp along the centre line, with its corners pinned), interpolating
    linearly between the two neighbouring frames. Frames `0..center` are thus
    resampled onto `0..center + displacement` and the rest onto
    `center + displacement..τ - 1`. When `0 < center + displacement < τ - 1`
    the first and last frames stay in place, and `displacement = 0` returns
    the input unchanged.

    Args:
        inputs: float tensor `[batch, frames, ...]`.
        center: int tensor `[batch]` (or scalar), in `0..τ - 1`.
        displacement: int tensor `[batch]` (or scalar); `center + displacement`
            must lie in `0..τ - 1` (not checked).

    Returns:
        A tensor of the same shape and dtype as `inputs`.
    """
    frames = tf.shape(inputs)[1]
    batch = tf.shape(inputs)[0]
    center = tf.broadcast_to(tf.cast(center, tf.int32), [batch])[:, None]
    target = center + tf.broadcast_to(tf.cast(displacement, tf.int32), [batch])[:, None]
    last = frames - 1
    t = tf.range(frames)[None, :]
    f32 = lambda v: tf.cast(v, tf.float32)  # noqa: E731; frame indices < 2**24 are exact in float32
    # Fractions of each segment times its source length: the fraction is exactly 1 at the
    # segment's end, so s(target) == center and s(last) == last exactly, and s never decreases.
    left = f32(center) * tf.math.divide_no_nan(f32(t), f32(target))
    right = f32(center) + f32(last - center) * tf.math.divide_no_nan(f32(t - target), f32(last - target))
    source = tf.where(t <= target, left, right)
    source = tf.where(target == center, f32(t), tf.clip_by_value(source, 0.0, f32(last)))
    lower = tf.floor(source)
    index = tf.cast(lower, tf.int32)
    upper = tf.minimum(index + 1, last)
    fraction = tf.reshape(source - lower, [batch, frames] + [1] * (len(inputs.shape) - 2))
    a = tf.gather(inputs, index, axis=1, batch_dims=1)
    b = tf.gather(inputs, upper, axis=1, batch_dims=1)
    return a + tf.cast(fraction, inputs.dtype) * (b - a)


def _warp_draws(seed, batch, frames, max_warp):
    """`(center, displacement)`, int32 `[batch]`: SpecAugment's time-warp draws.

    `center ~ U{W..τ - W - 1}` and `displacement ~ U{-W..W}` (Park et al. 2019,
    section 2), except that the destination `center + displacement` is kept in
    `1..τ - 2` so the first and last frames stay in place (this only shortens
    the rare draws that would move the centre onto an end frame). Clips with
    `τ <= 2W` get `(0, 0)`: no warp.
    """
    center_seed, shift_seed = split_seed(seed, 2)
    span = frames - 2 * max_warp  # number of admissible centres
    u = tf.random.stateless_uniform([batch], seed=center_seed)
    center = max_warp + tf.cast(tf.floor(u * tf.cast(span, tf.float32)), tf.int32)
    center = tf.minimum(center, frames - max_warp - 1)  # u < 1, but float32 rounding of u * span
    shift = tf.random.stateless_uniform([batch], seed=shift_seed, minval=-max_warp, maxval=max_warp + 1, dtype=tf.int32)
    shift = tf.clip_by_value(center + shift, 1, frames - 2) - center
    warp = span > 0
    return tf.where(warp, center, 0), tf.where(warp, shift, 0)


@register_serializable
class SpecAugment(RandomAugmentation):
    """SpecAugment: time warping, frequency and time masking (Park et al., Interspeech 2019, arXiv 1904.08779).

    On a spectrogram with `τ` frames and `ν` frequency bins, per example, in the
    paper's order:
    1. Time warping (when `time_warp_param` `W > 0`): a centre frame
       `w0 ~ U{W..τ - W - 1}` moves to `w0 + w`, `w ~ U{-W..W}`; the frames
       before and after it are stretched or squeezed linearly to fit, with
       linear interpolation between neighbouring frames, and the first and last
       frames stay put (see `time_warp`). The destination is kept one frame
       inside the ends, and clips with `τ <= 2W` are not warped.
    2. `num_freq_masks` frequency masks of width `f ~ U{0..freq_mask_param}`
       starting at `f0 ~ U{0..ν - f}`.
    3. `num_time_masks` time masks of width
       `t ~ U{0..min(time_mask_param, floor(max_time_ratio * τ))}` starting at
       `t0 ~ U{0..τ - t}`.
    Masked cells are set to `mask_value`. Masks may overlap.

    Any time-frequency representation works: log-mel spectrograms, or a filter
    bank's output such as SincNet's band-pass channels `[batch, samples, filters]`.
    Identity when `training` is false, so the layer vanishes from exported graphs.

    Defaults are sized for ~1 s clips (~100 frames, 40-128 bins); the paper's
    LibriSpeech policy "LD" is `time_warp_param=80, freq_mask_param=27,
    num_freq_masks=2, time_mask_param=100, num_time_masks=2, max_time_ratio=1.0`,
    and its Switchboard policies use `time_warp_param=40` (10 ms frames). Time
    warping is off by default: the paper found it the least effective of the three
    policies and it costs a gather per call.

    Args:
        freq_mask_param: int. `F`, the widest frequency mask in bins. Defaults to 10.
        num_freq_masks: int. `m_F`. Defaults to 2.
        time_mask_param: int. `T`, the widest time mask in frames. Defaults to 20.
        num_time_masks: int. `m_T`. Defaults to 2.
        max_time_ratio: float in (0, 1]. `p`, upper bound of a time mask as a
            fraction of the frames. Defaults to 1.0.
        time_warp_param: int. `W`, the largest time-warp distance in frames
            (0: no warping). Defaults to 0.
        mask_value: float or "mean". Value of masked cells: a constant (0 for
            mean-normalised inputs, as in the paper), or "mean" for each example's
            mean value (suits un-normalised dB spectrograms). Defaults to 0.0.
        seed: int or None. Seed of the random stream (see `RandomAugmentation`).
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: float tensor `[batch, frames, bins]` or `[batch, frames, bins, channels]`.
        training: bool. Augment only when true.

    Input shape:
        `(batch, frames, bins)` or `(batch, frames, bins, channels)`.

    Output shape:
        Same as the input.

    Example:
    >>> layer = SpecAugment(freq_mask_param=8, time_mask_param=10, seed=1)
    >>> y = layer(tf.ones([4, 100, 64]), training=True)  # some rows/columns zeroed
    """

    def __init__(
        self,
        freq_mask_param=10,
        num_freq_masks=2,
        time_mask_param=20,
        num_time_masks=2,
        max_time_ratio=1.0,
        mask_value=0.0,
        time_warp_param=0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        for name, value in (
            ("freq_mask_param", freq_mask_param),
            ("num_freq_masks", num_freq_masks),
            ("time_mask_param", time_mask_param),
            ("num_time_masks", num_time_masks),
            ("time_warp_param", time_warp_param),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"`{name}` must be an int >= 0. Received: {name}={value!r}")
        if not 0.0 < max_time_ratio <= 1.0:
            raise ValueError(f"`max_time_ratio` must be in (0, 1]. Received: max_time_ratio={max_time_ratio!r}")
        self.freq_mask_param = freq_mask_param
        self.num_freq_masks = num_freq_masks
        self.time_mask_param = time_mask_param
        self.num_time_masks = num_time_masks
        self.max_time_ratio = float(max_time_ratio)
        if mask_value != "mean" and not isinstance(mask_value, (int, float)):
            raise ValueError(f"`mask_value` must be a number or 'mean'. Received: mask_value={mask_value!r}")
        self.mask_value = mask_value if mask_value == "mean" else float(mask_value)
        self.time_warp_param = time_warp_param

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                "SpecAugment expects `[batch, frames, bins]` or `[batch, frames, bins, channels]`. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)

    def _augment(self, inputs, seed):
        time_seed, freq_seed = split_seed(seed, 2)
        shape = tf.shape(inputs)
        if self.time_warp_param:
            # A seed of its own (folded in, not a third split) keeps the mask draws of a
            # given seed identical with and without warping.
            warp_seed = tf.random.experimental.stateless_fold_in(seed, 1)
            center, displacement = _warp_draws(warp_seed, shape[0], shape[1], self.time_warp_param)
            inputs = time_warp(inputs, center, displacement)
        batch, frames, bins = shape[0], shape[1], shape[2]
        masked = tf.zeros([batch, frames, bins], tf.bool)
        if self.num_time_masks and self.time_mask_param:
            time = _band_mask(time_seed, batch, frames, self.num_time_masks, self.time_mask_param, self.max_time_ratio)
            masked = masked | time[:, :, None]
        if self.num_freq_masks and self.freq_mask_param:
            freq = _band_mask(freq_seed, batch, bins, self.num_freq_masks, self.freq_mask_param)
            masked = masked | freq[:, None, :]
        if len(inputs.shape) == 4:
            masked = masked[:, :, :, None]
        if self.mask_value == "mean":
            value = tf.reduce_mean(inputs, axis=list(range(1, len(inputs.shape))), keepdims=True)
        else:
            value = tf.cast(self.mask_value, inputs.dtype)
        return tf.where(masked, value, inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "freq_mask_param": self.freq_mask_param,
                "num_freq_masks": self.num_freq_masks,
                "time_mask_param": self.time_mask_param,
                "num_time_masks": self.num_time_masks,
                "max_time_ratio": self.max_time_ratio,
                "mask_value": self.mask_value,
                "time_warp_param": self.time_warp_param,
            }
        )
        return config
