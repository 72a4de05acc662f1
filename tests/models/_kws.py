"""Checks shared by the keyword-spotting model tests (ds_cnn, bc_resnet), on real Speech Commands clips."""

import os
import pathlib

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras

CLASSES = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_unknown_", "_silence_")


def speech_commands_root():
    """$TFAUDIO_SPEECH_COMMANDS, else ../shared/data/speech_commands next to the repository."""
    env = os.environ.get("TFAUDIO_SPEECH_COMMANDS")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech_commands"


def speech_commands_clips():
    """One real 1 s 16 kHz clip per class (the first file of each class folder, sorted), float32 [12, 16000]."""
    import soundfile as sf

    root = speech_commands_root()
    if not (root / "yes").is_dir():
        pytest.skip(f"Speech Commands not found at {root} (set TFAUDIO_SPEECH_COMMANDS)")
    clips = []
    for name in CLASSES:
        path = sorted((root / name).glob("*.wav"))[0]
        audio, rate = sf.read(path, dtype="float32")
        assert rate == 16000 and audio.shape == (16000,), path
        clips.append(audio)
    return np.stack(clips)


def fit_steps(model, x, steps=2):
    """A few eager Adam steps on `x` (labels 0..n-1), so that batch-norm statistics and logits leave their init."""
    import tensorflow as tf

    y = np.arange(len(x)) % model.output.shape[-1]
    optimizer = keras.optimizers.Adam(3e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
        losses.append(float(loss))
    return losses


def check_kws_model(model, x):
    """Training steps, shapes, batch invariance, config round trip.

    `.keras` saving and the float / int8 TFLite comparisons of every registered
    model are in tests/models/test_model_harness.py.
    """
    losses = fit_steps(model, x)
    assert np.all(np.isfinite(losses))
    logits = np.asarray(model(x, training=False))
    assert logits.shape == (len(x), model.output.shape[-1])
    # float32 reordering across batch sizes: 1e-5.
    harness.check_batch_invariance(model, x, atol=1e-5)
    harness.check_config_round_trip(model, x)


def check_causal(build, x, untouched, time_padding="causal"):
    """A change in the clip's last 0.25 s (samples 12000 on) leaves the first `untouched` pre-pool frames unchanged.

    Frontend frames are not centred with "causal" and "valid": frame k reads samples up to
    160 k + 496 (a 480-sample window centred in 512), so frames k >= 72 see the change; each test
    works out from its convolutions which output frames read only frames < 72.
    """
    model = build(time_padding=time_padding, input_norm=None)  # a clip-wide peak would see the change
    features = keras.Model(model.inputs, model.get_layer("avg_pool").input)
    changed = x.copy()
    changed[:, 12000:] = np.random.default_rng(0).uniform(-0.5, 0.5, size=changed[:, 12000:].shape)
    a = np.asarray(features(x, training=False))
    b = np.asarray(features(changed, training=False))
    np.testing.assert_array_equal(a[:, :untouched], b[:, :untouched])
    # The next frame reads a changed sample (so the bound is tight).
    assert not np.array_equal(a[:, untouched], b[:, untouched])
