"""Converts Hugging Face wav2vec 2.0 checkpoints (config.json + safetensors/.bin) into tfaudio Keras models.

    python -m tfaudio.converters.wav2vec2 SRC_DIR OUT.keras [--num-samples N] [--padding-mask]
                                         [--num-classes K [--freeze-feature-encoder]]

Supports `Wav2Vec2Model` (-> `Wav2Vec2Backbone`), `Wav2Vec2ForSequenceClassification`
(-> `Wav2Vec2Classifier`) and `Wav2Vec2ForPreTraining` (-> `Wav2Vec2PreTrainer`),
both layer-norm variants; with `--num-classes`, the backbone of any wav2vec2 checkpoint
(e.g. a CTC model) under a new classifier head. Every checkpoint tensor must be consumed; a missing or an
unused tensor is an error that names it.
"""

import argparse
import sys

import numpy as np

from tfaudio.atomic import atomic_path
from tfaudio.converters.checkpoint import Checkpoint

# === Config mapping ===


def backbone_kwargs(config, num_samples=None, use_padding_mask=False):
    """`Wav2Vec2Backbone` constructor arguments from a transformers `Wav2Vec2Config` dict."""
    unsupported = {
        "add_adapter": False,
        "use_weighted_layer_sum": False,
        "adapter_attn_dim": None,
        "feat_extract_activation": "gelu",
        "hidden_act": "gelu",
    }
    for key, supported in unsupported.items():
        if config.get(key, supported) != supported:
            raise ValueError(f"Unsupported wav2vec2 config (only {key}={supported!r}). Received: {key}={config[key]!r}")
    stable = bool(config.get("do_stable_layer_norm", False))
    return {
        "hidden_dim": config["hidden_size"],
        "num_layers": config["num_hidden_layers"],
        "num_heads": config["num_attention_heads"],
        "intermediate_dim": config["intermediate_size"],
        "conv_dims": list(config["conv_dim"]),
        "conv_kernels": list(config["conv_kernel"]),
        "conv_strides": list(config["conv_stride"]),
        "conv_bias": bool(config.get("conv_bias", False)),
        "feature_norm": config.get("feat_extract_norm", "group"),
        "norm_first": stable,
        "num_conv_pos_embeddings": config.get("num_conv_pos_embeddings", 128),
        "num_conv_pos_embedding_groups": config.get("num_conv_pos_embedding_groups", 16),
        "dropout": config.get("hidden_dropout", 0.1),
        "attention_dropout": config.get("attention_dropout", 0.1),
        "activation_dropout": config.get("activation_dropout", 0.1),
        "feature_projection_dropout": config.get("feat_proj_dropout", 0.0),
        "layerdrop": config.get("layerdrop", 0.1),
        "layer_norm_epsilon": config.get("layer_norm_eps", 1e-5),
        "mask_time_prob": config.get("mask_time_prob", 0.05) if config.get("apply_spec_augment", True) else 0.0,
        "mask_time_length": config.get("mask_time_length", 10),
        "mask_time_min_masks": config.get("mask_time_min_masks", 2),
        "mask_feature_prob": config.get("mask_feature_prob", 0.0) if config.get("apply_spec_augment", True) else 0.0,
        "mask_feature_length": config.get("mask_feature_length", 10),
        "mask_feature_min_masks": config.get("mask_feature_min_masks", 0),
        "num_samples": num_samples,
        "use_padding_mask": use_padding_mask,
    }


def pretrainer_kwargs(config):
    return {
        "num_codevector_groups": config.get("num_codevector_groups", 2),
        "num_codevectors_per_group": config.get("num_codevectors_per_group", 320),
        "codevector_dim": config.get("codevector_dim", 256),
        "proj_codevector_dim": config.get("proj_codevector_dim", 256),
        "num_negatives": config.get("num_negatives", 100),
        "contrastive_logits_temperature": config.get("contrastive_logits_temperature", 0.1),
        "diversity_loss_weight": config.get("diversity_loss_weight", 0.1),
        "feature_quantizer_dropout": config.get("feat_quantizer_dropout", 0.0),
    }


def _architecture(config):
    architectures = config.get("architectures") or ["Wav2Vec2Model"]
    return architectures[0]


# === Weight porting ===


def _assign(variable, value, name):
    value = np.asarray(value, dtype=np.float32)
    if tuple(variable.shape) != value.shape:
        raise ValueError(f"Shape mismatch porting {name!r}: checkpoint {value.shape}, model {tuple(variable.shape)}.")
    variable.assign(value)


