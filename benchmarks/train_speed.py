"""Training throughput: `tfaudio train` against a plain Keras fit of the same model fed from NumPy arrays.

Question answered: how many clips per second does tfaudio's training loop (its tf.data input pipeline
with the memory cache, the augmentation wrapper, per-epoch validation, checkpoints, backup and event log)
train, next to the simplest thing a Keras user writes for the same architecture: the same registry
model, `compile(Adam)` and `fit(x, y)` on waveforms already decoded into NumPy arrays?

Protocol, per model, all in one process and on the same clips (a manifest of --clips training
clips and --val-clips validation clips, every n-th, of the Speech Commands folder's `split=auto`):
- "plain": `tfaudio.models.build(...)` + `compile(Adam, sparse cross-entropy)` + `fit(x, y,
  validation_data=(xv, yv))`, NumPy arrays decoded beforehand (decoding not timed);
- "tfaudio": `tfaudio.training.train(TrainConfig(...))` with no augmentation (`--recipe none`),
  reading the manifest through tfaudio's pipeline (decode + cache in the first epoch);
- "tfaudio_kws": the same with `--recipe kws` (time shift, background noise, SpecAugment, label smoothing,
  cosine): what the augmentation costs;
- "plain_jit": "plain" with `jit_compile=True` (XLA on CPU), to decide whether tfaudio should use it.
Each runs --epochs epochs; the first one (tracing, the decode of the cache) is excluded: clips/s =
clips x (epochs - 1) / time from the end of epoch 1 to the end of the last, validation and
callbacks included. Wall time and the process's CPU time (user + system) are both given: the CPU
figure is steadier on a machine shared with other jobs. Ratios are tfaudio / plain in the same run.

Usage:
    python benchmarks/train_speed.py [--models bc_resnet,ds_cnn,sincnet,squeezenet] [--epochs 3]
        [--clips 640] [--val-clips 160] [--variants plain,tfaudio,tfaudio_kws,plain_jit] [--out benchmarks/results]

Writes train_speed.json and train_speed.md under --out.
"""

import argparse
import csv
import datetime
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._results import cpu_allocator  # noqa: E402
from benchmarks.kws import MODELS as KWS_MODELS  # noqa: E402

SAMPLE_RATE = 16000
BATCH_SIZE = 32
# name -> (registry model, overrides): the configurations of benchmarks/kws.py.
MODELS = {name: KWS_MODELS[name][:2] for name in ("bc_resnet", "ds_cnn", "sincnet", "squeezenet")}
VARIANTS = ("plain", "tfaudio", "tfaudio_kws", "plain_jit")


