"""Serving under load: a shared TFLiteModel from 8 threads, and a SavedModel signature hammered
with mixed good and bad requests.

1. `TFLiteModel` shared by 8 threads (one interpreter per thread, tfaudio.runtime) against the
   peer fix measured in the same run: one interpreter behind a lock. Same requests (mixed
   batch sizes 1-4 of 1-s 16 kHz clips); reports calls/s, whether every result is bit-identical
   to the sequential one, and the errors of the old shared interpreter (no lock, no per-thread
   interpreters), which is what issue 14 found failing.
2. The SavedModel `serving_default` signature (tfaudio.export.to_saved_model) called `--calls`
   times (10,000 by default): 70% good batches, 10% wrong clip length, 10% NaN, 10% wrong
   rank; the bad ones must raise a clean InvalidArgumentError and the good ones keep answering
   with the same logits. RSS is sampled every 1,000 calls: peak RSS and the growth from the first
   sample to the last are reported (a leak grows linearly with calls).

Output: benchmarks/results/serving_load.json and .md.
Run: python benchmarks/serving_load.py [--calls 10000] [--thread-calls 40]   (about 2-4 minutes on 2 busy cores)
"""

import argparse
import concurrent.futures
import os
import platform
import resource
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _results import write_results  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = 16000


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def small_kws_model():
    """A 1-s 16 kHz waveform classifier of the size KWS models have (log-mel + convs, 12 classes)."""
    from tfaudio.backend import keras
    from tfaudio.layers import LogMelSpectrogram

    keras.utils.set_random_seed(0)
    inputs = keras.Input((SAMPLES,), name="waveform")
    x = LogMelSpectrogram(sample_rate=16000, num_mel_bins=40)(inputs)
    x = keras.layers.Reshape((-1, 40, 1))(x)
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(12)(x))


class LockedTFLiteModel:
    """The peer fix: one interpreter, one call at a time."""

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=path)
        self.lock = threading.Lock()
        self.shape = None

    def __call__(self, x):
        with self.lock:
            return _invoke(self, x)


class SharedInterpreter(LockedTFLiteModel):
    """What TFLiteModel was before: one interpreter, no lock."""

    def __call__(self, x):
        return _invoke(self, x)


