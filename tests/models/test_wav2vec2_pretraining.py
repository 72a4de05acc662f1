"""wav2vec 2.0 pretraining: quantizer, negative sampling, and `fit` on real FSDD audio."""

import os

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import check_json_config
from tfaudio.backend import keras
from tfaudio.models.wav2vec2 import GumbelTemperatureDecay, GumbelVectorQuantizer, Wav2Vec2Backbone, Wav2Vec2PreTrainer
from tfaudio.models.wav2vec2.layers import compute_span_mask
from tfaudio.models.wav2vec2.pretraining import sample_negative_indices
from tfaudio.models.wav2vec2.quantizer import codevector_perplexity

NUM_SAMPLES = 4000  # 0.5 s at 8 kHz


def tiny_pretrainer(**kwargs):
    backbone = Wav2Vec2Backbone(
        hidden_dim=32,
        num_layers=2,
        num_heads=2,
        intermediate_dim=64,
        conv_dims=[32, 32, 32],
        conv_kernels=[10, 3, 3],
        conv_strides=[5, 2, 2],
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.4,
        mask_time_length=4,
    )
    args = dict(
        num_codevector_groups=2,
        num_codevectors_per_group=16,
        codevector_dim=16,
        proj_codevector_dim=16,
        num_negatives=10,
    )
    args.update(kwargs)
    return Wav2Vec2PreTrainer(backbone, **args)


def fsdd_waveforms(root, count):
    """`count` real FSDD clips (training split, index >= 5), peak-normalized, cropped/padded to NUM_SAMPLES."""
    import soundfile as sf

    names = sorted(n for n in os.listdir(root / "recordings") if int(n.split("_")[2].split(".")[0]) >= 5)
    rng = np.random.RandomState(0)
    out = np.zeros([count, NUM_SAMPLES], np.float32)
    for i, name in enumerate(rng.choice(names, count, replace=False)):
        audio, _ = sf.read(root / "recordings" / name, dtype="float32")
        audio = audio[:NUM_SAMPLES] / max(1e-3, np.abs(audio).max())
        out[i, : len(audio)] = audio
    return out


def test_negative_sampling_draws_other_masked_frames_of_the_same_example():
    tf.random.set_seed(0)
    mask = compute_span_mask((3, 50), mask_prob=0.4, mask_length=3, min_masks=2).numpy()
    negatives = sample_negative_indices(mask, num_negatives=20).numpy()
    assert negatives.shape == (3, 50, 20)
    for b in range(3):
        masked = set(np.flatnonzero(mask[b]))
        for t in np.flatnonzero(mask[b]):
            drawn = negatives[b, t] - b * 50
            assert set(drawn) <= masked - {t}
    # Uniform over the other masked frames: every one of them gets drawn eventually.
    big = sample_negative_indices(mask[:1], num_negatives=2000).numpy()
    t = np.flatnonzero(mask[0])[0]
    assert set(big[0, t]) == set(np.flatnonzero(mask[0])) - {t}


def test_perplexity_bounds():
    one_code = tf.one_hot(tf.zeros([10, 2], tf.int32), 8)
    uniform = tf.fill([10, 2, 8], 1.0 / 8)
    # One code used per group -> perplexity G; uniform use -> G * V (exp of the entropy).
    np.testing.assert_allclose(codevector_perplexity(one_code).numpy(), 2.0, rtol=1e-6)
    np.testing.assert_allclose(codevector_perplexity(uniform).numpy(), 16.0, rtol=1e-6)


def test_quantizer_straight_through_gradients():
    quantizer = GumbelVectorQuantizer(num_groups=2, num_entries=8, codevector_dim=6)
    x = tf.random.normal([2, 5, 4])
    codes, _ = quantizer(x, training=False)
    # Eval: every group's slice is exactly one codebook entry.
    entries = quantizer.codevectors.numpy().reshape(2, 8, 3)
    for g in range(2):
        slices = codes.numpy()[..., g * 3 : (g + 1) * 3].reshape(-1, 3)
        assert all(np.any(np.all(np.isclose(s, entries[g]), axis=-1)) for s in slices)
    with tf.GradientTape() as tape:
        codes, perplexity = quantizer(x, training=True)
        loss = tf.reduce_sum(codes) - perplexity
    grads = tape.gradient(loss, quantizer.trainable_weights)
    assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in grads)


def test_pretrainer_serialization(fsdd, tmp_path):
    model = tiny_pretrainer()
    x = fsdd_waveforms(fsdd, 2)
    mask = np.zeros([2, model.backbone.num_frames(NUM_SAMPLES)], bool)
    mask[:, 10:30] = True
    negatives = sample_negative_indices(mask, model.num_negatives)
    inputs = {"waveform": x, "mask_time_indices": mask, "sampled_negative_indices": negatives}
    expected = model(inputs, training=False)
    model.save(tmp_path / "pretrainer.keras")
    restored = keras.models.load_model(tmp_path / "pretrainer.keras")
    got = restored(inputs, training=False)
    for key in ("loss", "contrastive_loss", "diversity_loss", "codevector_perplexity"):
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy())
    assert type(restored) is Wav2Vec2PreTrainer
    assert restored.get_config() == check_json_config(model)


@pytest.mark.slow
def test_fit_lowers_contrastive_loss_on_fsdd(fsdd):
    """A few `fit` steps on 32 unlabeled FSDD clips lower the contrastive loss on fixed masks/negatives."""
    tf.random.set_seed(0)
    model = tiny_pretrainer()
    x = fsdd_waveforms(fsdd, 32)
    frames = model.backbone.num_frames(NUM_SAMPLES)
    probe = x[:8]
    mask = compute_span_mask((8, frames), mask_prob=0.4, mask_length=4, min_masks=2)
    probe_inputs = {
        "waveform": probe,
        "mask_time_indices": mask,
        "sampled_negative_indices": sample_negative_indices(mask, model.num_negatives),
    }

    def per_frame_contrastive():
        out = model(probe_inputs, training=False)
        return float(out["contrastive_loss"]) / float(tf.reduce_sum(tf.cast(mask, tf.float32)))

    before = per_frame_contrastive()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    decay = GumbelTemperatureDecay(start=2.0, end=0.5, decay=0.98)
    history = model.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=8, verbose=0, callbacks=[decay])
    # 32 steps of the schedule: 2 * 0.98**31 (annealed in the quantizer that the train step reads).
    np.testing.assert_allclose(float(model.quantizer.gumbel_temperature.numpy()), 2.0 * 0.98**31, rtol=1e-5)
    after = per_frame_contrastive()
    perplexity = history.history["codevector_perplexity"]
    print(f"contrastive loss per masked frame: {before:.3f} -> {after:.3f}; "
          f"codevector perplexity (of 32) per epoch: {np.round(perplexity, 2).tolist()}")
    assert after < before - 0.1, (before, after)  # chance level is log(11) = 2.40 per frame
    assert 2.0 <= perplexity[-1] <= 32.0  # between one code per group and all codes used
