"""The training wrapper (augmentation placement, mixed precision) and `train` on small in-memory data."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests import harness
from tfaudio.backend import keras
from tfaudio.layers import LogMelSpectrogram, SpecAugment
from tfaudio.training import TrainConfig, train, training_model

RATE, SAMPLES, CLASSES = 8000, 2000, 3


def tiny_logmel_model(num_classes=CLASSES):
    """Waveform -> LogMelSpectrogram -> small conv head (a stand-in for the spectrogram models)."""
    inputs = keras.Input(shape=(SAMPLES,), name="waveform")
    x = LogMelSpectrogram(sample_rate=RATE, fft_length=256, frame_step=80, num_mel_bins=16, name="log_mel")(inputs)
    x = keras.layers.Reshape((-1, 16, 1))(x)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny_logmel")


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n).astype("int32")
    t = np.arange(SAMPLES) / RATE
    x = 0.5 * np.sin(2 * np.pi * (y[:, None] + 1) * 600 * t) + 0.05 * rng.normal(size=(n, SAMPLES))
    return x.astype("float32"), y


def datasets(batch):
    x, y = synthetic(64, 0)
    xt, yt = synthetic(24, 1)
    return (
        tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(batch),
        tf.data.Dataset.from_tensor_slices((xt, yt)).batch(batch),
        ["a", "b", "c"],
    )


def _config(tmp_path, **kwargs):
    base = dict(model="tiny", out=str(tmp_path / "run"), epochs=2, sample_rate=RATE, clip_seconds=SAMPLES / RATE,
                batch_size=16, learning_rate=3e-3, strategy="one_device", verbose=0)
    base.update(kwargs)
    return TrainConfig(**base)


def test_spec_augment_follows_the_frontend_and_vanishes_at_inference(tmp_path):
    net = tiny_logmel_model()
    config = _config(tmp_path, spec_augment=True, time_warp_param=3, gain_db=6.0, noise=True, time_shift_seconds=0.02)
    wrapper, _ = training_model(net, config)
    x, _ = synthetic(4, 2)
    names = [layer.name for layer in wrapper.layers]
    assert names[1:4] == ["time_shift", "random_gain", "additive_noise"]
    inner = wrapper.layers[4]
    inner_names = [layer.name for layer in inner.layers]
    assert inner_names.index("spec_augment") == inner_names.index("log_mel") + 1
    spec = inner.get_layer("spec_augment")
    assert isinstance(spec, SpecAugment)
    # T = 0.1 s of log-mel frames (frame_step 80 at 8 kHz = 100 frames/s) -> 10 frames.
    assert spec.time_mask_param == 10
    assert spec.time_warp_param == 3  # frames, passed through as given
    # Weights are shared with the registry model, and inference is the plain model, exactly.
    assert inner.get_layer("conv") is net.get_layer("conv")
    np.testing.assert_array_equal(np.asarray(wrapper(x, training=False)), np.asarray(net(x, training=False)))
    assert not np.allclose(np.asarray(wrapper(x, training=True)), np.asarray(net(x, training=False)))
    # The whole training model (all four augmentations inside) converts to builtin-only TFLite;
    # 1e-4: float32 log-mel + conv, TFLite vs TF kernels.
    harness.check_tflite(wrapper, x, tmp_path, atol=1e-4, name="wrapper")


def test_mixed_precision_keeps_frontend_and_logits_float32(tmp_path):
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        net = tiny_logmel_model()
        wrapper, sync_back = training_model(net, _config(tmp_path, spec_augment=True))
    finally:
        keras.mixed_precision.set_global_policy(policy)
    inner = wrapper.layers[1]
    assert inner.get_layer("log_mel").compute_dtype == "float32"
    assert inner.get_layer("conv").compute_dtype == "float16"
    assert inner.get_layer("spec_augment").compute_dtype == "float32"
    x, _ = synthetic(2, 3)
    assert wrapper(x).dtype == tf.float32
    # Re-created frontends carry the original weights and copy back after training.
    for a, b in zip(inner.get_layer("log_mel").get_weights(), net.get_layer("log_mel").get_weights()):
        np.testing.assert_array_equal(a, b)
    sync_back()


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(mixup=0.4, spec_augment=True, time_warp_param=2, schedule="cosine", warmup_epochs=0.5),
        dict(mixed_precision="mixed_bfloat16", gain_db=3.0),
    ],
    ids=["plain", "mixup_specaugment_cosine", "mixed_bfloat16"],
)
def test_train_writes_the_run_folder(tmp_path, options):
    config = _config(tmp_path, **options)
    result = train(config, data=datasets, model=lambda n: tiny_logmel_model(n))
    out = tmp_path / "run"
    for name in ("model.keras", "labels.json", "metrics.json", "run_config.json", "checkpoints/last.keras",
                 "checkpoints/best.keras", "events.jsonl"):
        assert (out / name).is_file(), name
    assert list((out / "logs").iterdir())  # TensorBoard event files
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [0, 1]
    assert metrics["test"] == result["test"] and 0.0 <= metrics["test"]["accuracy"] <= 1.0
    run_config = json.loads((out / "run_config.json").read_text())
    assert run_config["sample_rate"] == RATE and run_config["labels"] == ["a", "b", "c"]
    for key, value in options.items():
        assert run_config[key] == value
    saved = keras.models.load_model(out / "model.keras")
    assert saved.name == "tiny_logmel" and all(l.dtype_policy.name == "float32" for l in saved.layers)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    if "schedule" in options:  # warm-up then cosine: the logged learning rate falls in epoch 2
        lrs = [r["learning_rate"] for r in metrics["history"]]
        assert lrs[1] < lrs[0] <= config.learning_rate


def test_bad_config_values(tmp_path):
    with pytest.raises(ValueError, match="strategy"):
        train(_config(tmp_path, strategy="horovod"), data=datasets)
    with pytest.raises(ValueError, match="freeze_backbone"):
        train(_config(tmp_path, fine_tune_epochs=2), data=datasets)
    with pytest.raises(ValueError, match="spec_augment"):
        train(_config(tmp_path, time_warp_param=5), data=datasets)


def tiny_backbone_model(num_classes=CLASSES):
    """A model whose feature extractor is the sub-model `backbone` (like the spectrogram CNNs)."""
    spec = keras.Input(shape=(SAMPLES // 80 + 1, 16, 1))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="bb_conv")(spec))
    backbone = keras.Model(spec, features, name="backbone")
    inputs = keras.Input(shape=(SAMPLES,))
    x = LogMelSpectrogram(sample_rate=RATE, fft_length=256, frame_step=80, num_mel_bins=16, name="log_mel")(inputs)
    x = backbone(keras.layers.Reshape((-1, 16, 1))(x))
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(x), name="tiny_backbone")


@pytest.mark.slow
def test_two_stage_fine_tuning(tmp_path):
    """--freeze-backbone trains the head only; --fine-tune-epochs then trains the backbone too."""
    keras.utils.set_random_seed(0)
    initial = tiny_backbone_model()
    before = initial.get_layer("backbone").get_weights()

    def build(n):
        model = tiny_backbone_model(n)
        model.set_weights(initial.get_weights())
        return model

    _, frozen = train(_config(tmp_path / "a", epochs=1, freeze_backbone=True), data=datasets, model=build, return_model=True)
    for a, b in zip(before, frozen.get_layer("backbone").get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(frozen.get_layer("logits").get_weights()[0], initial.get_layer("logits").get_weights()[0])

    config = _config(tmp_path / "b", epochs=1, freeze_backbone=True, fine_tune_epochs=1, fine_tune_learning_rate=1e-3)
    result, tuned = train(config, data=datasets, model=build, return_model=True)
    assert [(r["stage"], r["epoch"]) for r in result["history"]] == [("train", 0), ("fine_tune", 1)]
    assert result["history"][1]["learning_rate"] == pytest.approx(1e-3)
    assert not np.array_equal(tuned.get_layer("backbone").get_weights()[0], before[0])


def test_noise_dir_reaches_the_noise_layer(tmp_path):
    import soundfile as sf

    from tfaudio.training.model_wrapping import waveform_augmentations

    (tmp_path / "noise").mkdir()
    sf.write(tmp_path / "noise" / "n.wav", np.random.default_rng(0).normal(size=4000).astype("float32") * 0.1, 8000)
    layers = waveform_augmentations(TrainConfig(model="x", sample_rate=RATE, noise_dir=str(tmp_path / "noise"),
                                                min_snr_db=12.0, max_snr_db=18.0, augment_probability=0.5))
    assert [l.name for l in layers] == ["additive_noise"]
    noise = layers[0]
    assert noise.noise_dir == str(tmp_path / "noise") and noise._noise_bank.shape == (4000,)
    assert (noise.min_snr_db, noise.max_snr_db, noise.probability) == (12.0, 18.0, 0.5)


def test_extra_callbacks_see_every_epoch_after_the_checkpoints(tmp_path):
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # tfaudio's own callbacks ran first: this epoch's checkpoint and log row exist.
            last = tmp_path / "run" / "checkpoints" / "last.keras"
            rows = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
            seen.append((epoch, last.is_file(), rows[-1]["epoch"], "val_loss" in (logs or {})))

    train(_config(tmp_path, epochs=3), data=datasets, model=lambda n: tiny_logmel_model(n), callbacks=[Probe()])
    assert seen == [(0, True, 0, True), (1, True, 1, True), (2, True, 2, True)]
