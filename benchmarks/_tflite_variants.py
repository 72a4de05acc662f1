"""TFLite variants of a Keras model for the benchmarks: convert each, time it and compare it with Keras.

Shared by ast_bench.py and wav2vec2.py (run as scripts, so this folder is on `sys.path`; they put
the repository root there before importing this module). Every latency is 1 thread, batch 1.
"""

import os
import tempfile
import time

import numpy as np

from tfaudio.bench import tflite_latency
from tfaudio.export import TFLiteModel, tflite_op_names, to_tflite


def arrays(dataset, limit=None):
    """The first `limit` examples (all of them without it) of a batched `(x, y)` dataset as two arrays."""
    xs, ys = [], []
    for x, y in dataset:
        xs.append(x.numpy())
        ys.append(y.numpy())
        if limit and sum(len(a) for a in xs) >= limit:
            break
    x, y = np.concatenate(xs), np.concatenate(ys)
    return (x[:limit], y[:limit]) if limit else (x, y)


def compare_with_keras(
    model, x, keras_logits, calib, directory, *, name, runs, warmup, batch_size, quantizations=(None, "int8"),
    logit_std=False,
):
    """Converts `model` once per quantization and compares each TFLite file's logits on `x` with Keras'.

    For models without trained weights, where accuracy means nothing: the checks are size, latency,
    conversion time, builtin-only ops and agreement with `keras_logits` (the model's own on `x`).

    Args:
        model: keras.Model. The model to convert.
        x: array. Inputs to compare on.
        keras_logits: array. `model`'s logits on `x`.
        calib: array. Calibration inputs for the quantizations that need them.
        directory: str. Where the `.tflite` files go (`{name}_{float|quantize}.tflite`).
        name: str. File name prefix.
        runs: int. Timed TFLite invocations.
        warmup: int. Untimed invocations first.
        batch_size: int. TFLite batch for the comparison on `x`.
        quantizations: `to_tflite` modes, `None` for float.
        logit_std: bool. Also record `keras_logit_std` (the scale the logit difference is read against).

    Returns:
        dict from "float" (for `None`) or the mode to `size_mb`, `p50_ms`, `p90_ms`, `convert_s`,
        `max_abs_diff_vs_keras`, [`keras_logit_std`,] `argmax_agreement_vs_keras`, `non_builtin_ops`, `ops`.
    """
    out = {}
    for quantize in quantizations:
        path = os.path.join(directory, f"{name}_{quantize or 'float'}.tflite")
        start = time.perf_counter()
        to_tflite(model, path, quantize=quantize, representative_data=calib if quantize else None)
        convert_s = time.perf_counter() - start
        ops = tflite_op_names(path)
        latency = tflite_latency(path, num_threads=1, runs=runs, warmup=warmup)
        logits = TFLiteModel(path).predict(x, batch_size=batch_size)
        entry = {
            "size_mb": os.path.getsize(path) / 1e6,
            "p50_ms": latency["p50_ms"],
            "p90_ms": latency["p90_ms"],
            "convert_s": convert_s,
            "max_abs_diff_vs_keras": float(np.abs(logits - keras_logits).max()),
        }
        if logit_std:
            entry["keras_logit_std"] = float(keras_logits.std())
        entry["argmax_agreement_vs_keras"] = float(np.mean(logits.argmax(-1) == keras_logits.argmax(-1)))
        entry["non_builtin_ops"] = [op for op in ops if op.startswith(("Flex", "CUSTOM"))]
        entry["ops"] = ops
        out[quantize or "float"] = entry
        print(quantize, {k: v for k, v in entry.items() if k != "ops"}, flush=True)
    return out


