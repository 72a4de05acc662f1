"""wav2vec 2.0 in tfaudio: how big and how fast is it in TFLite, and does it learn FSDD from scratch?

Two parts (both by default):
  * `size`: parameter counts of the base and large classifiers; the base classifier (random init,
    no pretrained weights are available offline) for 1 s of 16 kHz audio converted to TFLite float
    and full int8 (calibrated on 32 FSDD training clips resampled to 16 kHz): file size, latency
    (ai_edge_litert, 1 thread, batch 1) and float-vs-int8 logit agreement on 64 FSDD test clips.
  * `finetune`: a small wav2vec2 (`--hidden-dim`, `--num-layers`, conv width `--conv-dim`, the
    base layout otherwise) trained from random init on FSDD (official split, resampled to 16 kHz,
    1 s clips, per-clip zero-mean/unit-variance like transformers' `do_normalize`); test accuracy
    of Keras and TFLite float / dynamic / int8 / int8_mixed / int16x8.
Results: benchmarks/results/wav2vec2.json and benchmarks/results/wav2vec2.md.

  * `quantization` (with `--model` saved by `finetune --save-model`): the same TFLite variants of
    the saved fine-tuned model (FSDD test accuracy, size, p50), without training again.
  * `pretrain`: self-supervised pretraining of the same small model on the unlabeled FSDD training
    clips with `model.fit`: contrastive loss and codevector perplexity per epoch.
Run: python benchmarks/wav2vec2.py [--part size|finetune|pretrain|all] [--epochs 15]
     (size: ~5 min; finetune: ~15 min; pretrain: ~5 min on 2 shared cores)
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from _fit import fit_cosine  # noqa: E402
from _tflite_variants import (  # noqa: E402
    arrays, compare_with_keras, profile_markdown, quantization_markdown, score_and_profile, score_variants,
)
from tfaudio.backend import keras  # noqa: E402
from tfaudio.models import build  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
FSDD = os.environ.get("TFAUDIO_FSDD", os.path.join(os.path.dirname(HERE), "..", "shared", "data", "fsdd"))
SAMPLE_RATE = 16000


def normalize(waveform):
    """Per-clip zero mean / unit variance (transformers' Wav2Vec2FeatureExtractor `do_normalize`)."""
    mean, variance = tf.nn.moments(waveform, axes=[-1], keepdims=True)
    return (waveform - mean) / tf.sqrt(variance + 1e-7)


def fsdd_datasets(batch_size, seed=0, cache=True):
    from tfaudio.data import fsdd

    train, test, labels = fsdd(
        FSDD, sample_rate=SAMPLE_RATE, clip_seconds=1.0, batch_size=batch_size, seed=seed, cache=cache
    )
    train = train.map(lambda x, y: (normalize(x), y))
    test = test.map(lambda x, y: (normalize(x), y))
    return train, test, labels


def small_backbone_args(args):
    """The small model of `finetune` and `pretrain`: the base layout at `--hidden-dim`, `--num-layers`, `--conv-dim`."""
    return dict(
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        num_heads=4,
        intermediate_dim=4 * args.hidden_dim,
        conv_dims=[args.conv_dim] * 7,
        num_conv_pos_embeddings=32,
        num_conv_pos_embedding_groups=4,
    )


def part_size(args, results):
    import gc

    # Large first, then freed: the base conversion below needs several GB on its own.
    large = build("wav2vec2_large", 10, sample_rate=SAMPLE_RATE, clip_seconds=1.0)
    params = {"wav2vec2_large_backbone": large.backbone.count_params(), "wav2vec2_large_classifier": large.count_params()}
    del large
    keras.backend.clear_session()
    gc.collect()
    base = build("wav2vec2_base", 10, sample_rate=SAMPLE_RATE, clip_seconds=1.0)
    params.update({"wav2vec2_base_backbone": base.backbone.count_params(), "wav2vec2_base_classifier": base.count_params()})
    results["params"] = params
    print(results["params"], flush=True)
    train, test, _ = fsdd_datasets(32, cache=False)
    calib, _ = arrays(train, 32)
    x_test, _ = arrays(test, 64)
    keras_logits = base.predict(x_test, batch_size=8, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        results["base_tflite_1s_16k"] = compare_with_keras(
            base, x_test, keras_logits, calib, tmp, name="w2v_base", runs=args.runs, warmup=2, batch_size=8
        )


def part_finetune(args, results):
    tf.random.set_seed(0)
    train, test, labels = fsdd_datasets(args.batch_size)
    overrides = dict(small_backbone_args(args), classifier_proj_size=64, layerdrop=0.0)
    model = build("wav2vec2_base", len(labels), sample_rate=SAMPLE_RATE, clip_seconds=1.0, **overrides)
    history, train_s = fit_cosine(
        model, train, test, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        max_warmup_steps=200, weight_decay=0.01,
    )
    x_test, y_test = arrays(test)
    keras_acc = float(np.mean(model.predict(x_test, batch_size=64, verbose=0).argmax(-1) == y_test))
    if args.save_model:
        model.save(args.save_model)
    calib, _ = arrays(train, 64)
    with tempfile.TemporaryDirectory() as tmp:
        tflite = score_variants(
            model, x_test, y_test, calib, tmp,
            name="w2v_small", quantizations=(None, "dynamic", "int8", "int8_mixed", "int16x8"), runs=20,
            keep_going=True,
        )
    results["finetune_fsdd_16k"] = {
        "config": overrides,
        "params": model.count_params(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "train_seconds": train_s,
        "val_accuracy_per_epoch": [round(v, 4) for v in history.history["val_accuracy"]],
        "test_accuracy_keras": keras_acc,
        "tflite": tflite,
        "test_clips": int(len(y_test)),
    }
    print(results["finetune_fsdd_16k"], flush=True)


def part_pretrain(args, results):
    """Self-supervised pretraining of the small model on unlabeled FSDD training clips."""
    from tfaudio.models.wav2vec2 import Wav2Vec2Backbone, Wav2Vec2PreTrainer

    tf.random.set_seed(0)
    train, _, _ = fsdd_datasets(args.batch_size)
    unlabeled = train.map(lambda x, y: x)
    backbone = Wav2Vec2Backbone(
        **small_backbone_args(args),
        layerdrop=0.0,
        mask_time_prob=0.65,
        mask_time_length=5,
        num_samples=SAMPLE_RATE,
    )
    model = Wav2Vec2PreTrainer(
        backbone,
        num_codevector_groups=2,
        num_codevectors_per_group=64,
        codevector_dim=64,
        proj_codevector_dim=64,
        num_negatives=20,
    )
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    start = time.perf_counter()
    history = model.fit(unlabeled, epochs=args.pretrain_epochs, verbose=2)
    frames_masked = None
    for x in unlabeled.take(1):
        frames_masked = float(tf.reduce_sum(tf.cast(model(x, training=False)["mask_time_indices"], tf.float32)))
        frames_masked /= int(x.shape[0])
    results["pretrain_fsdd_16k"] = {
        "epochs": args.pretrain_epochs,
        "train_seconds": time.perf_counter() - start,
        "num_negatives": 20,
        "codebook": "2 groups x 64 entries (perplexity max 128)",
        "masked_frames_per_clip": frames_masked,
        "contrastive_loss_per_epoch": [round(v, 2) for v in history.history["contrastive_loss"]],
        "codevector_perplexity_per_epoch": [round(v, 2) for v in history.history["codevector_perplexity"]],
    }
    print(results["pretrain_fsdd_16k"], flush=True)


PROFILED = (None, "int8", "int8_mixed")  # per-op profiles of these variants


def part_quantization(args, results):
    """Which TFLite quantization keeps the fine-tuned model's accuracy? (needs --model from finetune)"""
    import tfaudio.models.wav2vec2  # noqa: F401  (registers the classes for load_model)

    if not args.model:
        raise ValueError("--part quantization needs --model PATH.keras (from --part finetune --save-model).")
    model = keras.models.load_model(args.model)
    train, test, _ = fsdd_datasets(64)
    x_test, y_test = arrays(test)
    calib, _ = arrays(train, 64)  # the calibration set of `finetune`
    out = {"keras": float(np.mean(model.predict(x_test, batch_size=64, verbose=0).argmax(-1) == y_test))}
    scores, profiles = score_and_profile(
        model, x_test, y_test, calib, quantizations=(None, "dynamic", "int8", "int8_mixed", "int16x8"),
        profiled=PROFILED, runs=20,
    )  # fmt: skip
    results["quantization_fsdd_16k"] = {**out, **scores}
    results["quantization_profile"] = profiles


def write_markdown(results, path):
    lines = ["# wav2vec 2.0 benchmark", "", f"Machine: {results['machine']}; TFLite runs use 1 thread, batch 1.", ""]
    if "params" in results:
        lines += ["| model | parameters |", "|---|---:|"]
        lines += [f"| {k} | {v / 1e6:.1f} M |" for k, v in results["params"].items()]
        lines += [""]
    if "base_tflite_1s_16k" in results:
        lines += [
            "wav2vec2_base classifier (random init), 1 s of 16 kHz audio:",
            "",
            "| TFLite | size (MB) | p50 (ms) | p90 (ms) | max abs logit diff vs Keras | argmax agreement | non-builtin ops |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, r in results["base_tflite_1s_16k"].items():
            lines.append(
                f"| {name} | {r['size_mb']:.1f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | "
                f"{r['max_abs_diff_vs_keras']:.2e} | {r['argmax_agreement_vs_keras']:.3f} | {r['non_builtin_ops'] or 'none'} |"
            )
        lines += [""]
    if "finetune_fsdd_16k" in results:
        r = results["finetune_fsdd_16k"]
        lines += [
            f"Fine-tuning from random init on FSDD (official split, {r['test_clips']} test clips, 16 kHz, 1 s): "
            f"{r['params'] / 1e6:.2f} M parameters, {r['epochs']} epochs, batch {r['batch_size']}, "
            f"{r['train_seconds'] / 60:.1f} min on this machine.",
            "",
            "| model | test accuracy | size (MB) | p50 (ms) |",
            "|---|---:|---:|---:|",
            f"| Keras | {r['test_accuracy_keras']:.3f} | | |",
        ]
        for name, t in r["tflite"].items():
            if "error" in t:
                lines.append(f"| TFLite {name} | failed: {t['error'][:120]} | | |")
            else:
                lines.append(f"| TFLite {name} | {t['accuracy']:.3f} | {t['size_mb']:.2f} | {t['p50_ms']:.1f} |")
        lines += ["", f"Validation accuracy per epoch: {r['val_accuracy_per_epoch']}", ""]
    if "pretrain_fsdd_16k" in results:
        r = results["pretrain_fsdd_16k"]
        lines += [
            f"Self-supervised pretraining of the same small model on unlabeled FSDD training clips "
            f"({r['epochs']} epochs, {r['num_negatives']} distractors, {r['codebook']}, "
            f"~{r['masked_frames_per_clip']:.0f} of 49 frames masked per clip; losses are sums per batch of 32):",
            "",
            f"- contrastive loss per epoch: {r['contrastive_loss_per_epoch']}",
            f"- codevector perplexity per epoch: {r['codevector_perplexity_per_epoch']}",
            "",
        ]
    if "quantization_fsdd_16k" in results:
        r = results["quantization_fsdd_16k"]
        lines += [
            "TFLite quantization of the fine-tuned small model saved by `finetune` (`--part quantization "
            f"--model`; FSDD test accuracy; Keras: {r['keras']:.3f}; 64 calibration clips):",
            "",
            *quantization_markdown(r, p50_format=".1f"),
            "",
        ]
    if results.get("quantization_profile"):
        lines += [
            "Per-op profile of those files (`tfaudio.bench.profile`: every op timed alone, CPU time, 1 thread; "
            "the costliest op types; `tfaudio bench FILE --profile out.json --clock cpu` prints the same):",
            "",
            *profile_markdown(results["quantization_profile"]),
            "",
        ]
    lines += [
        "Notes:",
        "",
        "- Latencies were measured while ~8 other jobs shared the 2 cores (load average ~15), so they are",
        "  inflated and noisy (see p90); sizes and accuracies are not affected.",
        "- The base model has random weights (no checkpoints offline), so its float-vs-int8 logit agreement",
        "  says little; the fine-tuned small model is the accuracy reference.",
        "- Full int8 loses 15-30 points on wav2vec2 (0.69 and 0.82 with two 64-clip calibration sets vs 0.983",
        "  float) and is slower than float: XNNPACK has no int8 BATCH_MATMUL, SOFTMAX, SQUARED_DIFFERENCE or",
        "  RSQRT (TFLite's own kernels run them, see the profile), and its int8 conv with one input channel",
        "  (the conv on the waveform) is 5x slower than its float one. `int8_mixed` (tfaudio/export/mixed.py)",
        "  keeps in float the norm layers, the attention scores and softmax, one-input-channel convs and the",
        "  conv feature encoder; every other weight and activation is int8. Measured on this model, one",
        "  group at a time added to float (same calibration, full int8 0.817): norm layers -> 0.93, + the",
        "  waveform conv -> 0.95, + the rest of the feature encoder -> 0.983 (= float); attention in float",
        "  changes no prediction but removes the slow int8 kernels.",
        "- int16x8 converts since this session (layer norms traced in SUB/MUL form: Keras' form emits NEG and",
        "  SQUARED_DIFFERENCE, which have no 16x8 kernels) and keeps accuracy, but runs on TFLite's",
        "  reference kernels, 30-100x slower than float (two runs).",
        "- Speed of `int8_mixed` here: about float's (CPU time 0.96x float when the files were timed",
        "  interleaved, 1.97 vs 2.05 ms; 1.12x in the profile above), 1.2-1.9x faster than full int8. The",
        "  convolutions dominate this small model, and XNNPACK's int8 convs are no faster than its float",
        "  ones on this AVX2 CPU (no VNNI). The int8 weights make the file 0.56x float's (the feature",
        "  encoder's float weights are most of the rest).",
        "- The fine-tuning table's TFLite rows were converted before `int8_mixed` existed and before int16x8",
        "  converted (that run had started with the earlier export code); the quantization table is the same",
        "  saved model through the current export (its int8 0.817 vs 0.690 there: another 64-clip calibration set).",
        "- p50 columns are wall time on the shared machine; the profile's whole-model CPU times are the",
        "  steadier comparison of the files.",
        "- Pretraining losses are sums over the masked frames of a batch: per masked frame the contrastive",
        "  loss goes from about 2.75 to 2.32 (chance with 20 distractors: ln 21 = 3.04).",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("size", "finetune", "pretrain", "quantization", "all"), default="all")
    parser.add_argument("--runs", type=int, default=10, help="Timed TFLite runs of the base model.")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument("--save-model", default=None, help="Save the fine-tuned model (.keras) here.")
    parser.add_argument("--model", default=None, help="Fine-tuned .keras model for --part quantization.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--hidden-dim", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--conv-dim", type=int, default=64)
    args = parser.parse_args()

    os.makedirs(RESULTS, exist_ok=True)
    json_path = os.path.join(RESULTS, "wav2vec2.json")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}"}
    if args.part in ("size", "all"):
        part_size(args, results)
    if args.part in ("finetune", "all"):
        part_finetune(args, results)
    if args.part in ("pretrain", "all"):
        part_pretrain(args, results)
    if args.part == "quantization":
        part_quantization(args, results)
    if os.path.isfile(json_path):  # parts run separately accumulate in one file (read late: runs may overlap)
        with open(json_path, encoding="utf-8") as f:
            results = dict(json.load(f), **results)
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    write_markdown(results, os.path.join(RESULTS, "wav2vec2.md"))
    print(open(os.path.join(RESULTS, "wav2vec2.md")).read())


if __name__ == "__main__":
    main()
