"""Parity of converted wav2vec 2.0 checkpoints with transformers (Wav2Vec2Model / ForSequenceClassification / ForPreTraining)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tfaudio.converters.checkpoint import Checkpoint  # noqa: E402
from tfaudio.converters.wav2vec2 import convert, main  # noqa: E402

NUM_SAMPLES = 4000
PAD_FROM = 2600  # the second clip is right-padded from here in the masked runs


def tiny_config(variant, **extra):
    """A small random wav2vec2 config; "base" = group norm + post-LN, "large" = layer norm + pre-LN."""
    stable = variant == "large"
    return transformers.Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        conv_dim=(16, 32, 32),
        conv_kernel=(10, 3, 3),
        conv_stride=(5, 2, 2),
        conv_bias=stable,
        feat_extract_norm="layer" if stable else "group",
        do_stable_layer_norm=stable,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        num_codevector_groups=2,
        num_codevectors_per_group=8,
        codevector_dim=16,
        proj_codevector_dim=12,
        num_negatives=5,
        classifier_proj_size=8,
        num_labels=3,
        **extra,
    )


def randomize(model, seed=0):
    """Perturbs every parameter so that norms/biases are not at their identity init (catches transposes)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
    return model.eval()


@pytest.fixture(scope="module")
def waveforms(fsdd_clips):
    """Two real FSDD clips (8 kHz, used as-is: the random model does not care about the rate), cropped/padded."""
    out = np.zeros([2, NUM_SAMPLES], np.float32)
    for i, clip in enumerate(fsdd_clips[:2]):
        clip = clip[:NUM_SAMPLES]
        out[i, : len(clip)] = clip / max(1e-3, np.abs(clip).max())
    mask = np.ones([2, NUM_SAMPLES], np.int32)
    mask[1, PAD_FROM:] = 0
    padded = out.copy()
    padded[1, PAD_FROM:] = 0.0
    return out, padded, mask


def _save(hf_model, tmp_path, name):
    folder = tmp_path / name
    hf_model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("variant", ["base", "large"])
def test_backbone_parity(variant, waveforms, tmp_path):
    x, padded, mask = waveforms
    hf = randomize(transformers.Wav2Vec2Model(tiny_config(variant)))
    folder = _save(hf, tmp_path, "model")
    with torch.no_grad():
        expected = hf(torch.from_numpy(x)).last_hidden_state.numpy()
        expected_masked = hf(torch.from_numpy(padded), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()

    model = convert(folder)  # fails if any checkpoint tensor is left unused
    got = model(x, training=False).numpy()
    # 1e-4: float32 with different op orders (oneDNN conv vs. torch), as the issue asks.
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)

    masked_model = convert(folder, use_padding_mask=True)
    got_masked = masked_model({"waveform": padded, "padding_mask": mask}, training=False).numpy()
    # All frames, padded ones included, follow the same computation as transformers.
    np.testing.assert_allclose(got_masked, expected_masked, atol=1e-4, rtol=0)


@pytest.mark.parametrize("variant", ["base", "large"])
def test_classifier_parity(variant, waveforms, tmp_path):
    x, padded, mask = waveforms
    hf = randomize(transformers.Wav2Vec2ForSequenceClassification(tiny_config(variant)), seed=1)
    folder = _save(hf, tmp_path, "classifier")
    with torch.no_grad():
        expected = hf(torch.from_numpy(x)).logits.numpy()
        expected_masked = hf(torch.from_numpy(padded), attention_mask=torch.from_numpy(mask)).logits.numpy()

    model = convert(folder, num_samples=NUM_SAMPLES)
    assert model.output_shape == (None, 3)
    # 1e-4: float32 op-order differences, as the issue asks.
    np.testing.assert_allclose(model(x, training=False).numpy(), expected, atol=1e-4, rtol=0)
    masked_model = convert(folder, use_padding_mask=True)
    got_masked = masked_model({"waveform": padded, "padding_mask": mask}, training=False).numpy()
    # Mean pooling over real frames only, as transformers; 1e-4 as above.
    np.testing.assert_allclose(got_masked, expected_masked, atol=1e-4, rtol=0)


