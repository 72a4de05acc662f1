"""Audio Spectrogram Transformer backbone: patch embedding, [CLS] + distillation tokens, pre-LN ViT encoder."""

import numpy as np
import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.models.backbone import Backbone
from tfaudio.layers.transformer_encoder import TransformerEncoderBlock


def patch_grid(num_mel_bins, max_length, patch_size, frequency_stride, time_stride):
    """`(frequency_patches, time_patches)` of AST's patch embedding ('valid' 2-D convolution)."""
    frequency = (num_mel_bins - patch_size) // frequency_stride + 1
    time = (max_length - patch_size) // time_stride + 1
    if frequency < 1 or time < 1:
        raise ValueError(
            f"The spectrogram is smaller than one patch. Received: num_mel_bins={num_mel_bins}, "
            f"max_length={max_length}, patch_size={patch_size}"
        )
    return frequency, time


def _bilinear_matrix(size_in, size_out):
    """`[size_out, size_in]` weights of 1-D linear resampling, as torch `interpolate(align_corners=False)`."""
    scale = size_in / size_out
    source = np.maximum((np.arange(size_out) + 0.5) * scale - 0.5, 0.0)
    low = np.floor(source).astype(int)
    low = np.minimum(low, size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = source - low
    matrix = np.zeros((size_out, size_in))
    matrix[np.arange(size_out), low] += 1.0 - frac
    matrix[np.arange(size_out), high] += frac
    return matrix


def resize_position_embeddings(embeddings, old_grid, new_grid):
    """Resizes AST patch position embeddings to a new patch grid by bilinear interpolation.

    The paper's recipe for reusing a checkpoint with other clip lengths, mel bins or
    strides: the patch embeddings are laid out on a `(frequency, time)` grid and
    resampled like an image, as `torch.nn.functional.interpolate(...,
    mode="bilinear", align_corners=False)`. The two token embeddings ([CLS],
    distillation) are not part of the grid; pass only the patch rows.

    Args:
        embeddings: array `[old_f * old_t, hidden]` (frequency-major, AST's order).
        old_grid: `(old_f, old_t)`.
        new_grid: `(new_f, new_t)`.

    Returns:
        float32 array `[new_f * new_t, hidden]`.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    (old_f, old_t), (new_f, new_t) = tuple(old_grid), tuple(new_grid)
    if embeddings.shape[0] != old_f * old_t:
        raise ValueError(
            f"Expected {old_f * old_t} patch embeddings for grid {old_grid}. Received: shape={embeddings.shape}"
        )
    grid = embeddings.reshape(old_f, old_t, -1)
    grid = np.einsum("Ff,ftc->Ftc", _bilinear_matrix(old_f, new_f), grid)
    grid = np.einsum("Tt,ftc->fTc", _bilinear_matrix(old_t, new_t), grid)
    return grid.reshape(new_f * new_t, -1).astype(np.float32)


@register_serializable
class ASTEmbedding(keras.layers.Layer):
    """Prepends the [CLS] and distillation tokens to patch embeddings and adds position embeddings.

    Args:
        num_patches: int. Number of patch embeddings in the input.

    Input shape:
        `[batch, num_patches, hidden_dim]`.

    Output shape:
        `[batch, num_patches + 2, hidden_dim]`.
    """

    def __init__(self, num_patches, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_patches, int) or num_patches < 1:
            raise ValueError(f"`num_patches` must be a positive int. Received: num_patches={num_patches!r}")
        self.num_patches = num_patches

    def build(self, input_shape):
        hidden_dim = int(input_shape[-1])

        def init():  # one instance per weight: tf_keras repeats an unseeded instance's values
            return keras.initializers.TruncatedNormal(stddev=0.02)

        self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, hidden_dim), initializer=init())
        self.distillation_token = self.add_weight(
            name="distillation_token", shape=(1, 1, hidden_dim), initializer=init()
        )
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(1, self.num_patches + 2, hidden_dim), initializer=init()
        )
        self.built = True

    def call(self, inputs):
        dtype = inputs.dtype
        batch = tf.shape(inputs)[0]
        tokens = tf.concat([tf.cast(self.cls_token, dtype), tf.cast(self.distillation_token, dtype)], axis=1)
        tokens = tf.tile(tokens, [batch, 1, 1])
        return tf.concat([tokens, inputs], axis=1) + tf.cast(self.position_embeddings, dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_patches + 2, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"num_patches": self.num_patches})
        return config


@register_serializable
class ASTBackbone(Backbone):
    """Audio Spectrogram Transformer backbone (Gong et al. 2021, arXiv 2104.01778).

    Maps normalised log-mel features to the encoder's sequence output: a 16x16
    patch embedding (a 'valid' Conv2D with separate frequency and time strides),
    [CLS] and distillation tokens, learned position embeddings, a pre-LN ViT
    encoder and a final layer norm. Layout and weights follow
    `transformers.ASTModel`, so its checkpoints convert weight by weight.

    Args:
        num_mel_bins: int. Mel bins of the input features. Defaults to 128.
        max_length: int. Frames of the input features. Defaults to 1024.
        patch_size: int. Square patch side. Defaults to 16.
        frequency_stride: int. Patch stride along frequency. Defaults to 10.
        time_stride: int. Patch stride along time. Defaults to 10.
        hidden_dim: int. Transformer width. Defaults to 768.
        num_layers: int. Encoder blocks. Defaults to 12.
        num_heads: int. Attention heads. Defaults to 12.
        intermediate_dim: int. Feed-forward width. Defaults to 3072.
        dropout: float. Dropout on embeddings and sub-layer outputs. Defaults to 0.0.
        attention_dropout: float. Dropout on attention probabilities. Defaults to 0.0.
        layer_norm_epsilon: float. Defaults to 1e-12 (transformers' ASTConfig).

    Input shape:
        `[batch, max_length, num_mel_bins]` features (see `KaldiFbank`).

    Output shape:
        `[batch, num_patches + 2, hidden_dim]`; rows 0 and 1 are the [CLS] and
        distillation tokens.

    Example:
    >>> backbone = ASTBackbone(num_mel_bins=32, max_length=100, hidden_dim=32, num_layers=2,
    ...                        num_heads=2, intermediate_dim=64)
    >>> backbone(tf.zeros([1, 100, 32])).shape  # (32-16)//10+1=2 by (100-16)//10+1=9 patches
    TensorShape([1, 20, 32])
    """

    def __init__(
        self,
        num_mel_bins=128,
        max_length=1024,
        patch_size=16,
        frequency_stride=10,
        time_stride=10,
        hidden_dim=768,
        num_layers=12,
        num_heads=12,
        intermediate_dim=3072,
        dropout=0.0,
        attention_dropout=0.0,
        layer_norm_epsilon=1e-12,
        **kwargs,
    ):
        for arg_name, value in (
            ("patch_size", patch_size),
            ("frequency_stride", frequency_stride),
            ("time_stride", time_stride),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{arg_name}` must be a positive int. Received: {arg_name}={value!r}")
        grid = patch_grid(num_mel_bins, max_length, patch_size, frequency_stride, time_stride)
        if hidden_dim % num_heads:
            raise ValueError(
                f"`hidden_dim` must be divisible by `num_heads`. Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
            )

        # === Layers ===
        patch_embedding = keras.layers.Conv2D(
            hidden_dim,
            (patch_size, patch_size),
            strides=(frequency_stride, time_stride),
            padding="valid",
                        name="patch_embedding",
        )
        embedding = ASTEmbedding(grid[0] * grid[1], name="embedding")
        embedding_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
        blocks = [
            TransformerEncoderBlock(
                num_heads,
                intermediate_dim,
                dropout=dropout,
                attention_dropout=attention_dropout,
                layer_norm_epsilon=layer_norm_epsilon,
                norm_first=True,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                                name=f"transformer_layer_{i}",
            )
            for i in range(num_layers)
        ]
        final_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="final_norm")

        # === Functional graph ===
        features = keras.Input(shape=(max_length, num_mel_bins), name="features")
        # [batch, time, mel] -> [batch, mel, time, 1]: frequency is the image height, as in AST.
        image = keras.layers.Permute((2, 1), name="to_frequency_time")(features)
        image = keras.layers.Reshape((num_mel_bins, max_length, 1), name="add_channel")(image)
        patches = patch_embedding(image)  # [batch, f, t, hidden]
        patches = keras.layers.Reshape((grid[0] * grid[1], hidden_dim), name="flatten_patches")(patches)
        x = embedding_dropout(embedding(patches))
        for block in blocks:
            x = block(x)
        outputs = final_norm(x)
        super().__init__(inputs=features, outputs=outputs, **kwargs)

        # === Config ===
        self.num_mel_bins = num_mel_bins
        self.max_length = max_length
        self.patch_size = patch_size
        self.frequency_stride = frequency_stride
        self.time_stride = time_stride
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.patch_embedding = patch_embedding
        self.embedding = embedding
        self.transformer_layers = blocks
        self.final_norm = final_norm

    @property
    def grid(self):
        """`(frequency_patches, time_patches)` of the patch embedding."""
        return patch_grid(self.num_mel_bins, self.max_length, self.patch_size, self.frequency_stride, self.time_stride)

    def get_config(self):
        return {
            **super().get_config(),
            "num_mel_bins": self.num_mel_bins,
            "max_length": self.max_length,
            "patch_size": self.patch_size,
            "frequency_stride": self.frequency_stride,
            "time_stride": self.time_stride,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
        }
