"""tfaudio.layers."""

from tfaudio.layers.transformer_encoder import TransformerEncoderBlock  # noqa: E402,F401