def _port_dense(layer, ckpt, name):
    _assign(layer.kernel, ckpt.take(f"{name}.weight").T, f"{name}.weight")
    _assign(layer.bias, ckpt.take(f"{name}.bias"), f"{name}.bias")


def _port_norm(layer, ckpt, name):
    _assign(layer.gamma, ckpt.take(f"{name}.weight"), f"{name}.weight")
    _assign(layer.beta, ckpt.take(f"{name}.bias"), f"{name}.bias")


def port_backbone(backbone, ckpt, prefix=""):
    """Copies `Wav2Vec2Model` weights (names under `prefix`) into a built `Wav2Vec2Backbone`."""
    p = prefix
    encoder = backbone.feature_encoder
    for i, conv in enumerate(encoder.conv_layers):
        name = f"{p}feature_extractor.conv_layers.{i}"
        _assign(conv.kernel, ckpt.take(f"{name}.conv.weight").transpose(2, 1, 0), f"{name}.conv.weight")
        if backbone.conv_bias:
            _assign(conv.bias, ckpt.take(f"{name}.conv.bias"), f"{name}.conv.bias")
        if i < len(encoder.norm_layers):
            _port_norm(encoder.norm_layers[i], ckpt, f"{name}.layer_norm")

    _port_norm(backbone.feature_projection.layer_norm, ckpt, f"{p}feature_projection.layer_norm")
    _port_dense(backbone.feature_projection.projection, ckpt, f"{p}feature_projection.projection")
    if f"{p}masked_spec_embed" in ckpt:
        _assign(backbone.masking.masked_spec_embed, ckpt.take(f"{p}masked_spec_embed"), "masked_spec_embed")

    pos = backbone.encoder.pos_conv_embed
    name = f"{p}encoder.pos_conv_embed.conv"
    # Older transformers store torch.nn.utils.weight_norm's weight_g/weight_v; newer ones
    # the parametrization's original0 (g) / original1 (v).
    weight_g = ckpt.take_any(f"{name}.weight_g", f"{name}.parametrizations.weight.original0")
    weight_v = ckpt.take_any(f"{name}.weight_v", f"{name}.parametrizations.weight.original1")
    _assign(pos.weight_g, weight_g.reshape(-1), f"{name}.weight_g")
    _assign(pos.weight_v, weight_v.transpose(2, 1, 0), f"{name}.weight_v")
    _assign(pos.bias, ckpt.take(f"{name}.bias"), f"{name}.bias")
    _port_norm(backbone.encoder.layer_norm, ckpt, f"{p}encoder.layer_norm")

    for i, block in enumerate(backbone.encoder.blocks):
        name = f"{p}encoder.layers.{i}"
        _port_dense(block.query, ckpt, f"{name}.attention.q_proj")
        _port_dense(block.key, ckpt, f"{name}.attention.k_proj")
        _port_dense(block.value, ckpt, f"{name}.attention.v_proj")
        _port_dense(block.attention_output, ckpt, f"{name}.attention.out_proj")
        _port_norm(block.attention_norm, ckpt, f"{name}.layer_norm")
        _port_dense(block.intermediate, ckpt, f"{name}.feed_forward.intermediate_dense")
        _port_dense(block.output_dense, ckpt, f"{name}.feed_forward.output_dense")
        _port_norm(block.output_norm, ckpt, f"{name}.final_layer_norm")


def port_classifier(model, ckpt):
    port_backbone(model.backbone, ckpt, prefix="wav2vec2.")
    _port_dense(model.projector, ckpt, "projector")
    _port_dense(model.classifier, ckpt, "classifier")


def port_pretrainer(model, ckpt):
    port_backbone(model.backbone, ckpt, prefix="wav2vec2.")
    quantizer = model.quantizer
    _assign(quantizer.codevectors, ckpt.take("quantizer.codevectors")[0], "quantizer.codevectors")
    _port_dense(quantizer.weight_proj, ckpt, "quantizer.weight_proj")
    _port_dense(model.project_hid, ckpt, "project_hid")
    _port_dense(model.project_q, ckpt, "project_q")


# === Entry points ===


def _backbone_prefix(ckpt):
    return "" if any(k.startswith("feature_extractor.") for k in ckpt.keys()) else "wav2vec2."


