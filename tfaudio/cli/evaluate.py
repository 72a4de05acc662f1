"""`tfaudio evaluate`: accuracy of a Keras or TFLite model on a data spec's test split, or on all of it.

The clips are read with `tfaudio.io` and centred to the model's length exactly as the test
pipeline does (`tfaudio.data.fit_length` without a seed), in NumPy: a `.tflite` model is
evaluated without TensorFlow.
"""

import numpy as np

from tfaudio.cli import common
from tfaudio.clip import clip_samples

HELP = "Evaluate a trained model (run folder, .keras or .tflite) on the test split of a dataset, or on all of it."

SPLITS = ("auto", "test", "validation", "train", "all")


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="Run folder from `tfaudio train`, a .keras file or a .tflite file.")
    parser.add_argument(
        "--data",
        default=None,
        help="Data spec fsdd:PATH, folder:PATH, manifest:CSV or speech_commands:PATH (e.g. "
        "'speech_commands:DIR?task=digits&split=none'). Defaults to the one the model was trained on.",
    )
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="auto",
        help="Which files: auto (the test split when the spec has one, else all of it: a folder, a manifest "
        "without test rows, ?split=none), test, validation, train, or all. Defaults to auto.",
    )
    parser.add_argument("--sample-rate", type=int, default=None, help="Defaults to the model's own (or its training run's).")
    parser.add_argument("--clip-seconds", type=float, default=None, help="Defaults to the model's own (or its training run's).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="TFLite interpreter threads.")
    parser.add_argument("--out", default=None, help="Write the metrics as JSON to this file.")
    parser.add_argument("--plot", default=None, metavar="PATH.png",
                        help="Write the confusion matrix as an image (needs matplotlib: pip install tfaudio[plot]).")


def select_files(spec, split="auto"):
    """`(Split, name, labels)`: the files of `spec` to evaluate (see `--split`)."""
    from tfaudio.data import Split, files_from_spec

    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: split={split!r}")
    try:
        splits = files_from_spec(spec)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    train, test, labels = splits
    parts = {"train": train, "test": test, "validation": splits.validation}
    if split == "auto":
        split = "test" if test is not None and len(test) else "all"
    if split == "all":
        chosen = [s for s in (train, splits.validation, test) if s is not None]
        files = Split([p for s in chosen for p in s.paths], [y for s in chosen for y in s.labels])
    else:
        files = parts[split]
    if files is None or not len(files):
        raise SystemExit(f"error: the data spec {spec!r} has no {split} split")
    return files, split, list(labels)


def centre_fit(audio, num_samples):
    """NumPy twin of `tfaudio.data.fit_length(audio, num_samples)` (no seed): centred crop or zero padding."""
    excess, missing = max(len(audio) - num_samples, 0), max(num_samples - len(audio), 0)
    start, left = excess // 2, missing // 2
    audio = audio[start : start + num_samples]
    return np.pad(audio, (left, missing - left)).astype(np.float32)


def batches(files, sample_rate, clip_seconds, batch_size):
    """Yields `(waveforms float32 [batch, samples], labels int [batch])` in file order."""
    from tfaudio.io import load_audio

    files.validate()  # every bad file named before anything runs
    num_samples = clip_samples(sample_rate, clip_seconds)
    for i in range(0, len(files), batch_size):
        chunk = files.paths[i : i + batch_size]
        x = np.stack([centre_fit(load_audio(p, sample_rate=sample_rate)[0], num_samples) for p in chunk])
        yield x, np.asarray(files.labels[i : i + batch_size])


def _predictor(model_file, threads, batch_size):
    """`(predict, recorded)`: batch -> logits, and the input format the model records (`sample_rate`, ...)."""
    if str(model_file).endswith(".tflite"):
        from tfaudio.runtime import TFLiteModel

        model = TFLiteModel(str(model_file), num_threads=threads)
        return (lambda x: np.asarray(model.predict(x, batch_size=batch_size))), model.metadata
    model = common.load_keras(model_file)
    recorded = {key: getattr(model, key, None) for key in ("sample_rate", "clip_seconds")}
    return (lambda x: np.asarray(model.predict(x, batch_size=batch_size, verbose=0))), recorded


def evaluate(model_path, data=None, sample_rate=None, clip_seconds=None, batch_size=32, threads=1, split="auto",
             plot=None):
    """Returns a metrics dict: accuracy, examples, split, per-class accuracy, confusion matrix.

    Args:
        model_path: a run folder, a `.keras` or a `.tflite` file.
        data: data spec; defaults to the run's own (`run_config.json`).
        split: "auto" (the test split when the spec has one, else all of it), "test",
            "validation", "train" or "all".
        plot: optional image path for the confusion matrix (`tfaudio.plots`).
    """
    model_file, run_dir = common.resolve_model(model_path)
    config = common.run_config(run_dir)
    data = data or config.get("data")
    if not data:
        raise SystemExit("error: --data is required (the model has no run_config.json naming its data)")
    files, split, data_labels = select_files(data, split)
    predict, recorded = _predictor(model_file, threads, batch_size)
    sample_rate, clip_seconds = common.audio_format(recorded, config, sample_rate, clip_seconds)

    model_labels = common.labels_for(model_file, run_dir) or data_labels
    missing = sorted({data_labels[y] for y in files.labels} - set(model_labels))
    if missing:
        raise SystemExit(f"error: the data has labels the model does not know: {missing} (the model's: {model_labels})")
    to_model = np.array([model_labels.index(name) if name in model_labels else -1 for name in data_labels])

    ys, preds = [], []
    for x, y in batches(files, sample_rate, clip_seconds, batch_size):
        ys.append(to_model[y])  # the dataset's label ids onto the model's label order
        preds.append(predict(x).argmax(axis=-1))
    y, pred = np.concatenate(ys), np.concatenate(preds)
    n = len(model_labels)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    per_class = {
        model_labels[i]: float(confusion[i, i] / confusion[i].sum()) for i in range(n) if confusion[i].sum()
    }
    metrics = {
        "model": str(model_file),
        "data": data,
        "split": split,
        "sample_rate": int(sample_rate),
        "examples": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "per_class_accuracy": per_class,
        "labels": model_labels,
        "confusion_matrix": confusion.tolist(),
    }
    if plot:
        from tfaudio import plots

        plots.confusion_matrix_plot(confusion, model_labels, plot, title=f"{_short(model_file)} on {split} of {data}")
    return metrics


def _short(path):
    import os

    return os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path)


def run(args):
    try:
        metrics = evaluate(args.model, args.data, args.sample_rate, args.clip_seconds, args.batch_size, args.threads,
                           split=args.split, plot=args.plot)
    except ImportError as e:  # the optional plotting extra
        raise SystemExit(f"error: {e}") from None
    print(f"{metrics['model']}: accuracy {metrics['accuracy']:.4f} on {metrics['examples']} clips "
          f"({metrics['split']}) of {metrics['data']}")
    if args.out:
        common.write_json(args.out, metrics)
        print(f"metrics written to {args.out}")
    if args.plot:
        print(f"confusion matrix written to {args.plot}")
    return 0