def write_manifest(data_root, path, clips, val_clips):
    """A manifest of `clips` training and `val_clips` validation clips (every n-th) of `split=auto`; returns the labels."""
    from tfaudio.data import files_from_spec

    splits = files_from_spec(f"speech_commands:{data_root}")
    train, labels = splits[0], list(splits[2])
    validation = splits.validation
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "split"])
        for split, name, limit in ((train, "train", clips), (validation, "validation", val_clips)):
            rows = list(split)
            for p, label in rows[:: max(len(rows) // limit, 1)][:limit]:  # spread over the classes
                writer.writerow([p, labels[label], name])
    return labels


def load_arrays(manifest):
    """`(x_train, y_train, x_val, y_val, num_classes)`: the manifest's clips decoded and centred to 1 s."""
    from tfaudio.data.manifest import manifest_files
    from tfaudio.io import load_audio

    splits = manifest_files(manifest)
    samples = SAMPLE_RATE

    def arrays(split):
        xs = []
        for p in split.paths:
            audio, _ = load_audio(p, sample_rate=SAMPLE_RATE)
            audio = audio[:samples]
            left = (samples - len(audio)) // 2
            xs.append(np.pad(audio, (left, samples - len(audio) - left)))
        return np.stack(xs).astype("float32"), np.asarray(split.labels, "int32")

    return (*arrays(splits[0]), *arrays(splits.validation), len(splits[2]))


def epoch_timer():
    """A callback recording (wall, CPU) seconds at every epoch end."""
    from tfaudio.backend import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.marks = []

        def on_epoch_end(self, epoch, logs=None):
            times = os.times()
            self.marks.append((time.perf_counter(), times.user + times.system))

    return EpochTimer()


def throughput(marks, clips):
    (w0, c0), (w1, c1) = marks[0], marks[-1]
    epochs = len(marks) - 1
    return {"clips_per_s_wall": clips * epochs / (w1 - w0), "clips_per_s_cpu": clips * epochs / (c1 - c0),
            "epoch_seconds_wall": (w1 - w0) / epochs}


def run_plain(name, arrays, epochs, jit_compile):
    from tfaudio.backend import keras
    from tfaudio.models import build

    model_name, overrides = MODELS[name]
    x, y, xv, yv, num_classes = arrays
    keras.utils.set_random_seed(0)
    model = build(model_name, num_classes, sample_rate=SAMPLE_RATE, **overrides)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    timer = epoch_timer()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, validation_data=(xv, yv), callbacks=[timer], verbose=0)
    return throughput(timer.marks, len(x))


def run_tfaudio(name, manifest, clips, epochs, recipe, workdir):
    from tfaudio.training import TrainConfig, train
    from tfaudio.training.recipes import recipe_fields

    model_name, overrides = MODELS[name]
    fields = recipe_fields(recipe)
    if recipe == "kws":
        # The manifest has no noise of its own: the folder's _silence_ clips, as `speech_commands:` uses.
        fields["background_noise"] = True
        fields["background_noise_dir"] = os.path.join(os.path.dirname(manifest), "noise")
    config = TrainConfig(
        model=model_name, data=f"manifest:{manifest}", out=os.path.join(workdir, f"{name}_{recipe}"), epochs=epochs,
        sample_rate=SAMPLE_RATE, batch_size=BATCH_SIZE, overrides=dict(overrides), seed=0, verbose=0, **fields,
    )
    timer = epoch_timer()
    train(config, callbacks=[timer])
    return throughput(timer.marks, clips)


def link_noise(data_root, manifest):
    """noise/ beside the manifest: links to the training split's _silence_ clips (BackgroundNoise's input)."""
    from tfaudio.data.speech_commands import speech_commands_noise_files

    folder = os.path.join(os.path.dirname(manifest), "noise")
    os.makedirs(folder, exist_ok=True)
    for i, path in enumerate(speech_commands_noise_files(data_root)):
        os.symlink(os.path.abspath(path), os.path.join(folder, f"{i:04d}_{os.path.basename(path)}"))


def write_markdown(meta, rows, path):
    lines = [
        "# Training throughput: `tfaudio train` vs plain Keras on NumPy arrays (same model, same run)",
        "",
        f"Machine: {meta['machine']}; TF CPU allocator {meta.get('tf_cpu_allocator', 'not recorded')} for every "
        f"variant (one process); {meta['date']}; commands: "
        + "; ".join(f"`{c}`" for c in meta.get("earlier_commands", []) + [meta["command"]]) + ".",
        f"Training + validation clips of Speech Commands (1 s, 16 kHz) per row, batch {BATCH_SIZE}, epochs of which "
        "the first (tracing, cache fill) is excluded; validation and callbacks included. clips/s wall (clips/s per "
        "CPU-second).",
        "",
        "| model | clips (train + val) x epochs | plain Keras | tfaudio train | tfaudio / plain (wall) | tfaudio / plain (CPU) "
        "| tfaudio --recipe kws | kws / plain (CPU) | plain jit_compile | jit / plain (CPU) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(r, variant):
        v = r.get(variant)
        return f"{v['clips_per_s_wall']:.0f} ({v['clips_per_s_cpu']:.0f})" if v else "-"

    def ratio(r, variant, key):
        a, b = r.get(variant), r.get("plain")
        return f"{a[key] / b[key]:.2f}x" if a and b else "-"

    for r in rows:
        lines.append(
            f"| {r['model']} | {r.get('clips', '-')} + {r.get('val_clips', '-')} x {r.get('epochs', '-')} "
            f"| {cell(r, 'plain')} | {cell(r, 'tfaudio')} | {ratio(r, 'tfaudio', 'clips_per_s_wall')} "
            f"| {ratio(r, 'tfaudio', 'clips_per_s_cpu')} | {cell(r, 'tfaudio_kws')} "
            f"| {ratio(r, 'tfaudio_kws', 'clips_per_s_cpu')} | {cell(r, 'plain_jit')} "
            f"| {ratio(r, 'plain_jit', 'clips_per_s_cpu')} |"
        )
    lines += [
        "",
        "plain: `tfaudio.models.build` + `compile(Adam)` + `fit(x, y, validation_data=...)` on decoded NumPy arrays.",
        "tfaudio: `tfaudio.training.train` (tf.data pipeline with the memory cache, validation, checkpoints/last+best,",
        "backup, event log, TensorBoard when installed). The CPU ratio is the steadier one on a shared machine.",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "speech_commands"))
    parser.add_argument("--models", default=",".join(MODELS), help=f"Comma-separated, from {sorted(MODELS)}.")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"Comma-separated, from {VARIANTS}.")
    parser.add_argument("--epochs", type=int, default=3, help="Epochs per variant (the first is not timed).")
    parser.add_argument("--clips", type=int, default=640, help="Training clips (a multiple of 32 avoids a partial batch).")
    parser.add_argument("--val-clips", type=int, default=160)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--keep", action="store_true",
                        help="Keep the rows of other models already in train_speed.json (their command is kept too).")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is not timed)")
    import tensorflow as tf

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), TF {tf.__version__}",
        "command": "python benchmarks/train_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "epochs": args.epochs, "clips": args.clips, "val_clips": args.val_clips,
    }
    rows = []
    json_path = os.path.join(args.out, "train_speed.json")
    if args.keep and os.path.isfile(json_path):
        previous = json.load(open(json_path, encoding="utf-8"))
        rows = [r for r in previous["rows"] if r["model"] not in args.models.split(",")]
        meta["earlier_commands"] = previous["meta"].get("earlier_commands", []) + [previous["meta"]["command"]]
    variants = args.variants.split(",")
    with tempfile.TemporaryDirectory() as workdir:
        manifest = os.path.join(workdir, "manifest.csv")
        write_manifest(args.data, manifest, args.clips, args.val_clips)
        link_noise(args.data, manifest)
        arrays = load_arrays(manifest)
        for name in args.models.split(","):
            row = {"model": name, "registry_name": MODELS[name][0], "overrides": MODELS[name][1],
                   "clips": args.clips, "val_clips": args.val_clips, "epochs": args.epochs}
            for variant in variants:
                print(f"== {name} {variant}", flush=True)
                if variant == "plain":
                    row[variant] = run_plain(name, arrays, args.epochs, jit_compile=False)
                elif variant == "plain_jit":
                    row[variant] = run_plain(name, arrays, args.epochs, jit_compile=True)
                elif variant == "tfaudio":
                    row[variant] = run_tfaudio(name, manifest, len(arrays[0]), args.epochs, "none", workdir)
                elif variant == "tfaudio_kws":
                    row[variant] = run_tfaudio(name, manifest, len(arrays[0]), args.epochs, "kws", workdir)
                else:
                    parser.error(f"unknown variant {variant!r}; expected one of {VARIANTS}")
                print(json.dumps(row[variant]), flush=True)
            for variant in variants:
                if variant != "plain" and "plain" in row:
                    row[f"{variant}_over_plain_cpu"] = row[variant]["clips_per_s_cpu"] / row["plain"]["clips_per_s_cpu"]
                    row[f"{variant}_over_plain_wall"] = row[variant]["clips_per_s_wall"] / row["plain"]["clips_per_s_wall"]
            rows.append(row)
            meta["tf_cpu_allocator"] = cpu_allocator()  # all variants share this process, so its allocator
            os.makedirs(args.out, exist_ok=True)
            with open(json_path, "w", encoding="utf-8") as f:
                json.dump({"meta": meta, "rows": rows}, f, indent=2)
                f.write("\n")
            write_markdown(meta, rows, os.path.join(args.out, "train_speed.md"))
    print(open(os.path.join(args.out, "train_speed.md"), encoding="utf-8").read())


if __name__ == "__main__":
    main()