@pytest.mark.parametrize("variant", ["base", "large"])
def test_pretraining_loss_parity(variant, waveforms, tmp_path):
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices

    x, _, _ = waveforms
    config = tiny_config(variant)
    hf = randomize(transformers.Wav2Vec2ForPreTraining(config), seed=2)
    folder = _save(hf, tmp_path, "pretraining")
    frames = int(hf._get_feat_extract_output_lengths(NUM_SAMPLES))
    np.random.seed(0)
    mask_time = _compute_mask_indices((2, frames), mask_prob=0.5, mask_length=3, min_masks=2)
    negatives = _sample_negative_indices((2, frames), config.num_negatives, mask_time_indices=mask_time)
    with torch.no_grad():
        out = hf(
            torch.from_numpy(x),
            mask_time_indices=torch.from_numpy(mask_time),
            sampled_negative_indices=torch.from_numpy(negatives.astype(np.int64)),
        )

    model = convert(folder)
    got = model(
        {"waveform": x, "mask_time_indices": mask_time, "sampled_negative_indices": negatives}, training=False
    )
    # 1e-4 relative: the losses are sums over ~60 masked frames of float32 log-softmaxes.
    for key in ("contrastive_loss", "diversity_loss", "loss"):
        np.testing.assert_allclose(float(got[key]), float(getattr(out, key)), rtol=1e-4, atol=1e-4, err_msg=key)
    np.testing.assert_allclose(float(got["codevector_perplexity"]), float(out.codevector_perplexity), atol=1e-4)
    # 1e-4: projected contextual features and projected quantized targets, float32 op order.
    np.testing.assert_allclose(got["projected_states"].numpy(), out.projected_states.numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(
        got["projected_quantized_states"].numpy(), out.projected_quantized_states.numpy(), atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("architecture", ["Wav2Vec2ForPreTraining", "Wav2Vec2ForCTC"])
def test_backbone_under_new_classifier_head(architecture, waveforms, tmp_path, capsys):
    """`num_classes` reuses the backbone of any wav2vec2 checkpoint and drops (and lists) its head."""
    x, _, _ = waveforms
    hf = randomize(getattr(transformers, architecture)(tiny_config("large", vocab_size=7)), seed=4)
    folder = _save(hf, tmp_path, "task")
    with torch.no_grad():
        expected = hf.wav2vec2(torch.from_numpy(x)).last_hidden_state.numpy()
    model = convert(folder, num_samples=NUM_SAMPLES, num_classes=4, freeze_feature_encoder=True)
    assert model.output_shape == (None, 4)
    assert not model.backbone.feature_encoder.trainable
    assert "Dropped the checkpoint's" in capsys.readouterr().out
    # 1e-4: float32 op-order differences, as in the parity tests above.
    np.testing.assert_allclose(model.backbone(x, training=False).numpy(), expected, atol=1e-4, rtol=0)


def test_unused_and_missing_tensors_are_reported(tmp_path):
    hf = transformers.Wav2Vec2Model(tiny_config("base")).eval()
    folder = _save(hf, tmp_path, "model")
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(folder / "model.safetensors"))
    extra = dict(tensors, **{"encoder.unexpected.weight": np.zeros([2], np.float32)})
    save_file(extra, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="encoder.unexpected.weight"):
        convert(folder)
    missing = {k: v for k, v in tensors.items() if k != "encoder.layers.1.attention.k_proj.bias"}
    save_file(missing, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(KeyError, match="encoder.layers.1.attention.k_proj.bias"):
        convert(folder)


def test_checkpoint_reads_pytorch_bin(tmp_path):
    hf = transformers.Wav2Vec2Model(tiny_config("large")).eval()
    folder = tmp_path / "bin"
    hf.save_pretrained(folder, safe_serialization=False)
    ckpt = Checkpoint(folder)
    assert ckpt.config["do_stable_layer_norm"] is True
    state = hf.state_dict()
    assert set(ckpt.keys()) == set(state)
    name = "encoder.layers.0.attention.q_proj.weight"
    np.testing.assert_array_equal(ckpt.take(name), state[name].numpy())
    assert name not in ckpt.unused()


def test_command_line_writes_keras_model(waveforms, tmp_path):
    from tfaudio.backend import keras

    x, _, _ = waveforms
    hf = randomize(transformers.Wav2Vec2ForSequenceClassification(tiny_config("base")), seed=3)
    folder = _save(hf, tmp_path, "classifier")
    out = tmp_path / "converted.keras"
    assert main([str(folder), str(out), "--num-samples", str(NUM_SAMPLES)]) == 0
    restored = keras.models.load_model(out)
    with torch.no_grad():
        expected = hf(torch.from_numpy(x)).logits.numpy()
    # 1e-4: float32 op-order differences, as in the parity tests.
    np.testing.assert_allclose(restored(x, training=False).numpy(), expected, atol=1e-4, rtol=0)


def test_checkpoint_reader_sharded_prefix_and_shape_checks(tmp_path):
    """The shared reader: sharded safetensors, prefix stripping, shape checks, take_any, skip/unused."""
    import json

    from safetensors.numpy import save_file

    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": 4}))
    a = {"wav2vec2.a.weight": np.arange(6, dtype=np.float32).reshape(2, 3)}
    b = {"wav2vec2.b.original0": np.ones([1, 1, 5], np.float16), "head.bias": np.zeros([2], np.float32)}
    save_file(a, str(folder / "model-00001-of-00002.safetensors"))
    save_file(b, str(folder / "model-00002-of-00002.safetensors"))
    weight_map = {k: "model-00001-of-00002.safetensors" for k in a}
    weight_map.update({k: "model-00002-of-00002.safetensors" for k in b})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))

    ckpt = Checkpoint(folder, prefix="wav2vec2.")
    assert ckpt.config == {"hidden_size": 4}
    assert ckpt.keys() == ["a.weight", "b.original0", "head.bias"]
    np.testing.assert_array_equal(ckpt.take("a.weight", shape=(2, 3)), a["wav2vec2.a.weight"])
    with pytest.raises(ValueError, match="expected"):
        ckpt.take("a.weight", shape=(3, 2))
    g = ckpt.take_any("b.weight_g", "b.original0")
    assert g.dtype == np.float32 and g.shape == (1, 1, 5)  # float16 checkpoints come back as float32
    assert ckpt.unused() == ["head.bias"]
    with pytest.raises(ValueError, match="head.bias"):
        ckpt.check_all_used()
    ckpt.skip("head.bias")
    ckpt.check_all_used()
    with pytest.raises(KeyError, match="missing.weight"):
        ckpt.take("missing.weight")
    with pytest.raises(ValueError, match="No checkpoint weights"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "config.json").write_text("{}")
        Checkpoint(tmp_path / "empty")
