"""Model zoo on FSDD: accuracy (Keras, TFLite float, TFLite int8), size, MACs and latency per model.

Question answered: on the Free Spoken Digit Dataset's official split (take index 0-4
= 300 test clips, 2700 training clips), how do the spectrogram CNNs (alexnet, vgg16,
inception_v3, resnet50, densenet121, squeezenet) and SincNet compare once trained
briefly from scratch on CPU and exported to builtin-only TFLite, float and full int8?

Sizes fit 2 shared CPU cores: 8 kHz, 1 s clips (centre crop / zero pad), log-mel
with a 32 ms hop and 32 mel bins (a 32x32 image; InceptionV3 and AlexNet resize it
in-graph to their 75x75 / 67x67 minimum), full-width architectures, Adam 1e-3,
batch 32, up to --epochs epochs within a per-model training time budget
(--max-train-minutes; the epoch running when it expires completes). Accuracies
are therefore "after N CPU epochs", not converged numbers. After training, the
BatchNorm moving statistics are re-estimated on 20 training batches (their
momentum-0.99 averages have not converged after so few steps).

MACs are counted on the float TFLite graph at batch 1 (CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, BATCH_MATMUL, TRANSPOSE_CONV), so they include the STFT/mel
front end. Latency: `tfaudio.bench.tflite_latency`, 1 thread, batch 1.

Usage:
    python benchmarks/model_zoo.py [--epochs 8] [--max-train-minutes 7] [--models squeezenet,alexnet,...]
        [--fsdd ../shared/data/fsdd] [--out benchmarks/results]

Writes `model_zoo.json` (one record per model, rewritten after each model) and
`model_zoo.md` (the table) under --out.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE_RATE = 8000
CLIP_SECONDS = 1.0
SPECTROGRAM = dict(frame_step=256, num_mel_bins=32)
MODELS = {
    # name -> overrides (everything else: the architecture's defaults, full width)
    "squeezenet": dict(SPECTROGRAM),
    "alexnet": dict(SPECTROGRAM),
    # SincNet on raw waveforms: the paper's front end (80 sinc filters, two
    # 60x5 convolutions, pools of 3), global average pooling over time instead of
    # flattening the 1 s clip, and two 512-unit dense layers to fit the CPU budget.
    # 129 taps at 8 kHz span the same 16 ms as the paper's 251 taps at 16 kHz.
    "sincnet": dict(sinc_kernel_size=129, global_pooling="avg", dense_units=(512, 512), dropout=0.2),
    "densenet121": dict(SPECTROGRAM),
    "resnet50": dict(SPECTROGRAM),
    "vgg16": dict(SPECTROGRAM),
    "inception_v3": dict(SPECTROGRAM),
}
_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL", "TRANSPOSE_CONV")


def load_fsdd(root, num_samples):
    """FSDD official split as float32 arrays `(x_train, y_train, x_test, y_test)`."""
    import soundfile as sf

    from tfaudio.data.fsdd import fsdd_files

    def load(split):
        x = np.zeros((len(split.paths), num_samples), np.float32)
        for i, path in enumerate(split.paths):
            audio, rate = sf.read(path, dtype="float32")
            assert rate == SAMPLE_RATE, (path, rate)
            if audio.ndim > 1:
                audio = audio.mean(axis=1)
            # Centre crop / centre zero-pad, as tfaudio.data's fit_length does without a seed.
            if len(audio) >= num_samples:
                start = (len(audio) - num_samples) // 2
                x[i] = audio[start : start + num_samples]
            else:
                left = (num_samples - len(audio)) // 2
                x[i, left : left + len(audio)] = audio
        return x, np.asarray(split.labels, np.int64)

    train, test, _ = fsdd_files(root, split="official")
    return (*load(train), *load(test))


def tflite_macs(path, num_samples):
    """Multiply-accumulates of one batch-1 inference, from the TFLite graph's tensor shapes."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], [1, num_samples])
    interpreter.allocate_tensors()
    shapes = {t["index"]: tuple(int(d) for d in t["shape"]) for t in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():
        name = op["op_name"]
        if name not in _MAC_OPS:
            continue
        out = int(np.prod(shapes[op["outputs"][0]]))
        if name == "CONV_2D":  # filter [out_c, kh, kw, in_c/groups]
            total += out * int(np.prod(shapes[op["inputs"][1]][1:]))
        elif name == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_c]
            total += out * int(np.prod(shapes[op["inputs"][1]][1:3]))
        elif name == "FULLY_CONNECTED":  # weights [units, in]
            total += out * shapes[op["inputs"][1]][-1]
        elif name == "BATCH_MATMUL":
            total += out * shapes[op["inputs"][0]][-1]
        elif name == "TRANSPOSE_CONV":  # filter [out_c, kh, kw, in_c]: each input pixel scatters kh*kw*out_c
            total += int(np.prod(shapes[op["inputs"][2]])) * int(np.prod(shapes[op["inputs"][1]]))
    return total


