"""Converter tests: random small transformers ASTForAudioClassification -> ASTClassifier, logits parity."""

import json
import os

import numpy as np
import pytest

from tests import harness
from tfaudio.converters import ast as ast_converter

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

MEL, FRAMES = 32, 100


def _hf_config(**changes):
    config = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_mel_bins=MEL,
        max_length=FRAMES,
        num_labels=3,
        id2label={0: "dog", 1: "rain", 2: "siren"},
        label2id={"dog": 0, "rain": 1, "siren": 2},
    )
    config.update(changes)
    return transformers.ASTConfig(**config)


def _randomize(model, seed=0):
    # transformers initialises tokens and positions to zero; random values make every tensor matter.
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    return model


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf_ast")
    model = _randomize(transformers.ASTForAudioClassification(_hf_config())).eval()
    model.save_pretrained(str(folder))
    extractor = transformers.ASTFeatureExtractor(num_mel_bins=MEL, max_length=FRAMES, mean=-5.0, std=3.5)
    extractor.save_pretrained(str(folder))
    return str(folder)


def _features(n=3, frames=FRAMES, seed=1):
    return np.random.default_rng(seed).normal(size=(n, frames, MEL)).astype("float32")


def _keras_logits_from_features(model, features):
    """The converted classifier after its fbank: backbone -> token pooling -> head."""
    sequence = model.backbone(features, training=False)
    pooled = model.get_layer("token_pooling")(sequence)
    return model.logits_layer(model.head_norm(pooled)).numpy()


def _torch_logits(model, features):
    with torch.no_grad():
        return model(torch.from_numpy(features)).logits.numpy()


def test_logits_match_transformers(hf_folder):
    model = ast_converter.convert(hf_folder)
    ref = transformers.ASTForAudioClassification.from_pretrained(hf_folder).eval()
    features = _features()
    # Reference: transformers ASTForAudioClassification on the same features; float32 reordering only.
    np.testing.assert_allclose(_keras_logits_from_features(model, features), _torch_logits(ref, features), atol=1e-4)
    assert model.labels == ["dog", "rain", "siren"]
    assert model.fbank.mean == -5.0 and model.fbank.std == 3.5 and model.fbank.max_length == FRAMES
    assert model.inputs[0].shape[1] == (FRAMES - 1) * 160 + 400  # exactly FRAMES Kaldi frames at 16 kHz


def test_waveform_logits_match_transformers_pipeline(hf_folder, fsdd_clips):
    import soxr

    model = ast_converter.convert(hf_folder)
    samples = model.inputs[0].shape[1]
    waves = [soxr.resample(clip, 8000, 16000).astype("float32")[:samples] for clip in fsdd_clips[:3]]
    waves = np.stack([np.pad(w, (0, samples - len(w))) for w in waves])
    extractor = transformers.ASTFeatureExtractor.from_pretrained(hf_folder)
    features = extractor(list(waves), sampling_rate=16000, return_tensors="np")["input_values"].astype("float32")
    ref = transformers.ASTForAudioClassification.from_pretrained(hf_folder).eval()
    got = model(waves, training=False).numpy()
    # Reference: ASTFeatureExtractor (NumPy float64 fbank) + ASTForAudioClassification on real FSDD clips.
    # Our float32 fbank differs by ~1e-5 per feature; random 0.3-std weights amplify that, hence 1e-3.
    np.testing.assert_allclose(got, _torch_logits(ref, features), atol=1e-3)


def test_interpolated_position_embeddings_match_torch_interpolate(hf_folder):
    """Other max_length and frequency stride: positions resized vs torch.nn.functional.interpolate."""
    max_length, frequency_stride = 60, 8
    model = ast_converter.convert(hf_folder, max_length=max_length, frequency_stride=frequency_stride)
    assert model.backbone.grid == (3, 5)

    # PyTorch side: the same checkpoint in a model built for the new grid, its patch
    # position embeddings resized with F.interpolate(bilinear, align_corners=False)
    # (transformers' AST has no interpolate_pos_encoding, so the test does it).
    ref = transformers.ASTForAudioClassification.from_pretrained(hf_folder).eval()
    state = ref.state_dict()
    key = "audio_spectrogram_transformer.embeddings.position_embeddings"
    positions = state[key]
    hidden = positions.shape[-1]
    grid = positions[:, 2:].reshape(1, 2, 9, hidden).permute(0, 3, 1, 2)
    resized = torch.nn.functional.interpolate(grid, size=(3, 5), mode="bilinear", align_corners=False)
    state[key] = torch.cat([positions[:, :2], resized.permute(0, 2, 3, 1).reshape(1, 15, hidden)], dim=1)
    target = transformers.ASTForAudioClassification(
        _hf_config(max_length=max_length, frequency_stride=frequency_stride)
    ).eval()
    target.load_state_dict(state)
    features = _features(frames=max_length)
    # Reference: torch bilinear resize + transformers forward; float32 reordering only.
    np.testing.assert_allclose(
        _keras_logits_from_features(model, features), _torch_logits(target, features), atol=1e-4
    )


