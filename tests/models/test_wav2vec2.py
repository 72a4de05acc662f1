"""wav2vec 2.0 layers, backbone and classifier: shapes, masking, serialization, TFLite."""

import numpy as np
import pytest
import tensorflow as tf

from tfaudio.backend import keras
from tests.harness import check_batch_invariance, check_config_round_trip, check_keras_round_trip
from tfaudio.models import available, build
from tfaudio.models.wav2vec2 import Wav2Vec2Backbone, Wav2Vec2Classifier
from tfaudio.models.wav2vec2.layers import (
    Wav2Vec2FeatureEncoder,
    Wav2Vec2Masking,
    Wav2Vec2PositionalConvEmbedding,
    compute_span_mask,
    conv_output_length,
    grouped_conv1d,
)

SAMPLE_RATE = 8000
CLIP_SECONDS = 0.5
TINY = dict(
    hidden_dim=32,
    num_layers=2,
    num_heads=2,
    intermediate_dim=48,
    conv_dims=[16, 32, 32],
    conv_kernels=[10, 3, 3],
    conv_strides=[5, 2, 2],
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
    classifier_proj_size=8,
)


def clips(fsdd_clips, count=4, samples=int(SAMPLE_RATE * CLIP_SECONDS)):
    """Real FSDD clips cropped/zero-padded to `samples`."""
    out = np.zeros([count, samples], np.float32)
    for i, clip in enumerate(fsdd_clips[:count]):
        out[i, : min(samples, len(clip))] = clip[:samples]
    return out


def tiny_backbone(**kwargs):
    args = {k: v for k, v in TINY.items() if k != "classifier_proj_size"}
    args.update(kwargs)
    return Wav2Vec2Backbone(**args)


def test_registered_names():
    assert {"wav2vec2_base", "wav2vec2_large"} <= set(available())


@pytest.mark.slow
def test_presets_have_published_sizes():
    # Parameter counts of facebook/wav2vec2-base (94.4M) and -large-lv60 (315.4M) backbones;
    # built symbolically only (no call) so this stays cheap.
    base = build("wav2vec2_base", 2).backbone.count_params()
    large = build("wav2vec2_large", 2).backbone.count_params()
    assert abs(base - 94.4e6) < 0.5e6, base
    assert abs(large - 315.4e6) < 0.5e6, large


def test_feature_encoder_output_length():
    encoder = Wav2Vec2FeatureEncoder()
    assert encoder(tf.zeros([1, 16000])).shape == (1, 49, 512)
    assert conv_output_length(16000, encoder.conv_kernels, encoder.conv_strides) == 49


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="feature_norm="):
        Wav2Vec2FeatureEncoder(feature_norm="batch")
    with pytest.raises(ValueError, match="mask_time_prob="):
        Wav2Vec2Masking(mask_time_prob=1.5)
    with pytest.raises(ValueError, match="num_heads="):
        tiny_backbone(num_heads=5)
    with pytest.raises(ValueError, match="num_samples="):
        tiny_backbone(num_samples=8)
    with pytest.raises(ValueError, match="num_classes="):
        Wav2Vec2Classifier(tiny_backbone(), num_classes=0)


def test_grouped_conv_rewrite_is_exact():
    """The per-group split that TFLite needs equals TF's own grouped convolution."""
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(2, 40, 32).astype(np.float32))
    kernel = tf.constant(rng.randn(16, 8, 32).astype(np.float32))
    reference = tf.nn.conv1d(x, kernel, stride=1, padding="VALID")  # TF grouped conv (4 groups)
    # Same products, same per-channel summation: equal up to float32 reassociation (1e-5 on ~|10| values).
    np.testing.assert_allclose(grouped_conv1d(x, kernel, 4).numpy(), reference.numpy(), atol=1e-5, rtol=0)


