"""Tests for TransformerEncoderBlock: shapes, mask, serialization, TFLite, parity with transformers."""

import numpy as np
import pytest
import tensorflow as tf

from tests import harness
from tfaudio.backend import keras
from tfaudio.layers.transformer_encoder import TransformerEncoderBlock

HIDDEN, HEADS, INTERMEDIATE, TIME = 32, 4, 64, 12


def _inputs(batch=3, time=TIME, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, time, HIDDEN)).astype("float32")


def _model(norm_first, with_mask=False):
    x = keras.Input((TIME, HIDDEN))
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, norm_first=norm_first, layer_norm_epsilon=1e-6, name="block")
    if with_mask:
        mask = keras.Input((TIME,))
        return keras.Model([x, mask], block(x, padding_mask=mask)), block
    return keras.Model(x, block(x)), block


@pytest.mark.parametrize("norm_first", [False, True])
def test_shapes_and_weight_names(norm_first):
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, norm_first=norm_first)
    out = block(_inputs())
    assert out.shape == (3, TIME, HIDDEN)
    assert block.compute_output_shape((3, TIME, HIDDEN)) == (3, TIME, HIDDEN)
    names = {layer.name for layer in (block.query, block.key, block.value, block.attention_output,
                                      block.attention_norm, block.intermediate, block.output_dense, block.output_norm)}
    assert names == {"query", "key", "value", "attention_output", "attention_norm", "intermediate", "output",
                     "output_norm"}
    # 4 attention projections + 2 FFN denses (kernel+bias) + 2 norms (gamma+beta).
    assert len(block.weights) == 16


def test_variable_length_time():
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE)
    assert block(_inputs(time=7)).shape == (3, 7, HIDDEN)
    assert block(_inputs(time=20)).shape == (3, 20, HIDDEN)


@pytest.mark.parametrize("norm_first", [False, True])
def test_padding_mask_ignores_padded_frames(norm_first):
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, norm_first=norm_first)
    x = _inputs(batch=1)
    valid = 8
    mask = np.zeros((1, TIME), "float32")
    mask[:, :valid] = 1
    masked = block(x, padding_mask=mask).numpy()
    short = block(x[:, :valid]).numpy()
    # Padded keys get -1e9 before softmax, so their weight is exactly 0 in float32.
    np.testing.assert_allclose(masked[:, :valid], short, atol=1e-5)
    # Changing padded frames does not change real frames.
    x2 = x.copy()
    x2[:, valid:] = 100.0
    np.testing.assert_allclose(block(x2, padding_mask=mask).numpy()[:, :valid], masked[:, :valid], atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        TransformerEncoderBlock(0, 8)
    with pytest.raises(ValueError, match="intermediate_dim"):
        TransformerEncoderBlock(2, 0)
    with pytest.raises(ValueError, match="attention_dropout"):
        TransformerEncoderBlock(2, 8, attention_dropout=1.0)
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoderBlock(2, 8, activation="swish")
    with pytest.raises(ValueError, match="divisible"):
        TransformerEncoderBlock(5, 8)(_inputs())


def test_dropout_only_in_training():
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, dropout=0.5, attention_dropout=0.5, activation_dropout=0.5)
    x = _inputs()
    np.testing.assert_array_equal(block(x, training=False).numpy(), block(x, training=False).numpy())
    assert not np.allclose(block(x, training=True).numpy(), block(x, training=False).numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_serialization(norm_first, tmp_path):
    model, block = _model(norm_first)
    x = _inputs()
    harness.check_config_round_trip(block, x)
    harness.check_keras_round_trip(model, x, tmp_path)
    harness.check_batch_invariance(model, x)


def test_serialization_with_mask(tmp_path):
    model, _ = _model(True, with_mask=True)
    mask = np.ones((3, TIME), "float32")
    mask[0, 5:] = 0
    harness.check_keras_round_trip(model, [_inputs(), mask], tmp_path)


@pytest.mark.parametrize("norm_first", [False, True])
def test_tflite_float_and_int8(norm_first, tmp_path):
    model, _ = _model(norm_first)
    x = _inputs()
    _, _, ops = harness.check_tflite(model, x, tmp_path, atol=1e-4)  # float32 op reordering only
    assert {"BATCH_MATMUL", "SOFTMAX", "GELU"} <= set(ops), ops
    calibration = _inputs(batch=32, seed=1)
    got, expected, ops = harness.check_tflite(model, x, tmp_path, quantize="int8", representative_data=calibration)
    assert "GELU" in ops
    # Output is layer-normed (unit scale): int8 error stays a small fraction of it.
    assert np.abs(got - expected).mean() < 0.1, np.abs(got - expected).mean()


def _copy_dense(torch_linear, dense):
    dense.kernel.assign(torch_linear.weight.detach().numpy().T)
    dense.bias.assign(torch_linear.bias.detach().numpy())


def _copy_norm(torch_norm, norm):
    norm.gamma.assign(torch_norm.weight.detach().numpy())
    norm.beta.assign(torch_norm.bias.detach().numpy())


def test_parity_with_transformers_ast_layer_pre_ln():
    torch = pytest.importorskip("torch")
    ast = pytest.importorskip("transformers.models.audio_spectrogram_transformer.modeling_audio_spectrogram_transformer")
    from transformers import ASTConfig

    config = ASTConfig(hidden_size=HIDDEN, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                       layer_norm_eps=1e-12, hidden_act="gelu")
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    ref = ast.ASTLayer(config).eval()
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, norm_first=True, layer_norm_epsilon=1e-12)
    x = _inputs()
    block(x)
    _copy_dense(ref.attention.q_proj, block.query)
    _copy_dense(ref.attention.k_proj, block.key)
    _copy_dense(ref.attention.v_proj, block.value)
    _copy_dense(ref.attention.o_proj, block.attention_output)
    _copy_norm(ref.layernorm_before, block.attention_norm)
    _copy_dense(ref.mlp.fc1, block.intermediate)
    _copy_dense(ref.mlp.fc2, block.output_dense)
    _copy_norm(ref.layernorm_after, block.output_norm)
    with torch.no_grad():
        out = ref(torch.from_numpy(x))
    expected = (out[0] if isinstance(out, tuple) else out).numpy()
    # Reference: transformers ASTLayer (ViT pre-LN, exact GELU); same weights, float32 reordering only.
    np.testing.assert_allclose(block(x).numpy(), expected, atol=1e-5)