def test_unused_and_mismatched_tensors_are_errors(hf_folder, tmp_path):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(os.path.join(hf_folder, "model.safetensors"))
    with open(os.path.join(hf_folder, "config.json")) as f:
        config = json.load(f)

    def write(folder, tensors):
        os.makedirs(folder)
        save_file(tensors, os.path.join(folder, "model.safetensors"))
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f)
        return folder

    extra = write(str(tmp_path / "extra"), {**tensors, "stray.weight": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match="stray.weight"):
        ast_converter.convert(extra)
    key = "classifier.dense.weight"
    bad = write(str(tmp_path / "bad"), {**tensors, key: np.zeros((4, 32), np.float32)})
    with pytest.raises(ValueError, match="classifier.dense"):
        ast_converter.convert(bad)
    missing = dict(tensors)
    missing.pop("audio_spectrogram_transformer.layernorm.weight")
    with pytest.raises(KeyError, match="layernorm.weight"):
        ast_converter.convert(write(str(tmp_path / "missing"), missing))


def test_command_line_writes_keras_model_with_labels(hf_folder, tmp_path):
    out = str(tmp_path / "ast.keras")
    assert ast_converter.main([hf_folder, out, "--clip-seconds", "1.0"]) == 0
    model = ast_converter.convert(hf_folder, clip_seconds=1.0)
    restored = harness.check_keras_round_trip(model, np.zeros((1, 16000), "float32"), tmp_path)
    assert restored.labels == ["dog", "rain", "siren"]
    from tfaudio.backend import keras

    loaded = keras.models.load_model(out)
    assert loaded.labels == ["dog", "rain", "siren"] and loaded.inputs[0].shape[1] == 16000


def test_transformers_5_module_names(hf_folder, tmp_path):
    """Checkpoints written with transformers 5.x module names (`layers.N.attention.q_proj`, `mlp.fc1`) convert too."""
    import re
    import shutil

    from safetensors.numpy import load_file, save_file

    renames = {
        r"encoder\.layer\.(\d+)\.attention\.attention\.query": r"layers.\1.attention.q_proj",
        r"encoder\.layer\.(\d+)\.attention\.attention\.key": r"layers.\1.attention.k_proj",
        r"encoder\.layer\.(\d+)\.attention\.attention\.value": r"layers.\1.attention.v_proj",
        r"encoder\.layer\.(\d+)\.attention\.output\.dense": r"layers.\1.attention.o_proj",
        r"encoder\.layer\.(\d+)\.intermediate\.dense": r"layers.\1.mlp.fc1",
        r"encoder\.layer\.(\d+)\.output\.dense": r"layers.\1.mlp.fc2",
        r"encoder\.layer\.(\d+)\.layernorm": r"layers.\1.layernorm",
    }
    tensors = load_file(os.path.join(hf_folder, "model.safetensors"))
    renamed = {}
    for name, value in tensors.items():
        for pattern, replacement in renames.items():
            name = re.sub(pattern, replacement, name)
        renamed[name] = value
    assert not any("encoder.layer" in name for name in renamed)
    folder = tmp_path / "v5"
    folder.mkdir()
    for filename in ("config.json", "preprocessor_config.json"):
        shutil.copy(os.path.join(hf_folder, filename), folder / filename)
    save_file(renamed, str(folder / "model.safetensors"))
    features = _features()
    expected = _keras_logits_from_features(ast_converter.convert(hf_folder), features)
    # Same tensors under other names: identical weights, so identical logits.
    np.testing.assert_array_equal(_keras_logits_from_features(ast_converter.convert(str(folder)), features), expected)
