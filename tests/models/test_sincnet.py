"""SincNet model: architecture sizes, registry, serialization, batch invariance, TFLite, training."""

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras
from tfaudio.layers import PeakNormalization, SincConv1D
from tfaudio.models import available, build
from tfaudio.models.sincnet import SincNet

SAMPLE_RATE = 8000
CLIP_SECONDS = 0.25
TINY = dict(
    sinc_filters=8,
    sinc_kernel_size=51,
    conv_filters=(8, 8),
    conv_kernel_sizes=(5, 5),
    pool_sizes=(3, 3, 3),
    dense_units=(32, 32),
)


def _waveforms(fsdd_clips, count=7, samples=int(SAMPLE_RATE * CLIP_SECONDS)):
    """`count` real FSDD clips, centre-cropped to `samples` (the loud middle of each digit)."""
    out = np.zeros((count, samples), np.float32)
    for i in range(count):
        clip = fsdd_clips[i % len(fsdd_clips)]
        clip = clip[max(0, (len(clip) - samples) // 2) :][:samples]
        out[i, : len(clip)] = clip
    return out


def _tiny(**overrides):
    return build("sincnet", 8, sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, **{**TINY, **overrides})


@pytest.fixture(scope="module")
def trained_tiny(fsdd_clips):
    """A tiny SincNet after a few training steps on 8 real clips (digits 0-7), so logits are not random."""
    keras.utils.set_random_seed(0)
    model = _tiny()
    x, y = _waveforms(fsdd_clips, count=8), np.arange(8)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [float(model.train_on_batch(x, y)) for _ in range(5)]
    return model, losses


def test_registered_and_built_by_name():
    assert "sincnet" in available()
    model = _tiny()
    assert isinstance(model, SincNet)
    assert model.input_shape == (None, 2000) and model.output_shape == (None, 8)
    assert isinstance(model.get_layer("sinc_conv"), SincConv1D)


def test_paper_configuration():
    # The paper's 200 ms windows at 16 kHz: the reference (SincNet_TIMIT.cfg, dnn_models.py)
    # gives 80 x 983 -> 60 x 326 -> 60 x 107 frames, 6420 features into 3 x 2048 dense.
    # Default sizes are the paper's; flatten, per-channel layer norm and |.| / leaky ReLU are opt-in.
    model = build(
        "sincnet",
        462,
        sample_rate=16000,
        clip_seconds=0.2,
        global_pooling=None,
        conv_norm="time",
        conv_activation="leaky_relu",
    )
    assert isinstance(model.get_layer("norm_sinc"), keras.layers.LayerNormalization)
    assert model.get_layer("norm_sinc").axis in (1, [1])
    sinc = model.get_layer("sinc_conv")
    assert (sinc.filters, sinc.kernel_size, sinc.stride) == (80, 251, 1)
    assert model.get_layer("pool_sinc").output.shape[1:] == (983, 80)
    assert model.get_layer("pool_1").output.shape[1:] == (326, 60)
    assert model.get_layer("pool_2").output.shape[1:] == (107, 60)
    assert model.get_layer("flatten").output.shape[1:] == (6420,)
    assert [model.get_layer(f"dense_{i}").units for i in (1, 2, 3)] == [2048, 2048, 2048]
    assert model.get_layer("conv_1").kernel.shape == (5, 80, 60)
    assert model.output_shape == (None, 462)


def test_global_pooling_option():
    model = _tiny(global_pooling="max")
    assert model.get_layer("global_pool").output.shape[1:] == (8,)
    assert model.get_layer("dense_1").kernel.shape == (8, 32)


def test_input_norm_options(fsdd_clips):
    x = _waveforms(fsdd_clips, count=3)
    model = _tiny()
    assert isinstance(model.get_layer("input_norm"), PeakNormalization)  # the default
    # Peak normalisation makes the model independent of the recording level.
    np.testing.assert_allclose(model.predict(x * 0.05, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    standard = _tiny(input_norm="standard")
    assert isinstance(standard.get_layer("input_norm"), keras.layers.LayerNormalization)
    assert "input_norm" not in [layer.name for layer in _tiny(input_norm=None).layers]
    # Configs saved before "peak" existed stored a bool: True was standardisation.
    assert _tiny(input_norm=True).get_config()["input_norm"] == "standard"
    assert _tiny(input_norm=False).get_config()["input_norm"] is None


def test_relu6_default_fuses_its_activations_into_int8_convs(fsdd_clips, tmp_path):
    # conv -> batch norm -> ReLU6 -> pool: TFLite folds the norm and fuses the ReLU6 into each
    # CONV_2D, so every conv's int8 output spans [0, 6] instead of the speech's dynamic range.
    model = _tiny()
    assert model.get_config()["conv_activation"] == "relu6"
    assert "sinc_abs" not in [layer.name for layer in model.layers]
    x = _waveforms(fsdd_clips, count=8)
    _, _, ops = harness.check_tflite(model, x, tmp_path, quantize="int8", representative_data=x, name="relu6")
    assert "CONV_2D" in ops and "RELU6" not in ops and "ABS" in ops, ops  # ABS: the input's peak


def test_configs_saved_before_conv_activation_keep_leaky_relu():
    config = _tiny().get_config()
    del config["conv_activation"]
    model = SincNet.from_config(config)
    assert model.conv_activation == "leaky_relu"
    assert isinstance(model.get_layer("sinc_abs"), keras.layers.Layer)


def test_config_and_keras_round_trip(trained_tiny, fsdd_clips, tmp_path):
    model, _ = trained_tiny
    x = _waveforms(fsdd_clips)
    clone = harness.check_config_round_trip(model, x)
    assert isinstance(clone, SincNet) and clone.get_config() == model.get_config()
    restored = harness.check_keras_round_trip(model, x, tmp_path)
    assert isinstance(restored, SincNet)


def test_batch_invariance(trained_tiny, fsdd_clips):
    model, _ = trained_tiny
    harness.check_batch_invariance(model, _waveforms(fsdd_clips, count=7), atol=1e-5)


def test_training_lowers_the_loss(trained_tiny):
    _, losses = trained_tiny
    assert losses[-1] < losses[0], losses


# TFLite float and full int8 (peak normalisation inside the int8 graph): tests/models/test_model_harness.py.


def test_paper_layer_norm_variant_converts_to_float_tflite(fsdd_clips, tmp_path):
    # conv_norm="time" (the reference's layer norm) stays available; it converts with
    # builtins only, but is not int8-friendly (see the SincNet docstring).
    model = _tiny(conv_norm="time", conv_activation="leaky_relu", global_pooling="avg")
    x = _waveforms(fsdd_clips, count=4)
    harness.check_tflite(model, x, tmp_path, atol=1e-4, name="sincnet_time")  # float32, other op order


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"conv_kernel_sizes": (5,)}, "conv_kernel_sizes"),
        ({"pool_sizes": (3, 3)}, "pool_sizes"),
        ({"global_pooling": "mean"}, "Received: global_pooling='mean'"),
        ({"dropout": 1.0}, "Received: dropout=1.0"),
        ({"conv_norm": "layer"}, "Received: conv_norm='layer'"),
        ({"input_norm": "rms"}, "Received: input_norm='rms'"),
        ({"conv_activation": "gelu"}, "Received: conv_activation='gelu'"),
        ({"conv_activation": "relu6", "conv_norm": "time"}, "needs conv_norm"),
        ({"pool_sizes": (30, 30, 30)}, "too short"),
        ({"sinc_kernel_size": 50}, "Received: kernel_size=50"),
    ],
)
def test_bad_arguments(overrides, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**overrides)
