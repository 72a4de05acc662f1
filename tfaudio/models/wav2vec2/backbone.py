"""The wav2vec 2.0 backbone: raw waveform to contextual frame features."""

from tfaudio.backend import keras, register_serializable
from tfaudio.models.backbone import Backbone
from tfaudio.models.wav2vec2.layers import (
    FramePaddingMask,
    Wav2Vec2Encoder,
    Wav2Vec2FeatureEncoder,
    Wav2Vec2FeatureProjection,
    Wav2Vec2Masking,
    conv_output_length,
)


@register_serializable
class Wav2Vec2Backbone(Backbone):
    """wav2vec 2.0 encoder (Baevski et al. 2020, arXiv 2006.11477) as a functional Keras model.

    Conv feature encoder -> layer norm + projection -> SpecAugment-style masking (training
    only) -> positional conv embedding -> transformer blocks. `feature_norm="group"`
    with `norm_first=False` is the "base" layout; `feature_norm="layer"` with
    `norm_first=True` the "large"/"stable layer norm" one. The defaults are wav2vec 2.0 base.

    Args:
        hidden_dim: int. Transformer width. Defaults to 768.
        num_layers: int. Transformer blocks. Defaults to 12.
        num_heads: int. Attention heads. Defaults to 12.
        intermediate_dim: int. Feed-forward width. Defaults to 3072.
        conv_dims, conv_kernels, conv_strides: lists of int. The feature encoder convs.
            Default to 7 x 512, (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2).
        conv_bias: bool. Bias in the feature encoder convs. Defaults to False.
        feature_norm: str. "group" (norm after the first conv only) or "layer" (after
            every conv). Defaults to "group".
        norm_first: bool. Pre-LN transformer ("stable layer norm"). Defaults to False.
        num_conv_pos_embeddings: int. Positional conv width. Defaults to 128.
        num_conv_pos_embedding_groups: int. Positional conv groups. Defaults to 16.
        dropout: float. Hidden dropout. Defaults to 0.1.
        attention_dropout: float. Defaults to 0.1.
        activation_dropout: float. Defaults to 0.1.
        feature_projection_dropout: float. Defaults to 0.0.
        layerdrop: float. Block skip probability in training. Defaults to 0.1.
        layer_norm_epsilon: float. Defaults to 1e-5.
        mask_time_prob, mask_time_length, mask_time_min_masks, mask_feature_prob,
            mask_feature_length, mask_feature_min_masks: SpecAugment settings of
            `Wav2Vec2Masking`, applied in training only. Default to 0.05, 10, 2, 0.0, 10, 0.
        num_samples: int or None. Fixed input length, or None for any length.
            Defaults to None.
        use_padding_mask: bool. Adds a `padding_mask` input `[batch, samples]` (1 for real
            samples, right padding); inputs are then a dict `{"waveform", "padding_mask"}`.
            Defaults to False.

    Input shape:
        `[batch, samples]` float32 waveform (or the dict above).

    Output shape:
        `[batch, frames, hidden_dim]` with `frames = conv_output_length(samples)`.

    Example:
    >>> backbone = Wav2Vec2Backbone(hidden_dim=32, num_layers=2, num_heads=2, intermediate_dim=64,
    ...                             conv_dims=[32] * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    >>> backbone(np.zeros([1, 16000], "float32")).shape
    TensorShape([1, 49, 32])
    """

    def __init__(
        self,
        hidden_dim=768,
        num_layers=12,
        num_heads=12,
        intermediate_dim=3072,
        conv_dims=(512,) * 7,
        conv_kernels=(10, 3, 3, 3, 3, 2, 2),
        conv_strides=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=False,
        feature_norm="group",
        norm_first=False,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.1,
        feature_projection_dropout=0.0,
        layerdrop=0.1,
        layer_norm_epsilon=1e-5,
        mask_time_prob=0.05,
        mask_time_length=10,
        mask_time_min_masks=2,
        mask_feature_prob=0.0,
        mask_feature_length=10,
        mask_feature_min_masks=0,
        num_samples=None,
        use_padding_mask=False,
        **kwargs,
    ):
        if hidden_dim % num_heads:
            raise ValueError(
                f"`hidden_dim` must be divisible by `num_heads`. Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
            )
        conv_dims, conv_kernels, conv_strides = list(conv_dims), list(conv_kernels), list(conv_strides)
        if num_samples is not None and conv_output_length(num_samples, conv_kernels, conv_strides) < 1:
            raise ValueError(
                f"`num_samples` is too short for the feature encoder (no output frame). Received: num_samples={num_samples}"
            )

        # === Layers ===
        feature_encoder = Wav2Vec2FeatureEncoder(
            conv_dims, conv_kernels, conv_strides, conv_bias=conv_bias, feature_norm=feature_norm, name="feature_encoder"
        )
        feature_projection = Wav2Vec2FeatureProjection(
            hidden_dim, dropout=feature_projection_dropout, layer_norm_epsilon=layer_norm_epsilon, name="feature_projection"
        )
        frame_padding_mask = FramePaddingMask(conv_kernels, conv_strides, name="frame_padding_mask")
        masking = Wav2Vec2Masking(
            mask_time_prob=mask_time_prob,
            mask_time_length=mask_time_length,
            mask_time_min_masks=mask_time_min_masks,
            mask_feature_prob=mask_feature_prob,
            mask_feature_length=mask_feature_length,
            mask_feature_min_masks=mask_feature_min_masks,
            name="masking",
        )
        encoder = Wav2Vec2Encoder(
            num_layers=num_layers,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            norm_first=norm_first,
            num_conv_pos_embeddings=num_conv_pos_embeddings,
            num_conv_pos_embedding_groups=num_conv_pos_embedding_groups,
            dropout=dropout,
            attention_dropout=attention_dropout,
            activation_dropout=activation_dropout,
            layerdrop=layerdrop,
            layer_norm_epsilon=layer_norm_epsilon,
            name="encoder",
        )

        # === Functional model ===
        waveform = keras.Input(shape=(num_samples,), dtype="float32", name="waveform")
        inputs = waveform
        frame_mask = None
        features = feature_encoder(waveform)
        hidden, _ = feature_projection(features)
        if use_padding_mask:
            padding_mask = keras.Input(shape=(num_samples,), dtype="int32", name="padding_mask")
            inputs = {"waveform": waveform, "padding_mask": padding_mask}
            frame_mask = frame_padding_mask(padding_mask, features)
        hidden = masking(hidden, padding_mask=frame_mask)
        outputs = encoder(hidden, padding_mask=frame_mask)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        self.feature_encoder = feature_encoder
        self.feature_projection = feature_projection
        self.frame_padding_mask = frame_padding_mask
        self.masking = masking
        self.encoder = encoder

        # === Config ===
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.conv_dims = conv_dims
        self.conv_kernels = conv_kernels
        self.conv_strides = conv_strides
        self.conv_bias = conv_bias
        self.feature_norm = feature_norm
        self.norm_first = norm_first
        self.num_conv_pos_embeddings = num_conv_pos_embeddings
        self.num_conv_pos_embedding_groups = num_conv_pos_embedding_groups
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.feature_projection_dropout = feature_projection_dropout
        self.layerdrop = layerdrop
        self.layer_norm_epsilon = layer_norm_epsilon
        self.mask_time_prob = mask_time_prob
        self.mask_time_length = mask_time_length
        self.mask_time_min_masks = mask_time_min_masks
        self.mask_feature_prob = mask_feature_prob
        self.mask_feature_length = mask_feature_length
        self.mask_feature_min_masks = mask_feature_min_masks
        self.num_samples = num_samples
        self.use_padding_mask = use_padding_mask

    def num_frames(self, num_samples):
        """Frames the backbone outputs for `num_samples` input samples."""
        return conv_output_length(num_samples, self.conv_kernels, self.conv_strides)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "conv_dims": self.conv_dims,
            "conv_kernels": self.conv_kernels,
            "conv_strides": self.conv_strides,
            "conv_bias": self.conv_bias,
            "feature_norm": self.feature_norm,
            "norm_first": self.norm_first,
            "num_conv_pos_embeddings": self.num_conv_pos_embeddings,
            "num_conv_pos_embedding_groups": self.num_conv_pos_embedding_groups,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation_dropout": self.activation_dropout,
            "feature_projection_dropout": self.feature_projection_dropout,
            "layerdrop": self.layerdrop,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "mask_time_prob": self.mask_time_prob,
            "mask_time_length": self.mask_time_length,
            "mask_time_min_masks": self.mask_time_min_masks,
            "mask_feature_prob": self.mask_feature_prob,
            "mask_feature_length": self.mask_feature_length,
            "mask_feature_min_masks": self.mask_feature_min_masks,
            "num_samples": self.num_samples,
            "use_padding_mask": self.use_padding_mask,
        }