def accuracy(logits, labels):
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def _time_budget(max_train_minutes):
    """Callback ending training after the epoch in which `max_train_minutes` ran out."""
    from tfaudio.backend import keras

    class TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.start > 60 * max_train_minutes:
                self.model.stop_training = True

    return TimeBudget()


def recalibrate_batch_norm(model, x, batch_size, batches=20):
    """Precise BN (`tfaudio.training.batch_norm`) on `batches` shuffled training batches; returns the layers updated.

    With momentum 0.99, a few hundred steps leave the moving averages largely at
    their initial 0/1, so deep BatchNorm networks (DenseNet, ResNet, Inception)
    predict at chance in inference mode after a short CPU run.
    """
    from tfaudio.training.batch_norm import reestimate_batch_norm

    order = np.random.default_rng(0).permutation(len(x))
    chunks = (x[order[k * batch_size : (k + 1) * batch_size]] for k in range(batches))
    return reestimate_batch_norm(model, chunks, batches=batches)


def run_model(name, overrides, data, epochs, batch_size, workdir, seed, max_train_minutes, learning_rate=1e-3):
    from tfaudio.backend import keras
    from tfaudio.bench import tflite_latency
    from tfaudio.export import TFLiteModel, to_tflite
    from tfaudio.models import build

    x_train, y_train, x_test, y_test = data
    keras.utils.set_random_seed(seed)
    model = build(name, 10, sample_rate=SAMPLE_RATE, clip_seconds=CLIP_SECONDS, **overrides)
    if hasattr(model, "adapt_normalization"):  # spectrogram models: BatchNorm statistics from 500 training clips
        model.adapt_normalization(x_train[np.linspace(0, len(x_train) - 1, 500).astype(int)])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=2,
        callbacks=[_time_budget(max_train_minutes)],
    )
    train_seconds = time.perf_counter() - start
    recalibrated = recalibrate_batch_norm(model, x_train, batch_size)
    keras_logits = model.predict(x_test, batch_size=batch_size, verbose=0)

    float_path = os.path.join(workdir, f"{name}_float.tflite")
    to_tflite(model, float_path)
    float_logits = TFLiteModel(float_path).predict(x_test, batch_size=batch_size)
    float_latency = tflite_latency(float_path, num_threads=1, runs=50, warmup=5)
    record = {
        "model": name,
        "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
        "input_norm": model.get_config().get("input_norm"),
        "params": int(model.count_params()),
        "macs": tflite_macs(float_path, x_test.shape[1]),
        "epochs": len(history.history["loss"]),
        "learning_rate": learning_rate,
        "train_seconds": round(train_seconds, 1),
        "train_accuracy_last_epoch": float(history.history["accuracy"][-1]),
        "batch_norm_layers_recalibrated": recalibrated,
        "test_accuracy_keras": accuracy(keras_logits, y_test),
        "test_accuracy_tflite_float": accuracy(float_logits, y_test),
        "max_abs_diff_tflite_float_vs_keras": float(np.max(np.abs(float_logits - keras_logits))),
        "tflite_float_bytes": os.path.getsize(float_path),
        "latency_p50_ms_float_1thread": round(float_latency["p50_ms"], 3),
    }
    # Full int8, calibrated on 200 training clips spread over the (sorted) training set.
    # A failure here is recorded without losing the float results.
    int8_path = os.path.join(workdir, f"{name}_int8.tflite")
    calibration = x_train[np.linspace(0, len(x_train) - 1, 200).astype(int)]
    try:
        to_tflite(model, int8_path, quantize="int8", representative_data=calibration)
        int8_logits = TFLiteModel(int8_path).predict(x_test, batch_size=batch_size)
        int8_latency = tflite_latency(int8_path, num_threads=1, runs=50, warmup=5)
    except Exception as e:
        record["int8_error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        return record
    record.update(
        {
            "test_accuracy_tflite_int8": accuracy(int8_logits, y_test),
            "int8_vs_float_argmax_agreement": float(
                np.mean(np.argmax(int8_logits, -1) == np.argmax(float_logits, -1))
            ),
            "tflite_int8_bytes": os.path.getsize(int8_path),
            "latency_p50_ms_int8_1thread": round(int8_latency["p50_ms"], 3),
        }
    )
    return record


def markdown(results, meta):
    lines = [
        "# Model zoo on FSDD (official split: 2700 train / 300 test clips)",
        "",
        f"Setup{' (of the last run; the runs below differ in learning rate and time budget)' if meta.get('runs') else ''}: "
        f"{meta['setup']}",
        f"Machine: {meta['machine']}; run {meta['date']}; command `{meta['command']}`.",
        *[f"- {run}" for run in meta.get("runs", [])],
        "",
        "| model | params | MACs | epochs | Adam lr | train s | test acc Keras | test acc TFLite float "
        "| test acc TFLite int8 | TFLite float MB | TFLite int8 MB | p50 float ms | p50 int8 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {r['error']} |" + " |" * 11)
            continue
        int8 = "int8_error" not in r
        if not int8:
            notes.append(f"- {r['model']}: int8 failed: {r['int8_error']}")
        lines.append(
            f"| {r['model']} | {r['params'] / 1e6:.2f}M | {r['macs'] / 1e6:.0f}M | {r['epochs']} | "
            f"{r.get('learning_rate', 1e-3):g} | "
            f"{r['train_seconds']:.0f} | {r['test_accuracy_keras']:.3f} | {r['test_accuracy_tflite_float']:.3f} | "
            + (f"{r['test_accuracy_tflite_int8']:.3f}" if int8 else "failed")
            + f" | {r['tflite_float_bytes'] / 1e6:.2f} | "
            + (f"{r['tflite_int8_bytes'] / 1e6:.2f}" if int8 else "-")
            + f" | {r['latency_p50_ms_float_1thread']:.2f} | "
            + (f"{r['latency_p50_ms_int8_1thread']:.2f}" if int8 else "-")
            + " |"
        )
    stale = [r["model"] for r in results if "error" not in r and "batch_norm_layers_recalibrated" not in r]
    if stale:
        notes.append(f"- {', '.join(stale)}: from an earlier run without the BatchNorm re-estimation step.")
    raw_input = [r["model"] for r in results if "error" not in r and r.get("input_norm") in (None, True, False)]
    if raw_input:
        notes.append(
            f"- {', '.join(raw_input)}: measured before peak input normalisation became the default "
            "(the model saw the raw waveform level)."
        )
    if notes:
        lines += [""] + notes
    lines += [
        "",
        "MACs: counted on the float TFLite graph at batch 1 (conv, depthwise conv, fully connected, batch matmul),",
        "front end included. Latency: ai_edge_litert interpreter, 1 thread, batch 1, 50 runs after 5 warm-up runs,",
        "on a machine shared with other jobs (treat as indicative).",
    ]
    return "\n".join(lines) + "\n"


def merge(paths, out):
    """Merges `model_zoo.json` files of separate runs (e.g. models run in parallel) into one table."""
    by_model, runs, meta = {}, [], None
    for path in paths:
        with open(path) as f:
            run = json.load(f)
        meta = run["meta"]
        runs.append(f"{meta['date']}: `{meta['command']}` ({', '.join(r['model'] for r in run['results'])})")
        by_model.update({r["model"]: r for r in run["results"]})
    results = sorted(by_model.values(), key=lambda r: list(MODELS).index(r["model"]))
    meta = dict(meta, date="merged", command="python benchmarks/model_zoo.py --merge " + " ".join(paths), runs=runs)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model_zoo.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    with open(os.path.join(out, "model_zoo.md"), "w") as f:
        f.write(markdown(results, meta))
    print(markdown(results, meta))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fsdd", default=os.environ.get("TFAUDIO_FSDD", str(REPO.parent / "shared" / "data" / "fsdd")))
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated names from: " + ", ".join(MODELS))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--max-train-minutes", type=float, default=7.0, help="stop a model's training after the epoch that passes this"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument(
        "--merge", nargs="+", metavar="JSON", help="only merge the results of earlier runs (later files win) into --out"
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")

    num_samples = int(round(SAMPLE_RATE * CLIP_SECONDS))
    data = load_fsdd(args.fsdd, num_samples)
    os.makedirs(args.out, exist_ok=True)
    meta = {
        "setup": (
            f"{SAMPLE_RATE} Hz, {CLIP_SECONDS} s clips (centre crop/pad); spectrogram models: log-mel "
            f"frame_step={SPECTROGRAM['frame_step']}, num_mel_bins={SPECTROGRAM['num_mel_bins']} (32x32 image, "
            f"resized in-graph to 75x75 for inception_v3 and 67x67 for alexnet), BatchNorm over mel bins, "
            f"full-width backbones from scratch, BatchNorm statistics adapted on 500 training clips first; "
            f"SincNet {MODELS['sincnet']}; Adam {args.learning_rate:g} (table: per row), batch {args.batch_size}, "
            f"up to {args.epochs} epochs or until "
            f"the epoch that passes {args.max_train_minutes} training minutes (table: epochs done), seed {args.seed}; "
            f"then BatchNorm moving statistics re-estimated on 20 training batches (precise BN); "
            f"int8 calibrated on 200 training clips, float I/O."
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/model_zoo.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        # Each record carries its own epochs; the setup above is the last run's.
    }
    json_path = os.path.join(args.out, "model_zoo.json")
    md_path = os.path.join(args.out, "model_zoo.md")
    # Runs of a subset (--models) update their rows and keep the other models' rows.
    results = []
    if os.path.isfile(json_path):
        with open(json_path) as f:
            results = [r for r in json.load(f)["results"] if r["model"] not in names]
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            print(f"=== {name}", flush=True)
            try:
                record = run_model(
                    name,
                    MODELS[name],
                    data,
                    args.epochs,
                    args.batch_size,
                    workdir,
                    args.seed,
                    args.max_train_minutes,
                    args.learning_rate,
                )
            except Exception as e:  # keep the other models' results; report the failure in the table
                record = {"model": name, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
            print(json.dumps(record), flush=True)
            results.append(record)
            results.sort(key=lambda r: list(MODELS).index(r["model"]))
            with open(json_path, "w") as f:
                json.dump({"meta": meta, "results": results}, f, indent=2)
            with open(md_path, "w") as f:
                f.write(markdown(results, meta))
    print(markdown(results, meta))


if __name__ == "__main__":
    main()
