"""wav2vec 2.0 building blocks: conv feature encoder, feature projection, positional conv, masking, encoder."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.layers.transformer_encoder import TransformerEncoderBlock

_FEATURE_NORMS = ("group", "layer")


def _gelu(x):
    # Exact (erf) GELU like transformers' "gelu"; converts to the TFLite GELU builtin.
    return tf.nn.gelu(x, approximate=False)


def conv_output_length(length, conv_kernels, conv_strides):
    """Frames produced by the conv feature encoder for `length` samples (int or int tensor)."""
    for kernel, stride in zip(conv_kernels, conv_strides):
        length = (length - kernel) // stride + 1
    return length


@register_serializable
class InstanceNorm1D(keras.layers.Layer):
    """Normalizes every channel over time with a learned scale and offset.

    `torch.nn.GroupNorm(num_groups=channels)` on `[batch, channels, time]`, the norm of the
    first conv layer of the wav2vec 2.0 base feature encoder, written in TF ops.

    Args:
        epsilon: float. Added to the variance. Defaults to 1e-5.

    Input shape:
        `[batch, time, channels]`.

    Output shape:
        Same as the input.
    """

    def __init__(self, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be positive. Received: epsilon={epsilon!r}")
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones", trainable=True)
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros", trainable=True)
        self.built = True

    def call(self, inputs):
        mean = tf.reduce_mean(inputs, axis=1, keepdims=True)
        centered = inputs - mean
        # centered * centered (MUL), not tf.square: the converter would fuse SUB + SQUARE into
        # SQUARED_DIFFERENCE, which TFLite has no int16 kernel for (int16x8 quantization).
        variance = tf.reduce_mean(centered * centered, axis=1, keepdims=True)
        normed = centered * tf.math.rsqrt(variance + self.epsilon)
        return normed * tf.cast(self.gamma, inputs.dtype) + tf.cast(self.beta, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["epsilon"] = self.epsilon
        return config


@register_serializable
class Wav2Vec2FeatureEncoder(keras.layers.Layer):
    """The wav2vec 2.0 convolutional feature encoder: raw waveform to latent frames.

    A stack of strided 1-D convolutions with GELU (Baevski et al. 2020, arXiv 2006.11477,
    section 2). With `feature_norm="group"` (base) only the first conv is followed by a
    per-channel norm over time; with `"layer"` (large, "stable layer norm") every conv
    is followed by a layer norm over channels.

    Args:
        conv_dims: list of int. Output channels of each conv. Defaults to 7 x 512.
        conv_kernels: list of int. Kernel sizes. Defaults to (10, 3, 3, 3, 3, 2, 2).
        conv_strides: list of int. Strides. Defaults to (5, 2, 2, 2, 2, 2, 2).
        conv_bias: bool. Whether the convs have a bias. Defaults to False.
        feature_norm: str. "group" or "layer". Defaults to "group".

    Input shape:
        `[batch, samples]` float waveform.

    Output shape:
        `[batch, frames, conv_dims[-1]]`; `frames = conv_output_length(samples, ...)`.

    Example:
    >>> encoder = Wav2Vec2FeatureEncoder()
    >>> encoder(tf.zeros([2, 16000])).shape
    TensorShape([2, 49, 512])
    """

    # A frontend (tfaudio.training.model_wrapping.is_frontend): float32 under mixed precision, SpecAugment after it.
    is_frontend = True

    def __init__(
        self,
        conv_dims=(512,) * 7,
        conv_kernels=(10, 3, 3, 3, 3, 2, 2),
        conv_strides=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=False,
        feature_norm="group",
        **kwargs,
    ):
        super().__init__(**kwargs)
        conv_dims, conv_kernels, conv_strides = list(conv_dims), list(conv_kernels), list(conv_strides)
        if not (len(conv_dims) == len(conv_kernels) == len(conv_strides)) or not conv_dims:
            raise ValueError(
                "`conv_dims`, `conv_kernels` and `conv_strides` must be non-empty and of the same length. "
                f"Received: conv_dims={conv_dims}, conv_kernels={conv_kernels}, conv_strides={conv_strides}"
            )
        if feature_norm not in _FEATURE_NORMS:
            raise ValueError(f"`feature_norm` must be one of {_FEATURE_NORMS}. Received: feature_norm={feature_norm!r}")
        self.conv_dims = conv_dims
        self.conv_kernels = conv_kernels
        self.conv_strides = conv_strides
        self.conv_bias = conv_bias
        self.feature_norm = feature_norm

        self.conv_layers = [
            keras.layers.Conv1D(dim, kernel, strides=stride, use_bias=conv_bias, name=f"conv_{i}")
            for i, (dim, kernel, stride) in enumerate(zip(conv_dims, conv_kernels, conv_strides))
        ]
        if feature_norm == "group":
            self.norm_layers = [InstanceNorm1D(epsilon=1e-5, name="norm_0")]
        else:
            self.norm_layers = [
                keras.layers.LayerNormalization(epsilon=1e-5, name=f"norm_{i}") for i in range(len(conv_dims))
            ]

    def build(self, input_shape):
        shape = (input_shape[0], input_shape[1], 1)
        for i, conv in enumerate(self.conv_layers):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if i < len(self.norm_layers):
                self.norm_layers[i].build(shape)
        self.built = True

    def call(self, inputs):
        x = tf.expand_dims(inputs, -1)
        for i, conv in enumerate(self.conv_layers):
            x = conv(x)
            if i < len(self.norm_layers):
                x = self.norm_layers[i](x)
            x = _gelu(x)
        return x

    def compute_output_shape(self, input_shape):
        samples = input_shape[1]
        frames = None if samples is None else conv_output_length(samples, self.conv_kernels, self.conv_strides)
        return (input_shape[0], frames, self.conv_dims[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "conv_dims": self.conv_dims,
                "conv_kernels": self.conv_kernels,
                "conv_strides": self.conv_strides,
                "conv_bias": self.conv_bias,
                "feature_norm": self.feature_norm,
            }
        )
        return config


@register_serializable
class FramePaddingMask(keras.layers.Layer):
    """Turns a sample-level padding mask into the frame-level mask of the conv feature encoder.

    Like transformers' `_get_feature_vector_attention_mask`: a frame is real when its index
    is below the encoder output length of the number of real samples.

    Args:
        conv_kernels: list of int. Kernel sizes of the feature encoder.
        conv_strides: list of int. Strides of the feature encoder.

    Call arguments:
        padding_mask: `[batch, samples]`, nonzero for real samples (right padding).
        frames_like: `[batch, frames, ...]` tensor whose second axis is the frame count.

    Output shape:
        `[batch, frames]` bool.
    """

    def __init__(self, conv_kernels, conv_strides, **kwargs):
        super().__init__(**kwargs)
        self.conv_kernels = list(conv_kernels)
        self.conv_strides = list(conv_strides)

    def call(self, padding_mask, frames_like):
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(padding_mask, 0), tf.int32), axis=1)
        lengths = conv_output_length(lengths, self.conv_kernels, self.conv_strides)
        frames = tf.shape(frames_like)[1]
        return tf.range(frames)[None, :] < lengths[:, None]

    def compute_output_shape(self, padding_mask_shape, frames_like_shape):
        return (frames_like_shape[0], frames_like_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update({"conv_kernels": self.conv_kernels, "conv_strides": self.conv_strides})
        return config


@register_serializable
class Wav2Vec2FeatureProjection(keras.layers.Layer):
    """Layer norm then a linear projection of the conv features to the transformer width.

    Args:
        hidden_dim: int. Output width.
        dropout: float. Dropout on the projected features. Defaults to 0.0.
        layer_norm_epsilon: float. Defaults to 1e-5.

    Call arguments:
        inputs: `[batch, frames, conv_dim]`.

    Returns:
        `(projected [batch, frames, hidden_dim], normed [batch, frames, conv_dim])`; the
        normed features are what the pretraining quantizer discretizes.
    """

    def __init__(self, hidden_dim, dropout=0.0, layer_norm_epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="layer_norm")
        self.projection = keras.layers.Dense(hidden_dim, name="projection")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")

    def build(self, input_shape):
        self.layer_norm.build(input_shape)
        self.projection.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        normed = self.layer_norm(inputs)
        projected = self.dropout_layer(self.projection(normed), training=training)
        return projected, normed

    def compute_output_shape(self, input_shape):
        return (tuple(input_shape[:-1]) + (self.hidden_dim,), tuple(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"hidden_dim": self.hidden_dim, "dropout": self.dropout, "layer_norm_epsilon": self.layer_norm_epsilon}
        )
        return config


def grouped_conv1d(x, kernel, groups):
    """1-D 'valid' conv with `groups` channel groups as `groups` plain convs and a concat.

    TFLite's CONV_2D kernels reject grouped filters, so the grouped conv is split into
    one ordinary conv per group (same weights, same arithmetic per output channel).

    Args:
        x: `[batch, time, channels]`.
        kernel: `[width, channels // groups, out_channels]` (TF grouped-conv layout).
        groups: int.
    """
    if groups == 1:
        return tf.nn.conv1d(x, kernel, stride=1, padding="VALID")
    in_per_group = x.shape[-1] // groups
    out_per_group = kernel.shape[-1] // groups
    outputs = []
    for g in range(groups):
        xg = x[:, :, g * in_per_group : (g + 1) * in_per_group]
        kg = kernel[:, :, g * out_per_group : (g + 1) * out_per_group]
        outputs.append(tf.nn.conv1d(xg, kg, stride=1, padding="VALID"))
    return tf.concat(outputs, axis=-1)


@register_serializable
class Wav2Vec2PositionalConvEmbedding(keras.layers.Layer):
    """Convolutional relative positional embedding with weight norm, then GELU.

    A grouped conv over time of width `kernel_size` (128 in the paper) with "same"
    padding (the extra frame of an even kernel is dropped), whose kernel is
    `weight_g * weight_v / ||weight_v||` with the norm taken per kernel tap, as
    `torch.nn.utils.weight_norm(conv, dim=2)` in wav2vec 2.0.

    Args:
        kernel_size: int. Conv width. Defaults to 128.
        groups: int. Channel groups; must divide the width. Defaults to 16.

    Input shape:
        `[batch, time, hidden_dim]`.

    Output shape:
        `[batch, time, hidden_dim]` (the embedding to add to the input).
    """

    def __init__(self, kernel_size=128, groups=16, **kwargs):
        super().__init__(**kwargs)
        if kernel_size < 1:
            raise ValueError(f"`kernel_size` must be positive. Received: kernel_size={kernel_size!r}")
        if groups < 1:
            raise ValueError(f"`groups` must be positive. Received: groups={groups!r}")
        self.kernel_size = kernel_size
        self.groups = groups

    def build(self, input_shape):
        hidden_dim = int(input_shape[-1])
        if hidden_dim % self.groups:
            raise ValueError(
                f"The input width must be divisible by `groups` ({self.groups}). Received: input_shape={input_shape}"
            )
        self.weight_v = self.add_weight(
            name="weight_v",
            shape=(self.kernel_size, hidden_dim // self.groups, hidden_dim),
            initializer=keras.initializers.RandomNormal(stddev=(2.0 / (self.kernel_size * hidden_dim)) ** 0.5),
            trainable=True,
        )
        self.weight_g = self.add_weight(name="weight_g", shape=(self.kernel_size,), initializer="ones", trainable=True)
        self.bias = self.add_weight(name="bias", shape=(hidden_dim,), initializer="zeros", trainable=True)
        self.built = True

    def kernel(self):
        """The weight-normed grouped kernel `[kernel_size, hidden_dim // groups, hidden_dim]`."""
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.weight_v), axis=[1, 2], keepdims=True))
        return self.weight_v * (self.weight_g[:, None, None] / norm)

    def call(self, inputs):
        kernel = tf.cast(self.kernel(), inputs.dtype)
        left = self.kernel_size // 2
        right = self.kernel_size - 1 - left
        x = tf.pad(inputs, [[0, 0], [left, right], [0, 0]])
        x = grouped_conv1d(x, kernel, self.groups) + tf.cast(self.bias, inputs.dtype)
        return _gelu(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size, "groups": self.groups})
        return config


def compute_span_mask(shape, mask_prob, mask_length, min_masks=0, lengths=None):
    """Random spans of `mask_length` steps covering about `mask_prob` of each row, as a bool mask.

    The TF counterpart of transformers' `_compute_mask_indices`: each row gets
    `int(mask_prob * length / mask_length + u)` (u ~ U[0, 1), at least `min_masks`)
    distinct span starts, drawn uniformly among the starts that keep the span inside
    the row's real length; spans may overlap.

    Args:
        shape: `(batch, steps)` ints or scalar int tensors.
        mask_prob: float.
        mask_length: int.
        min_masks: int.
        lengths: optional int `[batch]` real lengths (right padding). Defaults to `steps`.

    Returns:
        bool `[batch, steps]`.
    """
    batch, steps = shape
    if lengths is None:
        lengths = tf.fill([batch], steps)
    lengths = tf.cast(lengths, tf.int32)
    steps = tf.cast(steps, tf.int32)
    epsilon = tf.random.uniform([])
    num = tf.cast(mask_prob * tf.cast(lengths, tf.float32) / mask_length + epsilon, tf.int32)
    num = tf.maximum(num, min_masks)
    num = tf.minimum(num, steps // mask_length)
    num = tf.minimum(num, tf.maximum(lengths - (mask_length - 1), 0))
    positions = tf.range(steps)[None, :]
    valid_start = positions < (lengths - (mask_length - 1))[:, None]
    scores = tf.where(valid_start, tf.random.uniform(tf.stack([batch, steps])), -1.0)
    ranks = tf.argsort(tf.argsort(-scores, axis=1), axis=1)
    starts = tf.logical_and(ranks < num[:, None], valid_start)
    # A step is masked when a span starts within the `mask_length` steps up to it.
    counts = tf.cumsum(tf.cast(starts, tf.int32), axis=1)
    shifted = tf.pad(counts, [[0, 0], [mask_length, 0]])[:, :steps]
    return (counts - shifted) > 0


@register_serializable
class Wav2Vec2Masking(keras.layers.Layer):
    """SpecAugment-style masking of the projected features with a learned mask embedding.

    Time masking replaces the frames of random spans by the learned `masked_spec_embed`
    vector; feature masking zeroes random channel spans (the same for all frames of an
    example). Random masks are drawn only when `training`; explicit `mask_time_indices`
    (as in pretraining) are applied whenever given.

    Args:
        mask_time_prob: float. Fraction of frames masked in training. Defaults to 0.05.
        mask_time_length: int. Span length in frames. Defaults to 10.
        mask_time_min_masks: int. Minimum spans per example. Defaults to 2.
        mask_feature_prob: float. Fraction of channels masked in training. Defaults to 0.0.
        mask_feature_length: int. Span length in channels. Defaults to 10.
        mask_feature_min_masks: int. Defaults to 0.

    Call arguments:
        inputs: `[batch, frames, hidden_dim]`.
        mask_time_indices: optional bool `[batch, frames]`; frames to replace.
        padding_mask: optional bool `[batch, frames]`; random spans stay inside real frames.
        training: bool.

    Output shape:
        Same as `inputs`.
    """

    def __init__(
        self,
        mask_time_prob=0.05,
        mask_time_length=10,
        mask_time_min_masks=2,
        mask_feature_prob=0.0,
        mask_feature_length=10,
        mask_feature_min_masks=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg_name, value in (("mask_time_prob", mask_time_prob), ("mask_feature_prob", mask_feature_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"`{arg_name}` must be in [0, 1]. Received: {arg_name}={value!r}")
        for arg_name, value in (("mask_time_length", mask_time_length), ("mask_feature_length", mask_feature_length)):
            if value < 1:
                raise ValueError(f"`{arg_name}` must be at least 1. Received: {arg_name}={value!r}")
        self.mask_time_prob = mask_time_prob
        self.mask_time_length = mask_time_length
        self.mask_time_min_masks = mask_time_min_masks
        self.mask_feature_prob = mask_feature_prob
        self.mask_feature_length = mask_feature_length
        self.mask_feature_min_masks = mask_feature_min_masks

    def build(self, input_shape):
        self.masked_spec_embed = self.add_weight(
            name="masked_spec_embed", shape=(int(input_shape[-1]),), initializer="random_uniform", trainable=True
        )
        self.built = True

    def random_time_mask(self, inputs, padding_mask=None):
        """Draws a bool `[batch, frames]` time mask with this layer's settings."""
        shape = tf.shape(inputs)
        lengths = None
        if padding_mask is not None:
            lengths = tf.reduce_sum(tf.cast(padding_mask, tf.int32), axis=1)
        return compute_span_mask(
            (shape[0], shape[1]), self.mask_time_prob, self.mask_time_length, self.mask_time_min_masks, lengths
        )

    def call(self, inputs, mask_time_indices=None, padding_mask=None, training=None):
        x = inputs
        if mask_time_indices is None and training and self.mask_time_prob > 0:
            mask_time_indices = self.random_time_mask(inputs, padding_mask)
        if mask_time_indices is not None:
            embed = tf.cast(self.masked_spec_embed, x.dtype)[None, None, :]
            x = tf.where(tf.cast(mask_time_indices, tf.bool)[:, :, None], embed, x)
        if training and self.mask_feature_prob > 0:
            shape = tf.shape(x)
            feature_mask = compute_span_mask(
                (shape[0], shape[2]), self.mask_feature_prob, self.mask_feature_length, self.mask_feature_min_masks
            )
            x = tf.where(feature_mask[:, None, :], tf.zeros_like(x), x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mask_time_prob": self.mask_time_prob,
                "mask_time_length": self.mask_time_length,
                "mask_time_min_masks": self.mask_time_min_masks,
                "mask_feature_prob": self.mask_feature_prob,
                "mask_feature_length": self.mask_feature_length,
                "mask_feature_min_masks": self.mask_feature_min_masks,
            }
        )
        return config


