"""AST backbone/classifier: registry build, serialization, position-embedding resize (TFLite: test_model_harness)."""

import numpy as np
import pytest

from tests import harness
from tfaudio.backend import keras
from tfaudio.models import registry
from tfaudio.models.ast import ASTBackbone, ASTClassifier, resize_position_embeddings

TINY = dict(hidden_dim=32, num_layers=2, num_heads=2, intermediate_dim=64, num_mel_bins=32)


@pytest.fixture(scope="module")
def waves(fsdd_clips):
    import soxr

    clips = [soxr.resample(clip, 8000, 16000).astype("float32") for clip in fsdd_clips]
    return np.stack([np.pad(c, (0, max(0, 16000 - len(c))))[:16000] for c in clips])


def _tiny(num_classes=5, **overrides):
    keras.utils.set_random_seed(0)
    return registry.build("ast_base", num_classes, **{**TINY, **overrides})


def test_registry_build_shapes():
    assert "ast_base" in registry.available()
    model = _tiny()
    assert isinstance(model, ASTClassifier)
    assert model.backbone.max_length == 98  # Kaldi frames in 1 s at 16 kHz: 1 + (16000 - 400) // 160
    assert model.backbone.grid == (2, 9)
    assert model(np.zeros((3, 16000), "float32")).shape == (3, 5)
    assert model.backbone.output_shape == (None, 20, 32)  # 18 patches + [CLS] + distillation
    model_8k = _tiny(sample_rate=8000, clip_seconds=0.5)
    assert model_8k.inputs[0].shape[1] == 4000 and model_8k(np.zeros((1, 4000), "float32")).shape == (1, 5)


def test_ast_base_size():
    # AST-Base: 768 wide, 12 layers; ~86M parameters (85.7M for 1 s clips with 110 positions).
    model = registry.build("ast_base", 527)
    assert model.backbone.hidden_dim == 768 and model.backbone.num_layers == 12
    assert 85e6 < model.count_params() < 87.5e6


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        ASTBackbone(hidden_dim=30, num_heads=4, num_layers=1, intermediate_dim=8, num_mel_bins=32, max_length=50)
    with pytest.raises(ValueError, match="smaller than one patch"):
        ASTBackbone(num_mel_bins=8, max_length=50, hidden_dim=8, num_heads=2, num_layers=1, intermediate_dim=8)
    backbone = ASTBackbone(num_mel_bins=32, max_length=98, hidden_dim=8, num_heads=2, num_layers=1, intermediate_dim=8)
    with pytest.raises(ValueError, match="labels"):
        ASTClassifier(backbone, 3, labels=["a", "b"])
    with pytest.raises(ValueError, match="num_classes"):
        ASTClassifier(backbone, 0)


def test_serialization(waves, tmp_path):
    model = _tiny(labels=["zero", "one", "two", "three", "four"])
    harness.check_config_round_trip(model, waves[:3])
    restored = harness.check_keras_round_trip(model, waves[:3], tmp_path)
    assert restored.labels == ["zero", "one", "two", "three", "four"]
    assert restored.backbone.get_config() == model.backbone.get_config()
    harness.check_batch_invariance(model, waves, atol=1e-5)


# TFLite float and int8: tests/models/test_model_harness.py.


def test_resize_position_embeddings_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for old, new in (((12, 101), (12, 9)), ((2, 9), (3, 5)), ((4, 4), (7, 10)), ((3, 5), (3, 5))):
        emb = rng.normal(size=(old[0] * old[1], 8)).astype("float32")
        grid = torch.from_numpy(emb).reshape(1, *old, 8).permute(0, 3, 1, 2)
        expected = torch.nn.functional.interpolate(grid, size=new, mode="bilinear", align_corners=False)
        expected = expected.permute(0, 2, 3, 1).reshape(-1, 8).numpy()
        # Reference: torch bilinear, align_corners=False (what the AST paper's code uses). torch computes the
        # source coordinates in float32 (we use float64): ~1e-5 differences at large indices, hence 1e-4.
        np.testing.assert_allclose(resize_position_embeddings(emb, old, new), expected, atol=1e-4)


@pytest.mark.slow
def test_tiny_ast_fits_a_few_fsdd_clips(fsdd):
    """Training smoke test: loss falls on 16 real clips (2 digits) in a few epochs."""
    import soundfile as sf
    import soxr

    x, y = [], []
    for digit in (0, 1):
        for index in range(8):
            audio, _ = sf.read(fsdd / "recordings" / f"{digit}_george_{index}.wav", dtype="float32")
            audio = soxr.resample(audio, 8000, 16000).astype("float32")[:16000]
            x.append(np.pad(audio, (0, 16000 - len(audio))))
            y.append(digit)
    x, y = np.stack(x), np.array(y)
    model = _tiny(num_classes=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses


def test_mixed_precision(waves):
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = _tiny()
        assert model.fbank.compute_dtype == "float32"  # mel energies overflow float16
        logits = model(waves[:2], training=False)
        assert np.all(np.isfinite(np.asarray(logits, np.float32)))
    finally:
        keras.mixed_precision.set_global_policy(policy)
