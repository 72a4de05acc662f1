"""SpecAugment: identity at inference, warp and mask statistics as configured, seeded, exportable."""

import numpy as np
import pytest
import tensorflow as tf

from tests.layers import _augment_checks as checks
from tfaudio.layers import SpecAugment
from tfaudio.layers.spec_augment import time_warp


@pytest.fixture
def spec():
    return np.random.default_rng(0).normal(size=(4, 50, 16)).astype("float32") + 5.0


def test_identity_at_inference(spec):
    checks.check_identity_at_inference(SpecAugment(seed=1), spec)


def test_seeded(spec):
    checks.check_seeded(SpecAugment, spec, freq_mask_param=4, time_mask_param=10)


def test_mask_statistics():
    """Mask widths ~ U{0..F} / U{0..T} and masks are full rows/columns, as in Park et al. 2019."""
    frames, bins, F, T, n = 200, 80, 12, 30, 2000
    x = np.ones((n, frames, bins), np.float32)
    layer = SpecAugment(freq_mask_param=F, num_freq_masks=1, time_mask_param=T, num_time_masks=1, mask_value=0.0, seed=3)
    y = np.asarray(layer(x, training=True))
    masked = y == 0
    freq_masked = masked.all(axis=1)  # [n, bins]: whole column masked
    time_masked = masked.all(axis=2)  # [n, frames]
    # Every masked cell lies in a masked row or column (nothing else is touched).
    np.testing.assert_array_equal(masked, freq_masked[:, None, :] | time_masked[:, :, None])
    fw, tw = freq_masked.sum(1), time_masked.sum(1)
    # One mask each: the masked span is contiguous, its width uniform on 0..F (mean F/2, max F).
    assert fw.max() == F and tw.max() == T
    # Mean of U{0..F}: F/2; tolerance 4 standard errors of the mean over n examples.
    assert abs(fw.mean() - F / 2) < 4 * np.sqrt((F + 1) ** 2 / 12 / n), fw.mean()
    assert abs(tw.mean() - T / 2) < 4 * np.sqrt((T + 1) ** 2 / 12 / n), tw.mean()
    for w in range(F + 1):  # every width occurs
        assert (fw == w).any()
    # Positions: a mask touching the first and one touching the last bin both occur (start ~ U{0..v-f}).
    assert freq_masked[:, 0].any() and freq_masked[:, -1].any()


def test_time_ratio_bound():
    """max_time_ratio p caps a time mask at floor(p * frames)."""
    x = np.ones((500, 40, 8), np.float32)
    y = np.asarray(SpecAugment(freq_mask_param=0, time_mask_param=40, num_time_masks=1, max_time_ratio=0.1, seed=0)(x, training=True))
    widths = (y == 0).all(axis=2).sum(axis=1)
    assert widths.max() == 4


def test_mean_mask_value_and_rank4(spec):
    y = np.asarray(SpecAugment(mask_value="mean", seed=2)(spec, training=True))
    changed = y != spec
    means = spec.mean(axis=(1, 2))
    for i in range(len(spec)):
        np.testing.assert_allclose(y[i][changed[i]], means[i], rtol=1e-6)
    y4 = np.asarray(SpecAugment(seed=2)(spec[..., None], training=True))
    assert y4.shape == spec.shape + (1,)


def test_bad_arguments():
    with pytest.raises(ValueError, match="freq_mask_param"):
        SpecAugment(freq_mask_param=-1)
    with pytest.raises(ValueError, match="Received: time_warp_param=-2"):
        SpecAugment(time_warp_param=-2)
    with pytest.raises(ValueError, match="Received: time_warp_param=2.5"):
        SpecAugment(time_warp_param=2.5)
    with pytest.raises(ValueError, match="max_time_ratio"):
        SpecAugment(max_time_ratio=0.0)
    with pytest.raises(ValueError, match="mask_value"):
        SpecAugment(mask_value="median")


def test_round_trips_and_tflite(spec, tmp_path):
    checks.check_round_trips_and_tflite(SpecAugment(seed=1, name="spec_augment"), spec, tmp_path)


# ----------------------------------------------------------------------------- time warping


def _ramp(batch, frames, bins=1):
    """A spectrogram whose value is the frame index: after a warp, each value is its source position."""
    return np.broadcast_to(np.arange(frames, dtype="float32")[None, :, None], (batch, frames, bins)).copy()


def _warp_reference(x, center, displacement):
    """NumPy: anchors 0 -> 0, center + displacement -> center, τ-1 -> τ-1, linear between; then
    linear interpolation of every bin at the source positions."""
    frames = x.shape[1]
    out = np.empty_like(x, dtype="float64")
    for i in range(len(x)):
        source = np.interp(np.arange(frames), [0, center[i] + displacement[i], frames - 1], [0, center[i], frames - 1])
        flat = x[i].reshape(frames, -1).astype("float64")
        out[i] = np.stack([np.interp(source, np.arange(frames), flat[:, j]) for j in range(flat.shape[1])], 1).reshape(x[i].shape)
    return out


