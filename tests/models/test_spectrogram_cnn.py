"""SpectrogramClassifier: the shared log-mel -> backbone -> head graph, weights loading, keras.applications models."""

import hashlib
import os

import numpy as np
import pytest

from tests.harness import (
    check_batch_invariance,
    check_config_round_trip,
    check_keras_round_trip,
    check_tflite,
)
from tfaudio.backend import keras
from tfaudio.export import TFLiteModel
from tfaudio.models import available, build
from tfaudio.models.spectrogram_cnn import (
    ARCHITECTURES,
    SpectrogramClassifier,
    UtteranceNormalization,
)

SAMPLE_RATE = 8000
# Small but structurally complete: 1 s FSDD clips, 32 ms hop and 32 mel bins give a
# 32x32 spectrogram image (backbones with larger minimum sizes resize it in-graph).
SMALL = dict(sample_rate=SAMPLE_RATE, clip_seconds=1.0, frame_step=256, num_mel_bins=32)
TINY_SQUEEZENET = dict(SMALL, width_multiplier=0.25)

pytestmark = pytest.mark.usefixtures("fixed_seed")


def clips_batch(clips, samples=SAMPLE_RATE):
    """Real FSDD clips zero-padded/trimmed to `samples`: float32 [len(clips), samples]."""
    out = np.zeros((len(clips), samples), np.float32)
    for i, clip in enumerate(clips):
        out[i, : min(samples, len(clip))] = clip[:samples]
    return out


