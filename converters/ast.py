"""Converts Hugging Face `ASTForAudioClassification` folders into tfaudio `ASTClassifier` models.

    python -m tfaudio.converters.ast SRC_DIR OUT.keras [--clip-seconds S] [--max-length FRAMES]

The converted model takes raw waveforms: `preprocessor_config.json` (when present)
sets the in-graph Kaldi fbank (sampling rate, mel bins, max_length, mean, std).
Every checkpoint tensor must be consumed and every shape must match; labels from
`id2label` are saved in the model's config. With a `max_length` or strides other
than the checkpoint's, the patch position embeddings are bilinearly resized (the
AST paper's recipe), e.g. to fine-tune a 10 s AudioSet checkpoint on 1 s clips.
"""

import argparse
import json
import os
import sys

import numpy as np

from tfaudio.atomic import atomic_path
from tfaudio.converters.checkpoint import Checkpoint

_PREFIX = "audio_spectrogram_transformer."

# === Config mapping ===


def backbone_kwargs(config, max_length=None, frequency_stride=None, time_stride=None):
    """`ASTBackbone` constructor arguments from a transformers `ASTConfig` dict (optionally re-gridded)."""
    for key, supported in (("hidden_act", "gelu"), ("qkv_bias", True)):
        if config.get(key, supported) != supported:
            raise ValueError(f"Unsupported AST config (only {key}={supported!r}). Received: {key}={config[key]!r}")
    return {
        "num_mel_bins": config.get("num_mel_bins", 128),
        "max_length": int(max_length or config.get("max_length", 1024)),
        "patch_size": config.get("patch_size", 16),
        "frequency_stride": int(frequency_stride or config.get("frequency_stride", 10)),
        "time_stride": int(time_stride or config.get("time_stride", 10)),
        "hidden_dim": config["hidden_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "intermediate_dim": config["intermediate_size"],
        "dropout": config.get("hidden_dropout_prob", 0.0),
        "attention_dropout": config.get("attention_probs_dropout_prob", 0.0),
        "layer_norm_epsilon": config.get("layer_norm_eps", 1e-12),
    }


def read_preprocessor(src_dir, config):
    """Fbank settings from `preprocessor_config.json`, else ASTFeatureExtractor's defaults."""
    from tfaudio.models.ast.features import AUDIOSET_MEAN, AUDIOSET_STD

    path = os.path.join(src_dir, "preprocessor_config.json")
    settings = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            settings = json.load(f)
    num_mel_bins = settings.get("num_mel_bins", config.get("num_mel_bins", 128))
    if num_mel_bins != config.get("num_mel_bins", 128):
        raise ValueError(
            f"preprocessor_config.json and config.json disagree on num_mel_bins. "
            f"Received: {num_mel_bins} and {config.get('num_mel_bins')}"
        )
    normalize = settings.get("do_normalize", True)
    return {
        "sample_rate": int(settings.get("sampling_rate", 16000)),
        "max_length": int(settings.get("max_length", config.get("max_length", 1024))),
        "mean": float(settings.get("mean", AUDIOSET_MEAN)) if normalize else None,
        "std": float(settings.get("std", AUDIOSET_STD)) if normalize else None,
    }


def labels_from_config(config):
    """Class names ordered by index from `id2label`, or None when it is absent."""
    id2label = config.get("id2label")
    if not id2label:
        return None
    return [str(id2label[key]) for key in sorted(id2label, key=int)]


# === Weight porting ===


def _assign(variable, value, name):
    if tuple(variable.shape) != tuple(value.shape):
        raise ValueError(f"Shape mismatch for {name!r}: checkpoint {tuple(value.shape)}, model {tuple(variable.shape)}.")
    variable.assign(value.astype(np.float32))


def _port_dense(dense, ckpt, *names):
    """A torch Linear (`[out, in]` weight) into a Keras Dense; `names` are alternative prefixes."""
    kernel = ckpt.take_any(*(f"{n}.weight" for n in names))
    _assign(dense.kernel, kernel.T, names[0])
    _assign(dense.bias, ckpt.take_any(*(f"{n}.bias" for n in names)), names[0])


def _port_norm(norm, ckpt, name):
    _assign(norm.gamma, ckpt.take(f"{name}.weight"), name)
    _assign(norm.beta, ckpt.take(f"{name}.bias"), name)


def port_backbone(backbone, ckpt, source_grid, prefix=_PREFIX):
    """Copies an `ASTModel`'s tensors into `backbone`, resizing position embeddings to its grid."""
    from tfaudio.models.ast.backbone import resize_position_embeddings

    p = prefix + "embeddings."
    projection = ckpt.take(p + "patch_embeddings.projection.weight")  # [hidden, 1, f, t]
    _assign(backbone.patch_embedding.kernel, projection.transpose(2, 3, 1, 0), "patch_embeddings.projection")
    _assign(backbone.patch_embedding.bias, ckpt.take(p + "patch_embeddings.projection.bias"), "projection.bias")
    embedding = backbone.embedding
    _assign(embedding.cls_token, ckpt.take(p + "cls_token"), "cls_token")
    _assign(embedding.distillation_token, ckpt.take(p + "distillation_token"), "distillation_token")
    hidden = backbone.hidden_dim
    positions = ckpt.take(p + "position_embeddings", shape=(1, source_grid[0] * source_grid[1] + 2, hidden))[0]
    patches = positions[2:]
    if tuple(source_grid) != tuple(backbone.grid):
        patches = resize_position_embeddings(patches, source_grid, backbone.grid)
    _assign(embedding.position_embeddings, np.concatenate([positions[:2], patches])[None], "position_embeddings")

    for i, block in enumerate(backbone.transformer_layers):
        # transformers <= 4.x names first, then the renamed 5.x modules.
        old, new = f"{prefix}encoder.layer.{i}.", f"{prefix}layers.{i}."
        _port_dense(block.query, ckpt, old + "attention.attention.query", new + "attention.q_proj")
        _port_dense(block.key, ckpt, old + "attention.attention.key", new + "attention.k_proj")
        _port_dense(block.value, ckpt, old + "attention.attention.value", new + "attention.v_proj")
        _port_dense(block.attention_output, ckpt, old + "attention.output.dense", new + "attention.o_proj")
        _port_dense(block.intermediate, ckpt, old + "intermediate.dense", new + "mlp.fc1")
        _port_dense(block.output_dense, ckpt, old + "output.dense", new + "mlp.fc2")
        for norm, suffix in ((block.attention_norm, "layernorm_before"), (block.output_norm, "layernorm_after")):
            name = old + suffix if f"{old}{suffix}.weight" in ckpt else new + suffix
            _port_norm(norm, ckpt, name)
    _port_norm(backbone.final_norm, ckpt, prefix + "layernorm")


def port_classifier(model, ckpt, source_grid):
    port_backbone(model.backbone, ckpt, source_grid)
    _port_norm(model.head_norm, ckpt, "classifier.layernorm")
    _port_dense(model.logits_layer, ckpt, "classifier.dense")


# === Entry points ===


def convert(src_dir, out_path=None, clip_seconds=None, max_length=None, frequency_stride=None, time_stride=None):
    """Builds an `ASTClassifier` from a Hugging Face `ASTForAudioClassification` folder.

    Args:
        src_dir: str. Folder with `config.json`, `model.safetensors` (or
            `pytorch_model.bin`) and optionally `preprocessor_config.json`.
        out_path: str or None. Where to save the `.keras` model, if given.
        clip_seconds: float or None. Input length of the converted model. None
            means exactly enough samples for the `max_length` frames.
        max_length: int or None. Fbank frames the model sees (padded/cropped).
            None keeps the checkpoint's; another value resizes the position
            embeddings.
        frequency_stride: int or None. Patch stride along frequency; None keeps
            the checkpoint's; another value resizes the position embeddings.
        time_stride: int or None. Patch stride along time, likewise.

    Returns:
        `ASTClassifier` taking `[batch, samples]` waveforms at the checkpoint's
        sampling rate; its `labels` come from `id2label`.

    Raises:
        ValueError / KeyError: unsupported config, shape mismatch, missing or unused tensors.
    """
    from tfaudio.models.ast import ASTBackbone, ASTClassifier, KaldiFbank
    from tfaudio.models.ast.backbone import patch_grid

    ckpt = Checkpoint(src_dir)
    config = ckpt.config
    architectures = config.get("architectures") or []
    if architectures and architectures[0] != "ASTForAudioClassification":
        raise ValueError(f"Expected an ASTForAudioClassification checkpoint. Received: architectures={architectures}")
    preprocessor = read_preprocessor(src_dir, config)
    if preprocessor["max_length"] != config.get("max_length", 1024):
        raise ValueError(
            "preprocessor_config.json and config.json disagree on max_length. "
            f"Received: {preprocessor['max_length']} and {config.get('max_length')}"
        )
    source_grid = patch_grid(
        config.get("num_mel_bins", 128),
        config.get("max_length", 1024),
        config.get("patch_size", 16),
        config.get("frequency_stride", 10),
        config.get("time_stride", 10),
    )
    kwargs = backbone_kwargs(config, max_length, frequency_stride, time_stride)
    sample_rate = preprocessor["sample_rate"]
    if clip_seconds is None:
        fbank = KaldiFbank(sample_rate=sample_rate, num_mel_bins=kwargs["num_mel_bins"])
        clip_seconds = ((kwargs["max_length"] - 1) * fbank._frame_step + fbank._frame_length) / sample_rate
    labels = labels_from_config(config)
    num_classes = len(labels) if labels else int(config.get("num_labels", 2))
    model = ASTClassifier(
        ASTBackbone(**kwargs),
        num_classes=num_classes,
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        mean=preprocessor["mean"],
        std=preprocessor["std"],
        labels=labels,
    )
    port_classifier(model, ckpt, source_grid)
    ckpt.check_all_used()
    if out_path is not None:
        with atomic_path(out_path) as tmp:
            model.save(tmp)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tfaudio.converters.ast",
        description="Convert a Hugging Face ASTForAudioClassification folder into a tfaudio .keras model "
        "that takes raw waveforms.",
    )
    parser.add_argument("src_dir", help="Folder with config.json, model.safetensors and preprocessor_config.json.")
    parser.add_argument("out", help="Output .keras path.")
    parser.add_argument("--clip-seconds", type=float, default=None, help="Input length in seconds.")
    parser.add_argument(
        "--max-length", type=int, default=None, help="Fbank frames (default: the checkpoint's; others resize positions)."
    )
    parser.add_argument("--frequency-stride", type=int, default=None, help="Patch stride along frequency.")
    parser.add_argument("--time-stride", type=int, default=None, help="Patch stride along time.")
    args = parser.parse_args(argv)
    model = convert(
        args.src_dir,
        args.out,
        clip_seconds=args.clip_seconds,
        max_length=args.max_length,
        frequency_stride=args.frequency_stride,
        time_stride=args.time_stride,
    )
    print(f"Converted {args.src_dir} -> {args.out} ({model.count_params():,} parameters, {model.num_classes} classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