def test_time_warp_moves_the_centre_frame_exactly():
    frames = 40
    center, displacement = np.array([10, 10, 25, 20]), np.array([7, -6, 8, 0])
    y = np.asarray(time_warp(_ramp(4, frames, 3), center, displacement))
    assert (np.diff(y, axis=1) >= 0).all()  # monotonic non-decreasing along time
    np.testing.assert_array_equal(y[:, 0], 0.0)  # first and last frames unchanged
    np.testing.assert_array_equal(y[:, -1], frames - 1)
    for i in range(4):  # the output frame at w0 + w is the input frame w0, exactly
        np.testing.assert_array_equal(y[i, center[i] + displacement[i]], center[i])
    np.testing.assert_array_equal(y[3], _ramp(1, frames, 3)[0])  # w = 0: identity
    # Sample-rate "frames" (a SincConv1D output of 10 s at 16 kHz): no integer overflow, still exact.
    long = np.asarray(time_warp(_ramp(1, 160_000), 90_000, -4_000))[0, :, 0]
    assert long[86_000] == 90_000 and long[0] == 0 and long[-1] == 159_999 and (np.diff(long) >= 0).all()


def test_time_warp_matches_numpy_piecewise_linear():
    """Reference: `np.interp` (float64) of the anchor map and of each bin; random 4-D input."""
    x = np.random.default_rng(1).normal(size=(3, 37, 5, 2)).astype("float32")
    center, displacement = np.array([9, 18, 27]), np.array([-8, 4, 8])
    y = np.asarray(time_warp(x, center, displacement))
    assert y.shape == x.shape
    # 5e-5: the float32 source position (ulp 3.8e-6 near frame 36) times neighbour differences up to ~6.
    np.testing.assert_allclose(y, _warp_reference(x, center, displacement), atol=5e-5)
    np.testing.assert_array_equal(np.asarray(time_warp(x, center, 0 * displacement)), x)


def _recover_warps(y):
    """From warped ramps `[n, frames, 1]`: (center, displacement) per example, w = 0 where no kink."""
    y = y[:, :, 0].astype("float64")
    curvature = np.abs(y[:, 2:] - 2 * y[:, 1:-1] + y[:, :-2])
    # A kink of a warp by >= 1 frame changes the slope by >= 0.02 for τ <= 50 (float32 noise ~1e-5).
    warped = curvature.max(axis=1) > 1e-3
    target = curvature.argmax(axis=1) + 1
    center = y[np.arange(len(y)), target]
    return warped, center, target - center


def test_time_warp_statistics():
    """Layer draws, read back from warped ramps: w0 ~ U{W..τ-W-1}, w ~ U{-W..W} (Park et al. 2019)."""
    n, frames, W = 2000, 40, 8
    layer = SpecAugment(time_warp_param=W, freq_mask_param=0, time_mask_param=0, seed=5)
    x = _ramp(n, frames)
    y = np.asarray(layer(x, training=True))
    assert (np.diff(y, axis=1) >= 0).all()
    np.testing.assert_array_equal(y[:, 0], x[:, 0])
    np.testing.assert_array_equal(y[:, -1], x[:, -1])
    warped, center, displacement = _recover_warps(y)
    center, displacement = center[warped], displacement[warped]
    np.testing.assert_array_equal(center, np.round(center))  # the centre frame lands exactly on w0 + w
    assert center.min() == W and center.max() == frames - W - 1
    assert set(displacement.astype(int)) == set(range(-W, W + 1)) - {0}
    # P(w = 0) = 1/(2W+1); tolerance 4 binomial standard deviations.
    p = 1 / (2 * W + 1)
    assert abs((~warped).mean() - p) < 4 * np.sqrt(p * (1 - p) / n), (~warped).mean()
    # Means of the uniform draws (w0: (τ-1)/2, w: 0); tolerance 4 standard errors.
    m = warped.sum()
    assert abs(center.mean() - (frames - 1) / 2) < 4 * np.sqrt(((frames - 2 * W) ** 2 - 1) / 12 / m), center.mean()
    assert abs(displacement.mean()) < 4 * np.sqrt(((2 * W + 1) ** 2 - 1) / 12 / n), displacement.mean()
    # The layer's output equals the reference warp for the recovered draws.
    _, all_center, all_shift = _recover_warps(y)
    full_center, full_shift = np.where(warped, all_center, 0).astype(int), np.where(warped, all_shift, 0).astype(int)
    # 1e-5: ramp values < 40, so one float32 rounding of the source position (ulp 3.8e-6).
    np.testing.assert_allclose(y, _warp_reference(x, full_center, full_shift), atol=1e-5)


