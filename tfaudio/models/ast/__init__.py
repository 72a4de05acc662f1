"""Audio Spectrogram Transformer (AST): backbone, in-graph Kaldi fbank, classifier; registers "ast_base"."""

import inspect

from tfaudio.models.ast.backbone import ASTBackbone, ASTEmbedding, resize_position_embeddings
from tfaudio.models.ast.classifier import ASTClassifier, ASTTokenPooling
from tfaudio.models.ast.features import KaldiFbank
from tfaudio.models.registry import register
from tfaudio.clip import clip_samples

_BACKBONE_ARGS = tuple(
    name for name in inspect.signature(ASTBackbone.__init__).parameters if name not in ("self", "kwargs")
)


@register("ast_base")
def build_ast_base(num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """AST-Base (768 wide, 12 layers, 12 heads, 128 mel bins, 16x16 patches, stride 10).

    `max_length` defaults to the number of fbank frames in one clip (98 for 1 s),
    so nothing is padded. Overrides named like `ASTBackbone` arguments go to the
    backbone (e.g. `hidden_dim=32, num_layers=2` for tests), the others to
    `ASTClassifier` (`mean`, `std`, `window`, `labels`).
    """
    backbone_args = {name: overrides.pop(name) for name in list(overrides) if name in _BACKBONE_ARGS}
    if "max_length" not in backbone_args:
        fbank = KaldiFbank(sample_rate=sample_rate, num_mel_bins=backbone_args.get("num_mel_bins", 128))
        backbone_args["max_length"] = max(fbank.num_frames(clip_samples(sample_rate, clip_seconds)), 1)
    backbone = ASTBackbone(**backbone_args)
    return ASTClassifier(backbone, num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **overrides)


__all__ = [
    "ASTBackbone",
    "ASTClassifier",
    "ASTEmbedding",
    "ASTTokenPooling",
    "KaldiFbank",
    "build_ast_base",
    "resize_position_embeddings",
]
