"""Keyword spotting on Speech Commands, speaker-disjoint: tfaudio's models against the TensorFlow tutorial recipe.

Question answered: trained on ~2 k clips of the shared Speech Commands folder (12 classes, 156
speakers) and tested on speakers they never heard, how accurate are tfaudio's models in float and
full-int8 TFLite, how big and how fast, and how far above the recipe users start from (the
TensorFlow "simple audio recognition" tutorial)?

Protocol: speaker-grouped 3-fold cross-validation (`speech_commands:PATH?split=speaker_fold:K/3`,
tfaudio.data: speakers in 3 balanced folds; fold K is the test split, 10 % of the other speakers
validation, the rest training; no speaker in two splits). Every model is trained with
`tfaudio.training.train` on the same folds, the tfaudio models with the KWS recipe
(`tfaudio.training.recipes.KWS`, the `--recipe kws` of `tfaudio train`) unless --recipe says
otherwise, and scored on the test fold: Keras float, TFLite float and TFLite full int8 (builtin
ops only, calibrated on 200 training clips). The model after the last epoch is scored (no
selection on the test fold). Params: trainable parameters. MACs: counted on the float TFLite graph
at batch 1 (conv, depthwise conv, fully connected, batch matmul; frontend included). Latency:
`tfaudio.bench.tflite_latency`, p50 of 50 runs, 1 thread, batch 1, on a machine shared with other
jobs (indicative).

The peer, "tutorial" (https://www.tensorflow.org/tutorials/audio/simple_audio), written out here as
the tutorial writes it: |STFT| (frame 255, step 128) -> add channel -> Resizing(32, 32) ->
Normalization (adapted on the training spectrograms) -> Conv2D(32, 3, relu) -> Conv2D(64, 3, relu)
-> MaxPooling2D -> Dropout(0.25) -> Flatten -> Dense(128, relu) -> Dropout(0.5) -> Dense; Adam 1e-3,
batch 64, up to 10 epochs with EarlyStopping(patience=2) on the validation split, as the tutorial
does. Its `tf.signal.stft` does not convert to TFLite builtins, so it has no TFLite columns.

Ablation (`--ablation MODEL`): the same model on the chosen folds once per recipe variant: the
full KWS recipe, each part removed in turn, and no augmentation at all, to say what each part is worth.

Usage:
    python benchmarks/kws.py [--models ds_cnn,bc_resnet,...] [--folds 1,2,3] [--epochs N]
        [--data ../shared/data/speech_commands] [--out benchmarks/results] [--tag NAME]
    python benchmarks/kws.py --ablation bc_resnet_1 --ablation-epochs 6   # + the recipe ablation on fold 1

Writes `kws[_TAG].json` (one record per model and fold, rewritten after each), `kws[_TAG].md`
(the table) and `kws[_TAG].png` (accuracy vs int8 size; needs matplotlib) under --out.
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

from benchmarks.model_zoo import tflite_macs  # noqa: E402

SAMPLE_RATE = 16000
NUM_FOLDS = 3

# name -> (registry model, overrides, epochs, extra TrainConfig fields). Sizes chosen to fit the 2 shared cores:
# the KWS models use a 20 ms hop (Hello Edge's; 49 frames per second), which halves their training time.
_HOP20 = dict(frame_step_seconds=0.02)
MODELS = {
    "bc_resnet": ("bc_resnet", dict(width=2, **_HOP20), 12, {}),
    "ds_cnn": ("ds_cnn", dict(size="m", **_HOP20), 12, {}),
    "ds_cnn_s": ("ds_cnn", dict(size="s", **_HOP20), 12, {}),
    "bc_resnet_1": ("bc_resnet", dict(width=1, **_HOP20), 12, {}),
    # SincNet as in benchmarks/model_zoo.py (two 512-unit dense layers) at 16 kHz with the paper's 251 taps.
    "sincnet": ("sincnet", dict(dense_units=(512, 512), dropout=0.2), 6, {}),
    # SqueezeNet 1.1 at half width on a 40-band log-mel with a 20 ms hop (resized to its 31 x 40 minimum... 49 x 40).
    "squeezenet": ("squeezenet", dict(width_multiplier=0.5, num_mel_bins=40, frame_step=320), 8, {}),
    # A small AST: hidden 64, 2 layers, 4 heads, 64 mel bins, 16x16 patches with stride 16 (24 tokens).
    "ast_small": (
        "ast_base",
        dict(hidden_dim=64, num_layers=2, num_heads=4, intermediate_dim=256, num_mel_bins=64,
             frequency_stride=16, time_stride=16, mel_floor=0.01),
        8,
        {"optimizer": "adamw", "weight_decay": 0.05, "learning_rate": 5e-4},
    ),
}
DEFAULT_MODELS = ("bc_resnet", "ds_cnn", "tutorial")
DEFAULT_EXTRA_MODELS = ("sincnet", "squeezenet", "ast_small")


def fold_spec(root, fold):
    return f"speech_commands:{root}?split=speaker_fold:{fold}/{NUM_FOLDS}"


def load_arrays(dataset, limit=None):
    xs, ys = [], []
    for x, y in dataset:
        xs.append(x.numpy())
        ys.append(y.numpy())
        if limit is not None and sum(len(a) for a in xs) >= limit:
            break
    x, y = np.concatenate(xs), np.concatenate(ys)
    return (x[:limit], y[:limit]) if limit else (x, y)


def accuracy(logits, labels):
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def recipe_variants():
    """Ablation variants: name -> TrainConfig fields (applied over the KWS recipe)."""
    return {
        "kws": {},
        "no_background_noise": {"background_noise": False},
        "no_time_shift": {"time_shift_seconds": 0.0},
        "no_spec_augment": {"spec_augment": False},
        "no_label_smoothing": {"label_smoothing": 0.0},
        "constant_lr": {"schedule": "constant", "learning_rate": 1e-3},
        "none": {"background_noise": False, "time_shift_seconds": 0.0, "spec_augment": False, "label_smoothing": 0.0},
    }


def run_tfaudio(name, fold, root, epochs, recipe, extra, workdir, export=True, folder=None):
    from tfaudio.export import TFLiteModel, to_tflite
    from tfaudio.bench import tflite_latency
    from tfaudio.data import from_spec
    from tfaudio.training import TrainConfig, train
    from tfaudio.training.recipes import recipe_fields

    model_name, overrides, default_epochs, fields = MODELS[name]
    spec = fold_spec(root, fold)
    kwargs = dict(recipe_fields(recipe))
    kwargs.update(fields)
    kwargs.update(extra)
    out = os.path.join(workdir, folder or f"{name}_fold{fold}")
    config = TrainConfig(
        model=model_name, data=spec, out=out, epochs=epochs or default_epochs, sample_rate=SAMPLE_RATE,
        overrides=dict(overrides), seed=fold, verbose=2, **kwargs,
    )
    start = time.perf_counter()
    result, model = train(config, return_model=True)
    train_seconds = time.perf_counter() - start

    splits = from_spec(spec, sample_rate=SAMPLE_RATE, batch_size=64, seed=0)
    x_test, y_test = load_arrays(splits[1])
    calibration, _ = load_arrays(splits[0], 200)
    record = {
        "model": name, "registry_name": model_name, "overrides": overrides, "fold": fold, "epochs": config.epochs,
        "recipe": recipe, "train_config_extra": {**fields, **extra}, "train_seconds": round(train_seconds, 1),
        "test_clips": int(len(y_test)), "train_clips": int(result["steps_per_epoch"] * config.batch_size),
        "params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "keras_accuracy": accuracy(model.predict(x_test, batch_size=64, verbose=0), y_test),
        "history_val_accuracy": [round(h.get("val_accuracy", float("nan")), 4) for h in result["history"]],
    }
    for quantize in (None, "int8") if export else ():
        kind = quantize or "float"
        path = os.path.join(out, f"model_{kind}.tflite")
        to_tflite(model, path, quantize=quantize, representative_data=calibration if quantize else None)
        runner = TFLiteModel(path)
        record[f"tflite_{kind}_accuracy"] = accuracy(runner.predict(x_test, batch_size=64), y_test)
        record[f"tflite_{kind}_bytes"] = os.path.getsize(path)
        record[f"tflite_{kind}_p50_ms_1t"] = tflite_latency(path, num_threads=1, runs=50, warmup=5)["p50_ms"]
        if quantize is None:
            record["macs"] = tflite_macs(path, x_test.shape[1])
    return record


def tutorial_model(num_classes, train_ds):
    """The TensorFlow simple-audio tutorial's model, on 1 s 16 kHz waveforms."""
    import tensorflow as tf

    from tfaudio.backend import keras

    def spectrogram(waveform):
        return tf.abs(tf.signal.stft(waveform, frame_length=255, frame_step=128))[..., None]

    norm = keras.layers.Normalization()
    norm.adapt(train_ds.map(lambda x, y: spectrogram(x)))
    inputs = keras.Input(shape=(SAMPLE_RATE,))
    x = keras.layers.Lambda(spectrogram, output_shape=(124, 129, 1))(inputs)
    x = keras.layers.Resizing(32, 32)(x)
    x = norm(x)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x), name="tutorial")