@register_serializable
class Wav2Vec2Encoder(keras.layers.Layer):
    """Positional conv embedding + transformer blocks, post-LN (base) or pre-LN (large).

    Post-LN ("base"): `x = dropout(norm(x + pos(x)))`, then post-LN blocks.
    Pre-LN ("stable layer norm", large): `x = dropout(x + pos(x))`, pre-LN blocks, then `norm`.
    Padded frames are zeroed before the positional conv and get no attention. With
    `layerdrop`, each block is skipped with that probability in training.

    Args:
        num_layers: int. Transformer blocks.
        num_heads: int. Attention heads.
        intermediate_dim: int. Feed-forward width.
        norm_first: bool. Pre-LN ("stable layer norm") when True. Defaults to False.
        num_conv_pos_embeddings: int. Positional conv width. Defaults to 128.
        num_conv_pos_embedding_groups: int. Positional conv groups. Defaults to 16.
        dropout: float. Hidden dropout (embeddings and block outputs). Defaults to 0.1.
        attention_dropout: float. Defaults to 0.1.
        activation_dropout: float. Defaults to 0.0.
        layerdrop: float. Probability of skipping a block in training. Defaults to 0.0.
        layer_norm_epsilon: float. Defaults to 1e-5.

    Call arguments:
        inputs: `[batch, frames, hidden_dim]`.
        padding_mask: optional bool `[batch, frames]`.
        training: bool.

    Output shape:
        `[batch, frames, hidden_dim]`.
    """

    def __init__(
        self,
        num_layers,
        num_heads,
        intermediate_dim,
        norm_first=False,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        layerdrop=0.0,
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= layerdrop < 1.0:
            raise ValueError(f"`layerdrop` must be in [0, 1). Received: layerdrop={layerdrop!r}")
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.norm_first = norm_first
        self.num_conv_pos_embeddings = num_conv_pos_embeddings
        self.num_conv_pos_embedding_groups = num_conv_pos_embedding_groups
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.layerdrop = layerdrop
        self.layer_norm_epsilon = layer_norm_epsilon

        self.pos_conv_embed = Wav2Vec2PositionalConvEmbedding(
            num_conv_pos_embeddings, num_conv_pos_embedding_groups, name="pos_conv_embed"
        )
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name="layer_norm")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.blocks = [
            TransformerEncoderBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                attention_dropout=attention_dropout,
                activation_dropout=activation_dropout,
                activation="gelu",
                layer_norm_epsilon=layer_norm_epsilon,
                norm_first=norm_first,
                name=f"layer_{i}",
            )
            for i in range(num_layers)
        ]

    def build(self, input_shape):
        self.pos_conv_embed.build(input_shape)
        self.layer_norm.build(input_shape)
        for block in self.blocks:
            block.build(input_shape)
        self.built = True

    def _maybe_drop(self, block, x, padding_mask, training):
        if not training or self.layerdrop <= 0:
            return block(x, padding_mask=padding_mask, training=training)
        keep = tf.random.uniform([]) >= self.layerdrop
        return tf.cond(keep, lambda: block(x, padding_mask=padding_mask, training=training), lambda: x)

    def call(self, inputs, padding_mask=None, training=None):
        x = inputs
        if padding_mask is not None:
            x = tf.where(tf.cast(padding_mask, tf.bool)[:, :, None], x, tf.zeros_like(x))
        x = x + self.pos_conv_embed(x)
        if not self.norm_first:
            x = self.layer_norm(x)
        x = self.dropout_layer(x, training=training)
        for block in self.blocks:
            x = self._maybe_drop(block, x, padding_mask, training)
        if self.norm_first:
            x = self.layer_norm(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "norm_first": self.norm_first,
                "num_conv_pos_embeddings": self.num_conv_pos_embeddings,
                "num_conv_pos_embedding_groups": self.num_conv_pos_embedding_groups,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "activation_dropout": self.activation_dropout,
                "layerdrop": self.layerdrop,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config