def fit_one_step(model, x, y):
    """One optimiser step on (x, y); returns the loss."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    # No XLA: compiling the training graph of a 121-layer network costs minutes for one step.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, jit_compile=False)
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    return history.history["loss"][-1]


def check_spectrogram_model(name, overrides, clips, tmp_path, num_classes=10, config_round_trip=True):
    """The checks of a registered spectrogram model on real FSDD clips that the model harness does not make.

    `.keras` saving and the float / int8 TFLite comparisons of every registered
    model are in tests/models/test_model_harness.py. `config_round_trip=False`
    skips `from_config(get_config())` for the big keras.applications models (the
    harness's `.keras` round trip rebuilds them from the same config).
    """
    x = clips_batch(clips)
    y = np.arange(len(x)) % num_classes
    model = build(name, num_classes, **overrides)
    model.adapt_normalization(x)  # inference-mode BatchNorm on data statistics, not on its 0/1 init

    # Output shape, batch invariance (float32 reordering across batch sizes: 1e-5).
    assert tuple(model(x, training=False).shape) == (len(x), num_classes)
    check_batch_invariance(model, x, atol=1e-5)
    if config_round_trip:
        check_config_round_trip(model, x)

    # One fit step changes the weights and gives a finite loss.
    before = model.get_layer("logits").get_weights()[0].copy()
    loss = fit_one_step(model, x, y)
    assert np.isfinite(loss)
    assert not np.array_equal(before, model.get_layer("logits").get_weights()[0])
    return model


def test_all_six_names_registered():
    assert {"alexnet", "vgg16", "inception_v3", "resnet50", "densenet121", "squeezenet"} <= set(available())
    assert set(ARCHITECTURES) == {"alexnet", "vgg16", "inception_v3", "resnet50", "densenet121", "squeezenet"}


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(normalization="layer"), "normalization"),
        (dict(channel_adapter="rgb"), "channel_adapter"),
        (dict(pooling="sum"), "pooling"),
        (dict(dropout=1.0), "dropout"),
        (dict(image_size=(16, 16)), "image_size"),
        (dict(local_response_normalization=True), "local_response_normalization"),
        (dict(weights=3), "weights"),
        (dict(input_norm="rms"), "input_norm"),
    ],
)
def test_bad_arguments_raise_value_error(overrides, match):
    with pytest.raises(ValueError, match=f"Received: {match}="):
        build("squeezenet", 10, **SMALL, **overrides)


def test_keras_applications_keep_real_widths():
    with pytest.raises(ValueError, match="width_multiplier"):
        build("vgg16", 10, **SMALL, width_multiplier=0.5)
    with pytest.raises(ValueError, match="architecture"):
        SpectrogramClassifier("lenet", 10)


def test_imagenet_weights_missing_file_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    # No network in tests: the origin is a file:// URL that does not exist.
    monkeypatch.setattr(ARCHITECTURES["resnet50"], "imagenet_url", (tmp_path / "absent.h5").as_uri())
    expected_file = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(FileNotFoundError) as info:
        build("resnet50", 10, **SMALL, weights="imagenet")
    message = str(info.value)
    assert expected_file in message and os.path.join(str(tmp_path), "models") in message
    # ImageNet weights need 3 channels; squeezenet/alexnet have none in keras.applications.
    with pytest.raises(ValueError, match="3-channel"):
        build("resnet50", 10, **SMALL, weights="imagenet", channel_adapter="none")
    with pytest.raises(ValueError, match="No ImageNet weights"):
        build("squeezenet", 10, **SMALL, weights="imagenet")


def test_missing_weights_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights="):
        build("squeezenet", 10, **SMALL, weights=str(tmp_path / "nope.weights.h5"))


def _copy_non_backbone_weights(source, target):
    for layer in source.layers:
        if layer.name != "backbone" and layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())


@pytest.mark.parametrize("adapter", ["repeat", "conv"])
def test_weights_path_loads_backbone_into_channel_adapter_model(adapter, fsdd_clips, tmp_path):
    x = clips_batch(fsdd_clips)
    source = build("squeezenet", 10, **TINY_SQUEEZENET, channel_adapter=adapter)
    fit_one_step(source, x, np.arange(len(x)))  # weights (and BatchNorm statistics) away from their init
    path = str(tmp_path / "backbone.weights.h5")
    source.backbone.save_weights(path)

    fresh = build("squeezenet", 10, **TINY_SQUEEZENET, channel_adapter=adapter, weights=path)
    assert fresh.backbone.inputs[0].shape[-1] == 3
    for a, b in zip(source.backbone.get_weights(), fresh.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    _copy_non_backbone_weights(source, fresh)
    # Same graph and identical weights: outputs agree to float32 rounding.
    np.testing.assert_allclose(fresh.predict(x, verbose=0), source.predict(x, verbose=0), atol=1e-6, rtol=0)
    # Loaded weights are an initialisation, not part of the config.
    assert fresh.get_config()["weights"] is None


def test_weights_from_wrong_architecture_raise(tmp_path):
    path = str(tmp_path / "other.weights.h5")
    build("squeezenet", 10, **dict(SMALL, width_multiplier=0.5), channel_adapter="repeat").backbone.save_weights(path)
    with pytest.raises(ValueError, match="Could not load the weights file"):
        build("squeezenet", 10, **TINY_SQUEEZENET, channel_adapter="repeat", weights=path)


def _write_legacy_h5(model, path):
    """Writes weights in the legacy HDF5 layout keras.applications' ImageNet files use."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.mark.slow
def test_imagenet_weights_load_from_keras_cache(tmp_path, monkeypatch):
    # Stand-in for the real ImageNet file: a VGG16 no-top backbone's weights, written
    # in the legacy .h5 layout under keras.applications' file name in the cache folder.
    reference = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    cache = tmp_path / "models"
    cache.mkdir()
    stand_in = cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    _write_legacy_h5(reference, str(stand_in))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    # The cache is checked by MD5 (as keras.applications does): the stand-in's own hash.
    monkeypatch.setattr(ARCHITECTURES["vgg16"], "imagenet_md5", hashlib.md5(stand_in.read_bytes()).hexdigest())

    model = build("vgg16", 10, **SMALL, weights="imagenet", freeze_backbone=True)
    assert model.get_layer("channel_adapter").output.shape[-1] == 3  # "repeat" by default with weights
    assert not model.backbone.trainable and model.get_config()["freeze_backbone"] is True
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype(np.float32)
    # Same architecture and weights: backbone features agree to float32 rounding.
    np.testing.assert_allclose(
        model.backbone(images, training=False), reference(images, training=False), atol=1e-5, rtol=0
    )

    # The same legacy file also loads as weights=PATH.
    by_path = build("vgg16", 10, **SMALL, weights=str(cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    for a, b in zip(by_path.backbone.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_adapt_normalization_standardises_mel_bins(fsdd_clips):
    x = clips_batch(fsdd_clips)
    model = build("squeezenet", 10, **TINY_SQUEEZENET).adapt_normalization(x)
    normalised = keras.Model(model.inputs, model.get_layer("normalization").output).predict(x, verbose=0)
    # Inference-mode BatchNorm with the data's own statistics (epsilon 1e-3 in the variance): ~0 mean, ~1 std per bin.
    np.testing.assert_allclose(normalised.mean(axis=(0, 1)), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=(0, 1)), 1.0, atol=1e-2)
    utterance = build("squeezenet", 10, **TINY_SQUEEZENET, normalization="utterance")
    assert utterance.adapt_normalization(x) is utterance


def test_freeze_backbone_trains_head_only(fsdd_clips):
    x = clips_batch(fsdd_clips)
    model = build("squeezenet", 10, **TINY_SQUEEZENET, freeze_backbone=True)
    assert model.get_layer("backbone") is model.backbone
    assert not model.backbone.trainable
    frozen = [w.copy() for w in model.backbone.get_weights()]
    fit_one_step(model, x, np.arange(len(x)))
    for a, b in zip(frozen, model.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.get_config()["freeze_backbone"] is True

    # Stage two of fine-tuning: unfreeze, recompile, train everything.
    head_only = len(model.trainable_weights)
    model.backbone.trainable = True
    assert len(model.trainable_weights) == head_only + len(model.backbone.trainable_weights)
    fit_one_step(model, x, np.arange(len(x)))
    assert any(not np.array_equal(a, b) for a, b in zip(frozen, model.backbone.get_weights()))
    assert model.get_config()["freeze_backbone"] is False


def test_utterance_normalization_matches_numpy():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(3, 20, 8)).astype(np.float32)
    got = UtteranceNormalization(epsilon=1e-5)(x).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-5)
    # float32 moments vs numpy's: 1e-5 on unit-scale outputs.
    np.testing.assert_allclose(got, (x - mean) / std, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="Received: epsilon="):
        UtteranceNormalization(epsilon=0.0)


@pytest.mark.parametrize("normalization", ["utterance", None])
def test_other_normalizations_convert(normalization, fsdd_clips, tmp_path):
    x = clips_batch(fsdd_clips)
    model = build("squeezenet", 10, **TINY_SQUEEZENET, normalization=normalization, pooling="max")
    check_keras_round_trip(model, x, tmp_path)
    check_tflite(model, x, tmp_path, atol=1e-3)  # float32 kernels only differ: 1e-3 on logits
    check_tflite(model, x, tmp_path, quantize="int8", representative_data=x)


def test_peak_input_norm_is_level_independent_and_inside_the_int8_graph(fsdd_clips, tmp_path):
    x = clips_batch(fsdd_clips)
    model = build("squeezenet", 10, **TINY_SQUEEZENET)
    model.adapt_normalization(x)
    assert model.get_config()["input_norm"] == "peak"  # the default
    # The log-mel of a clip 40 dB quieter is the same once the clip is peak-normalised.
    np.testing.assert_allclose(model.predict(x * 0.01, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    check_keras_round_trip(model, x, tmp_path)
    check_tflite(model, x, tmp_path, atol=1e-3)  # float32 kernels only differ: 1e-3 on logits
    check_tflite(model, x, tmp_path, quantize="int8", representative_data=x)
    runner = TFLiteModel(str(tmp_path / "model_int8.tflite"))
    # The graph normalises in float before quantising (no runner-side key): a quiet copy
    # gives the loud clips' int8 logits.
    assert "input_normalization" not in runner.metadata
    np.testing.assert_allclose(runner(x * 0.01), runner(x), atol=1e-5)


def test_configs_saved_before_input_norm_feed_the_raw_waveform():
    config = build("squeezenet", 10, **TINY_SQUEEZENET).get_config()
    del config["input_norm"]
    model = SpectrogramClassifier.from_config(config)
    assert model.input_norm is None and "input_norm" not in [layer.name for layer in model.layers]
    assert "input_norm" not in [layer.name for layer in build("squeezenet", 10, **TINY_SQUEEZENET, input_norm=None).layers]


def test_image_size_resizes_in_graph(fsdd_clips, tmp_path):
    x = clips_batch(fsdd_clips)
    model = build("squeezenet", 10, **TINY_SQUEEZENET, image_size=(48, 40), channel_adapter="conv")
    assert tuple(model.get_layer("resize").output.shape[1:]) == (48, 40, 1)
    assert tuple(model.backbone.inputs[0].shape[1:]) == (48, 40, 3)
    _, _, ops = check_tflite(model, x, tmp_path, atol=1e-3)  # float32 kernels only differ: 1e-3 on logits
    assert "RESIZE_BILINEAR" in ops


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16", "inception_v3", "resnet50", "densenet121"])
def test_keras_applications_model(name, fsdd_clips, tmp_path):
    # Real architectures on a 32x32 spectrogram (InceptionV3 resizes to its 75x75 minimum).
    model = check_spectrogram_model(name, SMALL, fsdd_clips[:4], tmp_path, config_round_trip=False)
    side = max(32, ARCHITECTURES[name].min_size)
    assert tuple(model.backbone.inputs[0].shape[1:]) == (side, side, 1)