def run_tutorial(fold, root, epochs):
    from tfaudio.backend import keras
    from tfaudio.data import from_spec

    keras.utils.set_random_seed(fold)
    splits = from_spec(fold_spec(root, fold), sample_rate=SAMPLE_RATE, batch_size=64, seed=fold)
    train_ds, test_ds, labels = splits
    model = tutorial_model(len(labels), train_ds)
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=splits.validation, epochs=epochs or 10, verbose=2,
        callbacks=[keras.callbacks.EarlyStopping(verbose=1, patience=2)],
    )
    x_test, y_test = load_arrays(test_ds)
    return {
        "model": "tutorial", "fold": fold, "epochs": len(history.history["loss"]),
        "train_seconds": round(time.perf_counter() - start, 1), "test_clips": int(len(y_test)),
        "params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "keras_accuracy": accuracy(model.predict(x_test, batch_size=64, verbose=0), y_test),
        "history_val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
    }


def _write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def summarise(records):
    """Per model (and recipe): mean and per-fold values of each measured column."""
    groups = {}
    for r in records:
        groups.setdefault((r["model"], r.get("recipe")), []).append(r)
    rows = []
    for (model, recipe), rs in groups.items():
        row = {"model": model, "recipe": recipe, "folds": [r["fold"] for r in rs], "epochs": rs[0]["epochs"],
               "epochs_per_fold": [r["epochs"] for r in rs]}
        for key in ("keras_accuracy", "tflite_float_accuracy", "tflite_int8_accuracy", "params", "macs",
                    "tflite_int8_bytes", "tflite_float_p50_ms_1t", "tflite_int8_p50_ms_1t", "train_seconds"):
            values = [r[key] for r in rs if key in r]
            if values:
                row[key] = float(np.mean(values))
                row[key + "_per_fold"] = values
        rows.append(row)
    return rows