def test_positional_conv_matches_torch_weight_norm():
    """Weight norm (dim=2), same padding with the extra frame dropped, GELU: against torch's module."""
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(1)
    conv = torch.nn.utils.parametrizations.weight_norm(
        torch.nn.Conv1d(32, 32, kernel_size=16, padding=8, groups=4), name="weight", dim=2
    )
    with torch.no_grad():
        conv.parametrizations.weight.original0.copy_(torch.from_numpy(rng.rand(1, 1, 16).astype(np.float32)))
    x = rng.randn(2, 30, 32).astype(np.float32)
    with torch.no_grad():
        expected = torch.nn.functional.gelu(conv(torch.from_numpy(x).transpose(1, 2))[:, :, :-1]).transpose(1, 2)

    layer = Wav2Vec2PositionalConvEmbedding(kernel_size=16, groups=4)
    layer.build((None, None, 32))
    layer.weight_g.assign(conv.parametrizations.weight.original0.detach().numpy().reshape(-1))
    layer.weight_v.assign(conv.parametrizations.weight.original1.detach().numpy().transpose(2, 1, 0))
    layer.bias.assign(conv.bias.detach().numpy())
    # 1e-5: float32 conv summation order differs between torch and TF.
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), atol=1e-5, rtol=0)


def test_span_mask_statistics():
    tf.random.set_seed(0)
    lengths = tf.constant([100, 60, 100, 30])
    mask = compute_span_mask((4, 100), mask_prob=0.3, mask_length=5, min_masks=2, lengths=lengths).numpy()
    assert mask.shape == (4, 100)
    for row, length in zip(mask, lengths.numpy()):
        assert not row[length:].any()  # spans stay inside the real frames
        assert row.sum() >= 5  # at least one whole span (min_masks=2, possibly overlapping)
        assert row.sum() <= int(0.3 * length / 5 + 1) * 5
        # Masked steps come in runs of at least the span length.
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]]))))[::2]
        assert (runs >= 5).all()


def test_masking_uses_learned_embedding_only_in_training():
    layer = Wav2Vec2Masking(mask_time_prob=0.5, mask_time_length=2, mask_feature_prob=0.3, mask_feature_length=4)
    x = tf.random.normal([2, 20, 16])
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    explicit = np.zeros([2, 20], bool)
    explicit[:, 3:6] = True
    out = layer(x, mask_time_indices=explicit, training=False).numpy()
    np.testing.assert_array_equal(out[:, 3:6], np.broadcast_to(layer.masked_spec_embed.numpy(), (2, 3, 16)))
    np.testing.assert_array_equal(out[:, 6:], x.numpy()[:, 6:])
    trained = layer(x, training=True).numpy()
    embed_rows = np.all(np.isclose(trained, layer.masked_spec_embed.numpy()) | (trained == 0), axis=-1)
    assert embed_rows.any()  # some frames replaced by the mask embedding
    assert (trained == 0).all(axis=1).any()  # some channels zeroed over all frames


@pytest.mark.parametrize("feature_norm,norm_first", [("group", False), ("layer", True)])
def test_backbone_config_and_batch_invariance(feature_norm, norm_first, fsdd_clips):
    backbone = tiny_backbone(feature_norm=feature_norm, norm_first=norm_first)
    x = clips(fsdd_clips, count=3)
    assert backbone(x).shape == (3, backbone.num_frames(x.shape[1]), 32)
    check_config_round_trip(backbone, x)
    # 1e-5: batched vs single matmuls reorder float32 sums.
    check_batch_invariance(backbone, x, atol=1e-5)


