"""On-device style latency of a `.tflite` model with the ai_edge_litert interpreter (no TensorFlow)."""

import os
import platform
import time

import numpy as np

from tfaudio.runtime import TFLiteModel


def tflite_latency(path, num_threads=1, runs=100, warmup=10, batch_size=1, seed=0):
    """Times single invocations of a `.tflite` model.

    The input is uniform noise in [-1, 1] (a waveform-like range) of the model's
    input shape, with a dynamic batch dimension set to `batch_size`.

    Args:
        path: str. The `.tflite` file.
        num_threads: int. Interpreter threads. Defaults to 1.
        runs: int. Timed invocations. Defaults to 100.
        warmup: int. Untimed invocations first. Defaults to 10.
        batch_size: int. Batch for models with a dynamic batch. Defaults to 1.
        seed: int. Seed of the input noise.

    Returns:
        dict with `p50_ms`, `p90_ms`, `mean_ms`, `min_ms`, `size_bytes`, `runs`,
        `num_threads`, `input_shape`, `input_dtype`, `machine`.
    """
    if not os.path.isfile(path):
        raise ValueError(f"No TFLite model at this path. Received: path={path!r}")
    if num_threads < 1:
        raise ValueError(f"`num_threads` must be >= 1. Received: num_threads={num_threads}")
    if runs < 1 or warmup < 0:
        raise ValueError(f"`runs` must be >= 1 and `warmup` >= 0. Received: runs={runs}, warmup={warmup}")

    runner = TFLiteModel(path, num_threads=num_threads)
    shape = [batch_size if d == -1 else d for d in runner.input_shape]
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(np.float32)
    runner(x)  # sizes the tensors and sets the (quantized) input once

    for _ in range(warmup):
        runner.interpreter.invoke()
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        runner.interpreter.invoke()
        times[i] = (time.perf_counter() - start) * 1000.0
    return {
        "p50_ms": float(np.percentile(times, 50)),
        "p90_ms": float(np.percentile(times, 90)),
        "mean_ms": float(times.mean()),
        "min_ms": float(times.min()),
        "size_bytes": os.path.getsize(path),
        "runs": runs,
        "num_threads": num_threads,
        "input_shape": shape,
        "input_dtype": np.dtype(runner.input_dtype).name,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