def write_markdown(meta, rows, path):
    def pct(row, key):
        if key not in row:
            return "-"
        folds = ", ".join(f"{v * 100:.1f}" for v in row[key + "_per_fold"])
        return f"{row[key] * 100:.1f} ({folds})"

    def num(row, key, scale, fmt, unit=""):
        return format(row[key] / scale, fmt) + unit if key in row else "-"

    tutorial = next((r for r in rows if r["model"] == "tutorial"), None)
    # The tfaudio models first, then the tutorial, then the ablation (stable within each group).
    rows = sorted(rows, key=lambda r: (str(r.get("recipe")).startswith("ablation:"), r["model"] == "tutorial"))
    lines = [
        "# Keyword spotting on Speech Commands (speaker-disjoint 3-fold cross-validation)",
        "",
        f"Machine: {meta['machine']}; run {meta['date']}; commands: "
        + "; ".join(f"`{c}`" for c in meta.get("commands", [meta["command"]])) + ".",
        f"Data: {meta['data']} (12 classes), `speaker_fold:K/3`; test accuracy in % as mean (per fold).",
        "",
        "| model | recipe | folds | epochs | params | MACs | test acc Keras | TFLite float | TFLite int8 | int8 - float (points) "
        "| int8 size (KiB) | p50 float 1t (ms) | p50 int8 1t (ms) | vs tutorial (points) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        epochs = r.get("epochs_per_fold", [r["epochs"]])
        epochs = str(epochs[0]) if min(epochs) == max(epochs) else f"{min(epochs)}-{max(epochs)}"
        gap = "-"
        if "tflite_int8_accuracy" in r:
            gap = f"{(r['tflite_int8_accuracy'] - r['tflite_float_accuracy']) * 100:+.1f}"
        lift = "-"
        if tutorial is not None and r is not tutorial:
            # Against the tutorial on the row's own folds when it has them all, else its mean over its folds.
            per_fold = dict(zip(tutorial["folds"], tutorial["keras_accuracy_per_fold"]))
            same = [per_fold[f] for f in r["folds"] if f in per_fold]
            peer = float(np.mean(same)) if len(same) == len(r["folds"]) else tutorial["keras_accuracy"]
            lift = f"{(r['keras_accuracy'] - peer) * 100:+.1f}"
        lines.append(
            f"| {r['model']} | {r.get('recipe') or 'tutorial'} | {','.join(map(str, r['folds']))} | {epochs} | {num(r, 'params', 1e3, '.1f', 'K')} "
            f"| {num(r, 'macs', 1e6, '.1f', 'M')} | {pct(r, 'keras_accuracy')} | {pct(r, 'tflite_float_accuracy')} "
            f"| {pct(r, 'tflite_int8_accuracy')} | {gap} | {num(r, 'tflite_int8_bytes', 1024, '.0f')} "
            f"| {num(r, 'tflite_float_p50_ms_1t', 1, '.2f')} | {num(r, 'tflite_int8_p50_ms_1t', 1, '.2f')} | {lift} |"
        )
    lines += [
        "",
        "Notes: MACs from the float TFLite graph at batch 1, frontend included. Latency on 2 shared cores",
        "(other jobs running): indicative. The tutorial's STFT has no TFLite builtin form (no TFLite columns).",
        "The model after the last epoch is scored; nothing is selected on the test fold.",
        "Epochs are a CPU budget on the 2 shared cores, not convergence: the validation accuracy per epoch is in the",
        "JSON (`history_val_accuracy`). Ablation rows (`ablation:*`) are Keras accuracy on their folds only.",
        "\"vs tutorial\" is Keras accuracy minus the tutorial's on the same folds. A row whose folds column is not",
        "1,2,3 is the mean of those folds only (the CPU budget did not reach the others), not a 3-fold figure.",
        "Models (registry name and arguments): " + "; ".join(
            f"{name} = `{MODELS[name][0]}({', '.join(f'{k}={v!r}' for k, v in MODELS[name][1].items())})`"
            + (f" trained with {', '.join(f'{k}={v!r}' for k, v in MODELS[name][3].items())}" if MODELS[name][3] else "")
            for name in dict.fromkeys(r["model"] for r in rows) if name in MODELS) + ".",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def write_chart(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart written", flush=True)
        return None
    tutorial = next((r for r in rows if r["model"] == "tutorial"), None)
    rows = [r for r in rows if "tflite_int8_bytes" in r]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    # One bar per row: the recipe when not kws, and the folds the row averages (not always all 3).
    labels = [f"{r['model']}" + ("" if r.get("recipe") == "kws" else f" ({r.get('recipe')})")
              + f"\nfolds {','.join(map(str, r['folds']))}\n{r['tflite_int8_bytes'] / 1024:.0f} KiB" for r in rows]
    ax.tick_params(axis="x", labelsize=8)
    ax.bar(labels, [r["tflite_int8_accuracy"] * 100 for r in rows], color="tab:blue", label="TFLite int8")
    ax.scatter(labels, [r["tflite_float_accuracy"] * 100 for r in rows], color="black", marker="_", s=400,
               label="TFLite float", zorder=3)
    if tutorial is not None:
        ax.axhline(tutorial["keras_accuracy"] * 100, color="tab:red", linestyle="--", label="TF tutorial recipe (mean of its folds)")
    ax.set_ylabel("test accuracy, unseen speakers (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Speech Commands 12-class, speaker folds of 3: accuracy vs int8 size", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "speech_commands"))
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"Comma-separated, from {sorted(MODELS) + ['tutorial']}.")
    parser.add_argument("--folds", default="1,2,3", help="Comma-separated folds (1..3).")
    parser.add_argument("--epochs", type=int, default=None, help="Override every model's epochs.")
    parser.add_argument("--recipe", default="kws", help="Recipe of the tfaudio models (tfaudio.training.recipes).")
    parser.add_argument("--ablation", default=None, metavar="MODEL", help="Run MODEL once per recipe variant.")
    parser.add_argument("--variants", default=None, help="Comma-separated subset of the ablation variants.")
    parser.add_argument("--ablation-folds", default="1", help="Folds of the ablation. Defaults to 1.")
    parser.add_argument("--ablation-epochs", type=int, default=6, help="Epochs of each ablation run. Defaults to 6.")
    parser.add_argument("--extra-models", default=",".join(DEFAULT_EXTRA_MODELS),
                        help="Models run on the first fold only, after everything else.")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--tag", default=None, help="Suffix of the output files (kws_TAG.json).")
    parser.add_argument("--workdir", default=None,
                        help="Keep every run folder (MODEL_foldK/) here; defaults to a temporary folder removed at the end.")
    parser.add_argument("--import-records", action="append", default=[], metavar="JSON",
                        help="Add the records of another kws*.json (repeatable); with no jobs left, just rewrites the outputs.")
    parser.add_argument("--fresh", action="store_true", help="Start over instead of keeping the records already in the JSON.")
    args = parser.parse_args(argv)

    stem = "kws" + (f"_{args.tag}" if args.tag else "")
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, stem + ".json")
    folds = [int(f) for f in args.folds.split(",")]
    import tensorflow as tf

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), TF {tf.__version__}",
        "command": "python benchmarks/kws.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": args.data,
    }
    records = []
    if os.path.isfile(json_path) and not args.fresh:
        # A rerun (after a crash, or with other --models) keeps the finished (model, fold, recipe) records.
        previous = json.load(open(json_path, encoding="utf-8"))
        records = previous["records"]
        commands = previous.get("meta", {}).get("commands", [previous.get("meta", {}).get("command")])
        meta["commands"] = [c for c in commands if c] + [meta["command"]]
    for path in args.import_records:  # records of other runs (e.g. run side by side with another --tag)
        other = json.load(open(path, encoding="utf-8"))
        keys = {(r["model"], r["fold"], r.get("recipe")) for r in records}
        records += [r for r in other["records"] if (r["model"], r["fold"], r.get("recipe")) not in keys]
        meta.setdefault("commands", [meta["command"]])
        meta["commands"] = other.get("meta", {}).get("commands", [other.get("meta", {}).get("command")]) + meta["commands"]
    done = {(r["model"], r["fold"], r.get("recipe")) for r in records}

    # Priority order (the JSON is rewritten after every job, so a run cut short keeps what finished):
    # the first fold's main models, the ablation, the other folds, then the extra models on the first fold.
    main_jobs = [(m, fold, None if m == "tutorial" else args.recipe, {}, True)
                 for fold in folds for m in args.models.split(",") if m]
    jobs = [j for j in main_jobs if j[1] == folds[0]]
    if args.ablation:
        variants = recipe_variants()
        names = args.variants.split(",") if args.variants else list(variants)
        jobs += [(args.ablation, fold, f"ablation:{name}", dict(variants[name], epochs=args.ablation_epochs), False)
                 for fold in (int(f) for f in args.ablation_folds.split(",")) for name in names]
    jobs += [j for j in main_jobs if j[1] != folds[0]]
    jobs += [(m, folds[0], args.recipe, {}, True) for m in args.extra_models.split(",") if m]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        for model, fold, recipe, extra, export in jobs:
            if (model, fold, recipe) in done:
                continue
            print(f"== {model} fold {fold} recipe {recipe}", flush=True)
            if model == "tutorial":
                record = run_tutorial(fold, args.data, args.epochs)
            else:
                extra = dict(extra)
                epochs = extra.pop("epochs", args.epochs)
                base = args.recipe if export else "kws"  # ablation variants are changes to the KWS recipe
                # One folder per (model, fold, recipe): train() resumes from a folder's checkpoint.
                folder = f"{model}_fold{fold}" + ("" if recipe == "kws" else "_" + recipe.replace(":", "_"))
                record = run_tfaudio(model, fold, args.data, epochs, base, extra, workdir, export=export, folder=folder)
                record["recipe"] = recipe
            print(json.dumps(record), flush=True)
            records.append(record)
            rows = summarise(records)
            _write_json(json_path, {"meta": meta, "records": records, "summary": rows})
            write_markdown(meta, rows, os.path.join(args.out, stem + ".md"))
            write_chart(rows, os.path.join(args.out, stem + ".png"))
    rows = summarise(records)
    _write_json(json_path, {"meta": meta, "records": records, "summary": rows})
    write_markdown(meta, rows, os.path.join(args.out, stem + ".md"))
    write_chart(rows, os.path.join(args.out, stem + ".png"))
    print(open(os.path.join(args.out, stem + ".md"), encoding="utf-8").read())


if __name__ == "__main__":
    main()