def test_parity_with_transformers_wav2vec2_layer_post_ln():
    torch = pytest.importorskip("torch")
    w2v = pytest.importorskip("transformers.models.wav2vec2.modeling_wav2vec2")
    from transformers import Wav2Vec2Config

    config = Wav2Vec2Config(hidden_size=HIDDEN, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
                            layer_norm_eps=1e-5, hidden_act="gelu")
    torch.manual_seed(0)
    ref = w2v.Wav2Vec2EncoderLayer(config).eval()
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, norm_first=False, layer_norm_epsilon=1e-5)
    x = _inputs()
    block(x)
    _copy_dense(ref.attention.q_proj, block.query)
    _copy_dense(ref.attention.k_proj, block.key)
    _copy_dense(ref.attention.v_proj, block.value)
    _copy_dense(ref.attention.out_proj, block.attention_output)
    _copy_norm(ref.layer_norm, block.attention_norm)
    _copy_dense(ref.feed_forward.intermediate_dense, block.intermediate)
    _copy_dense(ref.feed_forward.output_dense, block.output_dense)
    _copy_norm(ref.final_layer_norm, block.output_norm)
    with torch.no_grad():
        out = ref(torch.from_numpy(x))
    expected = (out[0] if isinstance(out, tuple) else out).numpy()
    # Reference: transformers Wav2Vec2EncoderLayer (post-LN); same weights, float32 reordering only.
    np.testing.assert_allclose(block(x).numpy(), expected, atol=1e-5)


def test_mixed_precision_compute_dtype():
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, dtype="mixed_float16")
    out = block(tf.constant(_inputs()))
    assert out.dtype == tf.float16


def test_projections_start_different_with_shared_initializer():
    initializer = keras.initializers.TruncatedNormal(stddev=0.02)
    block = TransformerEncoderBlock(HEADS, INTERMEDIATE, kernel_initializer=initializer)
    block(_inputs())
    assert not np.allclose(block.query.kernel.numpy(), block.key.kernel.numpy())