def _invoke(runner, x):
    interpreter = runner.interpreter
    index = interpreter.get_input_details()[0]["index"]
    if runner.shape != x.shape:
        interpreter.resize_tensor_input(index, x.shape)
        interpreter.allocate_tensors()
        runner.shape = x.shape
    interpreter.set_tensor(index, x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()


def threads_benchmark(path, requests, threads=8):
    from tfaudio.runtime import TFLiteModel

    expected = [TFLiteModel(path)(x) for x in requests]
    rows = {}
    for name, runner in (
        ("TFLiteModel (per-thread interpreters)", TFLiteModel(path)),
        ("one interpreter + lock (peer)", LockedTFLiteModel(path)),
        ("one interpreter, no lock (before)", SharedInterpreter(path)),
    ):
        errors = {}

        def call(x, runner=runner, errors=errors):
            try:
                return runner(x)
            except Exception as e:  # the unlocked shared interpreter's failures are counted
                key = f"{type(e).__name__}: {' '.join(str(e).split())[:60]}"
                errors[key] = errors.get(key, 0) + 1
                return None

        call(requests[0])  # warm-up
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            got = list(pool.map(call, requests))
        seconds = time.perf_counter() - start
        identical = sum(g is not None and np.array_equal(g, e) for g, e in zip(got, expected))
        rows[name] = {"calls": len(requests), "seconds": seconds, "calls_per_s": len(requests) / seconds,
                      "identical_to_sequential": int(identical), "errors": errors}  # fmt: skip
    start = time.perf_counter()
    sequential = TFLiteModel(path)
    for x in requests:
        sequential(x)
    seconds = time.perf_counter() - start
    rows["sequential, 1 thread"] = {"calls": len(requests), "seconds": seconds, "calls_per_s": len(requests) / seconds,
                                    "identical_to_sequential": len(requests), "errors": {}}  # fmt: skip
    return rows


def saved_model_benchmark(export_dir, calls, seed=0):
    import tensorflow as tf

    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    rng = np.random.default_rng(seed)
    good = rng.uniform(-0.5, 0.5, (2, SAMPLES)).astype(np.float32)
    reference = serve(waveform=tf.constant(good))["logits"].numpy()
    nan = good.copy()
    nan[0, 100] = np.nan
    requests = {
        "good": tf.constant(good),
        "wrong length": tf.constant(good[:, :8000]),
        "NaN": tf.constant(nan),
        "wrong rank": tf.constant(good[0]),
    }
    kinds = rng.choice(list(requests), size=calls, p=[0.7, 0.1, 0.1, 0.1])
    outcomes = {kind: {} for kind in requests}
    samples = []
    every = min(1000, max(1, calls // 10))
    start = time.perf_counter()
    for i, kind in enumerate(kinds):
        try:
            out = serve(waveform=requests[kind])["logits"].numpy()
            result = "answered, same logits" if np.array_equal(out, reference) else "answered, DIFFERENT logits"
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
            result = type(e).__name__
        outcomes[kind][result] = outcomes[kind].get(result, 0) + 1
        if (i + 1) % every == 0:
            samples.append({"calls": i + 1, "rss_mb": rss_mb()})
    seconds = time.perf_counter() - start
    growth = samples[-1]["rss_mb"] - samples[0]["rss_mb"] if len(samples) > 1 else 0.0
    return {"calls": calls, "seconds": seconds, "outcomes": outcomes, "rss_samples": samples,
            "rss_growth_mb_after_first_sample": growth, "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10000, help="SavedModel signature calls.")
    parser.add_argument("--thread-calls", type=int, default=40, help="TFLite calls per thread (8 threads).")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    from tfaudio.export import to_saved_model, to_tflite

    tmp = tempfile.mkdtemp(prefix="serving-load-")
    model = small_kws_model()
    tflite = to_tflite(model, os.path.join(tmp, "model.tflite"))
    labels = [f"c{i}" for i in range(12)]
    export_dir = to_saved_model(model, os.path.join(tmp, "serving"), labels=labels, sample_rate=16000)
    rng = np.random.default_rng(1)
    requests = [rng.uniform(-0.5, 0.5, (int(rng.integers(1, 5)), SAMPLES)).astype(np.float32)
                for _ in range(8 * args.thread_calls)]  # fmt: skip
    results = {
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "model": "log-mel (40) + 2 strided Conv2D + dense, 1 s at 16 kHz, 12 classes, float TFLite",
        "threads": threads_benchmark(tflite, requests),
        "rss_mb_before_saved_model": rss_mb(),
        "saved_model": saved_model_benchmark(export_dir, args.calls),
    }
    locked = results["threads"]["one interpreter + lock (peer)"]["calls_per_s"]
    lines = [
        "# Serving under load", "",
        f"{results['model']}; {results['cores']} cores; `python benchmarks/serving_load.py --calls {args.calls}`", "",
        f"## 8 threads, {len(requests)} calls of batch 1-4 on one shared runner", "",
        "| runner | calls/s | vs lock | identical to sequential | errors |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for name, r in results["threads"].items():
        errors = "; ".join(f"{n} x {k}" for k, n in r["errors"].items()) or "-"
        lines.append(f"| {name} | {r['calls_per_s']:.1f} | {r['calls_per_s'] / locked:.2f} | "
                     f"{r['identical_to_sequential']}/{r['calls']} | {errors} |")  # fmt: skip
    sm = results["saved_model"]
    lines += ["", f"## SavedModel serving_default, {sm['calls']} calls ({sm['seconds']:.1f} s)", "",
              "| request | outcomes |", "|---|---|"]  # fmt: skip
    for kind, outcome in sm["outcomes"].items():
        lines.append(f"| {kind} | " + ", ".join(f"{n} {k}" for k, n in outcome.items()) + " |")
    first, last = sm["rss_samples"][0], sm["rss_samples"][-1]
    lines += ["", f"RSS after {first['calls']:,} calls {first['rss_mb']:.1f} MB, after {last['calls']:,} "
              f"{last['rss_mb']:.1f} MB (growth {sm['rss_growth_mb_after_first_sample']:+.1f} MB); "
              f"peak RSS of the process {sm['peak_rss_mb']:.1f} MB.", ""]  # fmt: skip
    write_results(args.out, "serving_load", results, lines)


if __name__ == "__main__":
    main()