def convert(
    src_dir, out_path=None, num_samples=None, use_padding_mask=False, num_classes=None, freeze_feature_encoder=False
):
    """Builds the tfaudio model matching a Hugging Face wav2vec2 folder and copies every weight.

    Args:
        src_dir: str. Folder with `config.json` and `model.safetensors` (or `pytorch_model.bin`).
        out_path: str or None. Where to save the `.keras` model, if given.
        num_samples: int or None. Fixed input length of the built model. Defaults to None.
        use_padding_mask: bool. Build the model with a `padding_mask` input. Defaults to False.
        num_classes: int or None. When given, port only the wav2vec2 backbone of any
            wav2vec2 checkpoint (pretraining, CTC, classification, bare model) and put a new,
            randomly initialized `Wav2Vec2Classifier` head with `num_classes` logits on it, for
            fine-tuning; the checkpoint's own head tensors are then listed as dropped.
            Defaults to None (convert the checkpoint's architecture as is).
        freeze_feature_encoder: bool. With `num_classes`, freeze the conv feature encoder.

    Returns:
        `Wav2Vec2Backbone`, `Wav2Vec2Classifier` or `Wav2Vec2PreTrainer`, by the
        checkpoint's `architectures` (a `Wav2Vec2Classifier` with `num_classes`).

    Raises:
        ValueError / KeyError: unsupported config, shape mismatch, missing or unused tensors.
    """
    from tfaudio.models.wav2vec2 import Wav2Vec2Backbone, Wav2Vec2Classifier, Wav2Vec2PreTrainer

    ckpt = Checkpoint(src_dir)
    config = ckpt.config
    architecture = _architecture(config)
    backbone = Wav2Vec2Backbone(**backbone_kwargs(config, num_samples, use_padding_mask))
    if num_classes is not None:
        prefix = _backbone_prefix(ckpt)
        port_backbone(backbone, ckpt, prefix=prefix)
        head = ckpt.unused()
        # Everything left must belong to the task head: a backbone tensor left over is a bug.
        leftover = [k for k in head if k.startswith(prefix)] if prefix else head
        if leftover:
            raise ValueError(f"{len(leftover)} backbone tensors were not used: {leftover}")
        for name in head:
            ckpt.skip(name)
        if head:
            print(f"Dropped the checkpoint's {architecture} head (replaced by a new classifier): {head}")
        model = Wav2Vec2Classifier(
            backbone,
            num_classes=num_classes,
            classifier_proj_size=config.get("classifier_proj_size", 256),
            freeze_feature_encoder=freeze_feature_encoder,
        )
    elif architecture == "Wav2Vec2Model":
        model = backbone
        port_backbone(model, ckpt, prefix=_backbone_prefix(ckpt))
    elif architecture == "Wav2Vec2ForSequenceClassification":
        num_labels = len(config.get("id2label") or {}) or config.get("num_labels", 2)
        model = Wav2Vec2Classifier(
            backbone, num_classes=num_labels, classifier_proj_size=config.get("classifier_proj_size", 256)
        )
        port_classifier(model, ckpt)
    elif architecture == "Wav2Vec2ForPreTraining":
        model = Wav2Vec2PreTrainer(backbone, **pretrainer_kwargs(config))
        port_pretrainer(model, ckpt)
    else:
        raise ValueError(
            "Unsupported architecture; expected Wav2Vec2Model, Wav2Vec2ForSequenceClassification or "
            f"Wav2Vec2ForPreTraining (or pass num_classes to reuse only the backbone). "
            f"Received: architectures={config.get('architectures')}"
        )
    ckpt.check_all_used()
    if out_path is not None:
        with atomic_path(out_path) as tmp:
            model.save(tmp)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tfaudio.converters.wav2vec2",
        description="Convert a Hugging Face wav2vec2 checkpoint folder into a tfaudio .keras model.",
    )
    parser.add_argument("src_dir", help="Folder with config.json and model.safetensors or pytorch_model.bin.")
    parser.add_argument("out", help="Output .keras path.")
    parser.add_argument("--num-samples", type=int, default=None, help="Fix the input length (samples).")
    parser.add_argument("--padding-mask", action="store_true", help="Add a padding_mask input.")
    parser.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="Keep only the backbone of any wav2vec2 checkpoint (pretraining, CTC, ...) and add a new "
        "classifier head with this many classes, for fine-tuning.",
    )
    parser.add_argument(
        "--freeze-feature-encoder", action="store_true", help="With --num-classes: freeze the conv feature encoder."
    )
    args = parser.parse_args(argv)
    model = convert(
        args.src_dir,
        args.out,
        num_samples=args.num_samples,
        use_padding_mask=args.padding_mask,
        num_classes=args.num_classes,
        freeze_feature_encoder=args.freeze_feature_encoder,
    )
    print(f"Converted {args.src_dir} -> {args.out} ({model.__class__.__name__}, {model.count_params():,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