def test_time_warp_short_clips_are_not_warped():
    """τ <= 2W leaves no admissible centre: the clip passes through unwarped (masks off here)."""
    layer = SpecAugment(time_warp_param=10, freq_mask_param=0, time_mask_param=0, seed=0)
    for frames in (1, 2, 11, 20):
        x = np.random.default_rng(frames).normal(size=(8, frames, 4)).astype("float32")
        np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x)
    x = _ramp(64, 21)  # τ = 2W + 1: one admissible centre, w0 = W
    warped, center, _ = _recover_warps(np.asarray(layer(x, training=True)))
    assert warped.any() and (center[warped] == 10).all()


def test_time_warp_keeps_mask_draws_and_order():
    """Warping has its own seed: on a constant input (which warping leaves unchanged) the masks of a
    seed are the same with and without it, so W = 0 reproduces earlier results exactly."""
    x = np.ones((16, 50, 12), np.float32)
    plain = np.asarray(SpecAugment(freq_mask_param=4, time_mask_param=10, seed=3)(x, training=True))
    warped = np.asarray(SpecAugment(freq_mask_param=4, time_mask_param=10, time_warp_param=6, seed=3)(x, training=True))
    np.testing.assert_array_equal(plain, warped)
    # Masks come after the warp: masked time rows are whole rows of mask_value, never interpolated.
    y = np.asarray(SpecAugment(freq_mask_param=0, time_mask_param=10, time_warp_param=6, seed=4)(_ramp(16, 50, 3) + 1, training=True))
    assert ((y == 0).all(axis=2) | (y != 0).all(axis=2)).all() and (y == 0).any()


def test_time_warp_seeded_dynamic_frames_and_inference(spec):
    checks.check_seeded(SpecAugment, spec, freq_mask_param=0, time_mask_param=0, time_warp_param=5)
    checks.check_identity_at_inference(SpecAugment(time_warp_param=5, seed=1), spec)
    # Frames unknown when traced: the draws adapt to each call's τ (8 <= 2W: unwarped).
    layer = SpecAugment(time_warp_param=5, freq_mask_param=0, time_mask_param=0, seed=1)
    fn = tf.function(lambda x: layer(x, training=True), input_signature=[tf.TensorSpec([None, None, 16])])
    for frames in (8, 50, 90):
        x = _ramp(4, frames, 16)
        y = np.asarray(fn(x))
        assert y.shape == x.shape and (np.diff(y, axis=1) >= 0).all()
        assert np.array_equal(y, x) == (frames <= 10)
    y4 = np.asarray(SpecAugment(time_warp_param=5, freq_mask_param=0, time_mask_param=0, seed=2)(spec[..., None], training=True))
    assert y4.shape == spec.shape + (1,) and not np.array_equal(y4[..., 0], spec)


def test_time_warp_round_trips_and_tflite(spec, tmp_path):
    layer = SpecAugment(time_warp_param=5, seed=1, name="spec_augment_warp")
    assert layer.get_config()["time_warp_param"] == 5
    assert SpecAugment.from_config(layer.get_config()).time_warp_param == 5
    checks.check_round_trips_and_tflite(layer, spec, tmp_path)


_LEGACY_SCRIPT = """
import numpy as np
from tfaudio.backend import USE_LEGACY_KERAS, keras
from tfaudio.layers import AdditiveNoise, RandomGain, SpecAugment, TimeShift
assert USE_LEGACY_KERAS
x = np.random.default_rng(0).normal(size=(2, 800)).astype("float32")
for layer in (RandomGain(seed=1), AdditiveNoise(seed=1), TimeShift(sample_rate=8000, seed=1)):
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    assert not np.array_equal(np.asarray(layer(x, training=True)), x)
spec, s = SpecAugment(seed=1), x.reshape(2, 50, 16)
assert np.array_equal(np.asarray(spec(s, training=False)), s)
assert not np.array_equal(np.asarray(spec(s, training=True)), s)
warp = SpecAugment(seed=1, time_warp_param=5, freq_mask_param=0, time_mask_param=0)
assert np.array_equal(np.asarray(warp(s, training=False)), s)
assert not np.array_equal(np.asarray(warp(s, training=True)), s)
inputs = keras.Input((800,))
model = keras.Model(inputs, keras.layers.Dense(2)(RandomGain(seed=1)(inputs)))
model.compile("sgd", "mse")
model.fit(x, np.zeros((2, 2)), epochs=1, verbose=0)
print("OK", int(np.asarray(model.layers[1].seed_state)[1]))
"""


@pytest.mark.slow
def test_all_augmentation_layers_under_tf_keras():
    """The four augmentation layers (SpecAugment with and without time warping) under tf_keras (TF_USE_LEGACY_KERAS=1, the QAT path), in a
    subprocess because the Keras flavour is chosen at import."""
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", PYTHONPATH=repo, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _LEGACY_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK 1" in proc.stdout  # one training step advanced the seed state once
