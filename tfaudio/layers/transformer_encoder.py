"""Transformer encoder block (self-attention + feed-forward) that converts to TFLite builtins."""

import math

import tensorflow as tf

from tfaudio.backend import keras, register_serializable

_ACTIVATIONS = ("gelu", "gelu_approximate", "relu")


def _clone_initializer(initializer):
    """A fresh copy, so weights never share one unseeded instance (tf_keras repeats its values)."""
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())


@register_serializable
class TransformerEncoderBlock(keras.layers.Layer):
    """One transformer encoder layer: multi-head self-attention then a feed-forward network.

    The block of BERT/ViT/wav2vec 2.0 (Vaswani et al. 2017, arXiv 1706.03762), with
    either the original post-LN arrangement (`norm_first=False`, wav2vec 2.0 base,
    BERT) or pre-LN (`norm_first=True`, ViT/AST, wav2vec 2.0 large). Attention is
    written with plain TF ops (`FULLY_CONNECTED`, `BATCH_MATMUL`, `SOFTMAX`, ...) so
    the layer converts to TFLite builtins, float and int8.

    Post-LN: `x = norm(x + attn(x)); x = norm(x + ffn(x))`.
    Pre-LN: `x = x + attn(norm(x)); x = x + ffn(norm(x))`.

    Sub-layers (stable names, used by checkpoint converters): `query`, `key`,
    `value`, `attention_output` (Dense with bias), `attention_norm`,
    `intermediate`, `output` (Dense with bias), `output_norm`.

    Args:
        num_heads: int. Number of attention heads; must divide the input width.
        intermediate_dim: int. Width of the feed-forward hidden layer.
        dropout: float. Dropout on the attention and feed-forward outputs
            (before the residual sum). Defaults to 0.0.
        attention_dropout: float. Dropout on the attention probabilities.
            Defaults to 0.0.
        activation_dropout: float. Dropout after the feed-forward activation.
            Defaults to 0.0.
        activation: str. "gelu" (exact erf form, transformers' "gelu"),
            "gelu_approximate" (tanh form) or "relu". Defaults to "gelu".
        layer_norm_epsilon: float. Epsilon of both layer norms. Defaults to 1e-5.
        norm_first: bool. Pre-LN when True, post-LN when False. Defaults to False.
        kernel_initializer: str or initializer. For all Dense kernels. Defaults to
            "glorot_uniform".

    Call arguments:
        inputs: float tensor `[batch, time, hidden_dim]`.
        padding_mask: optional `[batch, time]` tensor, 1/True for real frames and
            0/False for padding; padded keys get no attention. Defaults to None.
        training: bool. Enables dropout.

    Input shape:
        `[batch, time, hidden_dim]`.

    Output shape:
        `[batch, time, hidden_dim]`.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=4, intermediate_dim=128, norm_first=True)
    >>> block(tf.zeros([2, 50, 64])).shape
    TensorShape([2, 50, 64])
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        norm_first=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"`num_heads` must be a positive int. Received: num_heads={num_heads!r}")
        if not isinstance(intermediate_dim, int) or intermediate_dim < 1:
            raise ValueError(
                f"`intermediate_dim` must be a positive int. Received: intermediate_dim={intermediate_dim!r}"
            )
        for arg_name, value in (
            ("dropout", dropout),
            ("attention_dropout", attention_dropout),
            ("activation_dropout", activation_dropout),
        ):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"`{arg_name}` must be in [0, 1). Received: {arg_name}={value!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {_ACTIVATIONS}. Received: activation={activation!r}")
        if layer_norm_epsilon <= 0:
            raise ValueError(f"`layer_norm_epsilon` must be positive. Received: layer_norm_epsilon={layer_norm_epsilon!r}")

        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_first = norm_first
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

        def dense(units, name):
            return keras.layers.Dense(
                units, kernel_initializer=_clone_initializer(kernel_initializer), dtype=self.dtype_policy, name=name
            )

        def norm(name):
            return keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name=name)

        # Widths of q/k/v/output depend on the input; created in `build`.
        self._dense = dense
        self.attention_norm = norm("attention_norm")
        self.output_norm = norm("output_norm")
        self.intermediate = dense(intermediate_dim, "intermediate")
        def dropout_layer(rate, name):
            return keras.layers.Dropout(rate, dtype=self.dtype_policy, name=name)

        self.attention_probs_dropout = dropout_layer(attention_dropout, "attention_probs_dropout")
        self.attention_output_dropout = dropout_layer(dropout, "attention_output_dropout")
        self.intermediate_dropout = dropout_layer(activation_dropout, "intermediate_dropout")
        self.output_dropout = dropout_layer(dropout, "output_dropout")

    def build(self, input_shape):
        hidden_dim = int(input_shape[-1])
        if hidden_dim % self.num_heads:
            raise ValueError(
                f"The input width must be divisible by `num_heads` ({self.num_heads}). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._hidden_dim = hidden_dim
        self._head_dim = hidden_dim // self.num_heads
        self.query = self._dense(hidden_dim, "query")
        self.key = self._dense(hidden_dim, "key")
        self.value = self._dense(hidden_dim, "value")
        self.attention_output = self._dense(hidden_dim, "attention_output")
        self.output_dense = self._dense(hidden_dim, "output")
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.attention_output.build(input_shape)
        self.attention_norm.build(input_shape)
        self.output_norm.build(input_shape)
        self.intermediate.build(input_shape)
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def _split_heads(self, x, batch):
        # [batch, time, hidden] -> [batch, heads, time, head_dim]
        x = tf.reshape(x, [batch, -1, self.num_heads, self._head_dim])
        return tf.transpose(x, [0, 2, 1, 3])

    def _attention(self, x, padding_mask, training):
        batch = tf.shape(x)[0]
        query = self._split_heads(self.query(x), batch)
        key = self._split_heads(self.key(x), batch)
        value = self._split_heads(self.value(x), batch)
        # Scale q (not the scores) as transformers does, so float rounding matches.
        query = query * tf.cast(1.0 / math.sqrt(self._head_dim), query.dtype)
        scores = tf.matmul(query, key, transpose_b=True)  # [batch, heads, time, time]
        # Softmax in float32 (a no-op cast for float32 models) so float16 compute stays stable.
        scores = tf.cast(scores, tf.float32)
        if padding_mask is not None:
            keep = tf.cast(padding_mask, tf.bool)[:, None, None, :]
            scores = tf.where(keep, scores, tf.constant(-1e9, tf.float32))
        probs = tf.cast(tf.nn.softmax(scores, axis=-1), value.dtype)
        probs = self.attention_probs_dropout(probs, training=training)
        context = tf.matmul(probs, value)  # [batch, heads, time, head_dim]
        context = tf.transpose(context, [0, 2, 1, 3])
        context = tf.reshape(context, [batch, -1, self._hidden_dim])
        return self.attention_output(context)

    def _activation(self, x):
        if self.activation == "gelu":
            return tf.nn.gelu(x, approximate=False)
        if self.activation == "gelu_approximate":
            return tf.nn.gelu(x, approximate=True)
        return tf.nn.relu(x)

    def _feed_forward(self, x, training):
        x = self._activation(self.intermediate(x))
        x = self.intermediate_dropout(x, training=training)
        return self.output_dense(x)

    def call(self, inputs, padding_mask=None, training=None):
        x = inputs
        if self.norm_first:
            attended = self._attention(self.attention_norm(x), padding_mask, training)
            x = x + self.attention_output_dropout(attended, training=training)
            fed = self._feed_forward(self.output_norm(x), training)
            return x + self.output_dropout(fed, training=training)
        attended = self._attention(x, padding_mask, training)
        x = self.attention_norm(x + self.attention_output_dropout(attended, training=training))
        fed = self._feed_forward(x, training)
        return self.output_norm(x + self.output_dropout(fed, training=training))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "attention_dropout": self.attention_dropout,
                "activation_dropout": self.activation_dropout,
                "activation": self.activation,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "norm_first": self.norm_first,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
