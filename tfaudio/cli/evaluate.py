"""`tfaudio evaluate`: accuracy of a Keras or TFLite model on the test split of a data spec."""

import numpy as np

from tfaudio.cli import common
from tfaudio.errors import UserError

HELP = "Evaluate a trained model (run folder, .keras or .tflite) on the test split of a dataset."


def add_arguments(parser):
    parser.add_argument("--model", required=True, help="Run folder from `tfaudio train`, a .keras file or a .tflite file.")
    parser.add_argument(
        "--data",
        default=None,
        help="Data spec fsdd:PATH, folder:PATH or manifest:CSV. Defaults to the one the model was trained on.",
    )
    parser.add_argument("--sample-rate", type=int, default=None, help="Defaults to the training run's.")
    parser.add_argument("--clip-seconds", type=float, default=None, help="Defaults to the training run's.")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="TFLite interpreter threads.")
    parser.add_argument("--out", default=None, help="Write the metrics as JSON to this file.")


def evaluate(model_path, data=None, sample_rate=None, clip_seconds=None, batch_size=32, threads=1):
    """Returns a metrics dict: accuracy, examples, per-class accuracy, confusion matrix."""
    model_file, run_dir = common.resolve_model(model_path)
    config = common.run_config(run_dir)
    data = data or config.get("data")
    if not data:
        raise UserError("--data is required (the model has no run_config.json naming its data)")
    sample_rate = sample_rate or config.get("sample_rate") or 16000
    clip_seconds = clip_seconds or config.get("clip_seconds") or 1.0
    x, y, data_labels = common.load_split(data, "test", sample_rate, clip_seconds, batch_size)

    model_labels = common.labels_for(model_file, run_dir) or data_labels
    missing = sorted(set(data_labels) - set(model_labels))
    if missing:
        raise UserError(f"the data has labels the model does not know: {missing}")
    # Map the dataset's label ids onto the model's label order.
    y = np.array([model_labels.index(data_labels[i]) for i in y])

    if str(model_file).endswith(".tflite"):
        from tfaudio.export import TFLiteModel

        logits = TFLiteModel(str(model_file), num_threads=threads).predict(x, batch_size=batch_size)
    else:
        logits = np.asarray(common.load_keras(model_file).predict(x, batch_size=batch_size, verbose=0))
    pred = logits.argmax(axis=-1)
    n = len(model_labels)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    per_class = {
        model_labels[i]: float(confusion[i, i] / confusion[i].sum()) for i in range(n) if confusion[i].sum()
    }
    return {
        "model": str(model_file),
        "data": data,
        "examples": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "per_class_accuracy": per_class,
        "labels": model_labels,
        "confusion_matrix": confusion.tolist(),
    }


def run(args):
    metrics = evaluate(args.model, args.data, args.sample_rate, args.clip_seconds, args.batch_size, args.threads)
    print(f"{metrics['model']}: accuracy {metrics['accuracy']:.4f} on {metrics['examples']} test clips of {metrics['data']}")
    if args.out:
        common.write_json(args.out, metrics)
        print(f"metrics written to {args.out}")
    return 0