def score(model, path, quantize, x, y, calib, *, runs, warmup=3, batch_size=32):
    """Converts a trained `model` to `path` and returns its test `accuracy` on `(x, y)`, `size_mb`, `p50_ms`."""
    to_tflite(model, path, quantize=quantize, representative_data=calib if quantize else None)
    logits = TFLiteModel(path).predict(x, batch_size=batch_size)
    latency = tflite_latency(path, num_threads=1, runs=runs, warmup=warmup)
    return {
        "accuracy": float(np.mean(logits.argmax(-1) == y)),
        "size_mb": os.path.getsize(path) / 1e6,
        "p50_ms": latency["p50_ms"],
    }


def failure(error):
    """The result entry of a variant that failed to convert or run."""
    return {"error": f"{type(error).__name__}: {str(error)[:300]}"}


def score_variants(model, x, y, calib, directory, *, name, quantizations, runs, keep_going=False):
    """`score` for each quantization (files `{name}_{float|quantize}.tflite` in `directory`).

    With `keep_going`, a variant that fails is recorded as `failure(error)` and the others still run.
    Returns a dict from "float" (for `None`) or the mode to its `score`.
    """
    out = {}
    for quantize in quantizations:
        path = os.path.join(directory, f"{name}_{quantize or 'float'}.tflite")
        try:
            out[quantize or "float"] = score(model, path, quantize, x, y, calib, runs=runs)
        except Exception as e:  # record and go on: one mode failing must not hide the others
            if not keep_going:
                raise
            out[quantize or "float"] = failure(e)
    return out


def score_and_profile(model, x, y, calib, *, quantizations, profiled, runs):
    """`score` of each quantization (one at a time, a failure recorded and the others still run) and
    `op_type_profile` of those in `profiled`. Returns `(scores, profiles)`, keyed "float" (for None) or the mode."""
    scores, profiles = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.tflite")
        for quantize in quantizations:
            name = quantize or "float"
            try:
                scores[name] = score(model, path, quantize, x, y, calib, runs=runs)
                if quantize in profiled:
                    profiles[name] = op_type_profile(path)
            except Exception as e:  # record and go on
                scores[name] = failure(e)
            print(quantize, scores[name], flush=True)
    return scores, profiles


def op_type_profile(path, top=8):
    """Per-op-type CPU time of a `.tflite` file (`tfaudio.bench.profile`, 1 thread): the `top` costliest types."""
    from tfaudio.bench.profile import profile_tflite

    p = profile_tflite(path, num_threads=1, clock="cpu")
    types = sorted(p["op_types"], key=lambda t: -t["ms"])[:top]
    return {
        "model_ms": p["model_ms"],
        "op_types": [{k: t[k] for k in ("op", "count", "ms", "xnnpack_count")} for t in types],
    }


def quantization_markdown(results, p50_format=".2f"):
    """Markdown lines: the table of TFLite variants (accuracy, size, p50) of a `score_variants`-like dict.

    Keys that are not variants ("keras", "model") are skipped; a failed variant shows its error.
    """
    lines = ["| TFLite | test accuracy | size (MB) | p50 (ms) |", "|---|---:|---:|---:|"]
    for name, t in results.items():
        if name in ("keras", "model"):
            continue
        if "error" in t:
            lines.append(f"| {name} | failed: {t['error'][:100]} | | |")
        else:
            lines.append(f"| {name} | {t['accuracy']:.3f} | {t['size_mb']:.2f} | {t['p50_ms']:{p50_format}} |")
    return lines


def profile_markdown(profiles):
    """Markdown lines: one row per op type, one column per variant (ms and ops on XNNPACK / ops)."""
    names = list(profiles)
    ops = []
    for name in names:
        ops += [t["op"] for t in profiles[name]["op_types"] if t["op"] not in ops]
    lines = [
        "| op type | " + " | ".join(f"{n} ms (on XNNPACK)" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for op in ops:
        cells = []
        for name in names:
            t = next((t for t in profiles[name]["op_types"] if t["op"] == op), None)
            cells.append("" if t is None else f"{t['ms']:.3f} ({t['xnnpack_count']}/{t['count']})")
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines.append("| whole model | " + " | ".join(f"{profiles[n]['model_ms']:.3f}" for n in names) + " |")
    return lines