def test_padding_mask_matches_unpadded_input(fsdd_clips):
    """With the layer-norm encoder (no statistics over time), real frames of a right-padded clip
    equal the frames of the same clip without padding: the padding mask hides the padding."""
    backbone = tiny_backbone(feature_norm="layer", norm_first=True, use_padding_mask=True)
    x = clips(fsdd_clips, count=2)
    short = 2600
    padded = x.copy()
    padded[1, short:] = 0.7  # garbage in the padding must not matter
    mask = np.ones_like(x, dtype=np.int32)
    mask[1, short:] = 0
    full = backbone({"waveform": padded, "padding_mask": mask}).numpy()
    alone = backbone({"waveform": x[1:, :short], "padding_mask": mask[1:, :short]}).numpy()
    frames = backbone.num_frames(short)
    # 1e-5: different sequence lengths change float32 reduction order in attention.
    np.testing.assert_allclose(full[1, :frames], alone[0], atol=1e-5, rtol=0)


def test_layerdrop_and_dropout_only_in_training(fsdd_clips):
    backbone = tiny_backbone(layerdrop=0.5, dropout=0.1, mask_time_prob=0.2, mask_time_length=2)
    x = clips(fsdd_clips, count=2)
    np.testing.assert_array_equal(backbone(x, training=False).numpy(), backbone(x, training=False).numpy())
    assert not np.allclose(backbone(x, training=True).numpy(), backbone(x, training=False).numpy())


def test_classifier_round_trips(fsdd_clips, tmp_path):
    keras.utils.set_random_seed(0)
    model = build("wav2vec2_base", 5, sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, **TINY)
    x = clips(fsdd_clips)
    assert model(x).shape == (4, 5)
    check_config_round_trip(model, x)
    check_keras_round_trip(model, x, tmp_path)
    # 1e-5: batched vs single matmuls reorder float32 sums.
    check_batch_invariance(model, x, atol=1e-5)
    # TFLite float and int8 (base and large): tests/models/test_model_harness.py.


def test_freeze_feature_encoder(fsdd_clips):
    model = build(
        "wav2vec2_base",
        3,
        sample_rate=SAMPLE_RATE,
        clip_seconds=CLIP_SECONDS,
        freeze_feature_encoder=True,
        layerdrop=0.0,  # every block gets a gradient in this one step
        **TINY,
    )
    frozen = {id(w) for w in model.backbone.feature_encoder.weights}
    assert frozen and not frozen & {id(w) for w in model.trainable_weights}
    # One optimizer step (what fit does) leaves the frozen encoder unchanged and moves the rest.
    x = clips(fsdd_clips, count=2)
    before = [w.numpy().copy() for w in model.weights]
    optimizer = keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x, training=True)))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
    for old, weight in zip(before, model.weights):
        changed = not np.array_equal(old, weight.numpy())
        assert changed != (id(weight) in frozen) or weight.path.endswith("masked_spec_embed"), weight.path
    clone = Wav2Vec2Classifier.from_config(model.get_config())
    assert not clone.backbone.feature_encoder.trainable


@pytest.mark.slow
def test_runs_under_tf_keras(tmp_path):
    """The same classifier builds, trains a step, and round-trips through .keras on tf_keras (Keras 2)."""
    import os
    import subprocess
    import sys
    import textwrap

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = textwrap.dedent(
        f"""
        import numpy as np
        from tfaudio.backend import USE_LEGACY_KERAS, keras
        from tfaudio.models import build
        from tfaudio.models.wav2vec2 import Wav2Vec2Classifier

        assert USE_LEGACY_KERAS and keras.__name__ == "tf_keras", keras.__name__
        model = build("wav2vec2_large", 3, sample_rate=8000, clip_seconds=0.5, **{TINY!r})
        x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 4000)).astype("float32")
        out = model(x, training=False).numpy()
        assert out.shape == (2, 3), out.shape
        clone = Wav2Vec2Classifier.from_config(model.get_config())
        clone(x)
        clone.set_weights(model.get_weights())
        np.testing.assert_array_equal(clone(x, training=False).numpy(), out)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, np.array([0, 1]), epochs=1, verbose=0)
        path = {str(tmp_path / "legacy.keras")!r}
        model.save(path)
        restored = keras.models.load_model(path)
        np.testing.assert_array_equal(restored(x, training=False).numpy(), model(x, training=False).numpy())
        """
    )
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": repo, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
