"""SubSpectralNormalization: statistics per frequency sub-band, PyTorch's reference semantics, round trips, TFLite."""

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras
from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization


def _inputs(seed=0, shape=(3, 7, 10, 4)):
    rng = np.random.default_rng(seed)
    # Each frequency bin gets its own offset and scale, so sub-bands have distinct statistics.
    return (rng.normal(size=shape) * np.linspace(0.5, 4.0, shape[2])[None, None, :, None]
            + np.arange(shape[2])[None, None, :, None]).astype("float32")


def test_training_normalises_each_sub_band_and_channel():
    x = _inputs()
    layer = SubSpectralNormalization(num_groups=5)
    y = np.asarray(layer(x, training=True))
    bands = y.reshape(3, 7, 5, 2, 4)
    # Zero mean, unit (biased) variance over batch, time and the band's bins; 1e-5 is epsilon's effect.
    np.testing.assert_allclose(bands.mean(axis=(0, 1, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(bands.var(axis=(0, 1, 3)), 1.0, atol=1e-3)


def test_matches_torch_reference_semantics():
    # The reference: BatchNorm2d(C * S) on x.view(b, C * S, F / S, T) (torch [b, C, F, T] layout).
    torch = pytest.importorskip("torch")
    x = _inputs(1)
    groups, channels = 5, x.shape[-1]
    bn = torch.nn.BatchNorm2d(channels * groups)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 2.0, channels * groups))
        bn.bias.copy_(torch.linspace(-1.0, 1.0, channels * groups))
    t = torch.from_numpy(x.transpose(0, 3, 2, 1).copy())  # [b, C, F, T]
    b, c, f, tt = t.shape
    expected = bn(t.reshape(b, c * groups, f // groups, tt)).reshape(b, c, f, tt).detach().numpy().transpose(0, 3, 2, 1)

    layer = SubSpectralNormalization(num_groups=groups)
    layer.build(x.shape)
    # torch's channel index is c * S + s; ours is [s, c].
    layer.gamma.assign(bn.weight.detach().numpy().reshape(channels, groups).T)
    layer.beta.assign(bn.bias.detach().numpy().reshape(channels, groups).T)
    got = np.asarray(layer(x, training=True))
    # float32 moments computed in a different order: 1e-5.
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Moving statistics follow torch's update (momentum 0.1 there is 0.9 here; unbiased variance stored).
    np.testing.assert_allclose(np.asarray(layer.moving_mean), bn.running_mean.numpy().reshape(channels, groups).T, atol=1e-5)
    np.testing.assert_allclose(
        np.asarray(layer.moving_variance), bn.running_var.numpy().reshape(channels, groups).T, atol=1e-4
    )
    bn.eval()
    expected_eval = bn(t.reshape(b, c * groups, f // groups, tt)).reshape(b, c, f, tt).detach().numpy()
    np.testing.assert_allclose(np.asarray(layer(x)), expected_eval.transpose(0, 3, 2, 1), atol=1e-5)


def test_one_group_is_batch_normalization():
    x = _inputs(2)
    ssn = SubSpectralNormalization(num_groups=1, epsilon=1e-3)
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    np.testing.assert_allclose(np.asarray(ssn(x, training=True)), np.asarray(bn(x, training=True)), atol=1e-5)


def test_round_trips_and_tflite(tmp_path):
    x = _inputs(3)
    inputs = keras.Input(shape=x.shape[1:])
    layer = SubSpectralNormalization(num_groups=5, name="ssn")
    model = keras.Model(inputs, layer(inputs))
    layer(x, training=True)  # moving statistics away from 0 / 1
    harness.check_config_round_trip(layer, x)
    harness.check_keras_round_trip(model, x, tmp_path)
    # Float TFLite: a multiply and an add by the same constants, 1e-5.
    harness.check_tflite(model, x, tmp_path, atol=1e-5, name="ssn")
    # Full int8 (float I/O): outputs within 2 quantisation steps of their range.
    got, expected, ops = harness.check_tflite(model, x, tmp_path, quantize="int8", representative_data=x, name="ssn")
    step = (expected.max() - expected.min()) / 255
    assert np.abs(got - expected).max() <= 2 * step + 1e-6
    assert "MUL" in ops and "ADD" in ops


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: num_groups="):
        SubSpectralNormalization(num_groups=0)
    with pytest.raises(ValueError, match="Received: momentum="):
        SubSpectralNormalization(momentum=1.0)
    with pytest.raises(ValueError, match="num_groups"):
        SubSpectralNormalization(num_groups=3)(np.zeros((1, 2, 10, 4), "float32"))
