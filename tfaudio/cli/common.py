"""Helpers shared by the sub-commands: run folders, labels, data specs."""

import json
import os
import pathlib

import numpy as np

RUN_CONFIG = "run_config.json"
LABELS = "labels.json"
MODEL = "model.keras"


def default_fsdd_root():
    """$TFAUDIO_FSDD, else ../shared/data/fsdd seen from the working directory."""
    return os.environ.get("TFAUDIO_FSDD") or str(pathlib.Path("..", "shared", "data", "fsdd"))


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def resolve_model(path):
    """Returns `(model_file, run_dir_or_None)` for a run folder, a `.keras` or a `.tflite` file."""
    p = pathlib.Path(path)
    if p.is_dir():
        model = p / MODEL
        if not model.is_file():
            raise SystemExit(f"error: no {MODEL} in the run folder {p}")
        return model, p
    if not p.is_file():
        raise SystemExit(f"error: no model at {p}")
    run_dir = p.parent if (p.parent / RUN_CONFIG).is_file() else None
    return p, run_dir


def run_config(run_dir):
    if run_dir is None or not (pathlib.Path(run_dir) / RUN_CONFIG).is_file():
        return {}
    return read_json(pathlib.Path(run_dir) / RUN_CONFIG)


def audio_format(recorded, run_config, sample_rate=None, clip_seconds=None):
    """`(sample_rate, clip_seconds)` a model takes: the arguments, else what the model records, else its run's.

    `recorded` is what the model itself says: a Keras task's `sample_rate` and
    `clip_seconds`, or a `.tflite` file's metadata.
    """
    found = {}
    for key, given in (("sample_rate", sample_rate), ("clip_seconds", clip_seconds)):
        found[key] = given or recorded.get(key) or run_config.get(key)
        if not found[key]:
            flag = "--" + key.replace("_", "-")
            raise SystemExit(f"error: the model records no {key} and has no run_config.json; pass {flag}")
    return found["sample_rate"], found["clip_seconds"]


def labels_for(model_file, run_dir):
    """Labels saved with a model: labels.json beside the file or in its run folder."""
    for folder in (pathlib.Path(model_file).parent, run_dir):
        if folder is not None and (pathlib.Path(folder) / LABELS).is_file():
            return [str(x) for x in read_json(pathlib.Path(folder) / LABELS)]
    return None


def load_split(spec, split, sample_rate, clip_seconds, batch_size=32, max_examples=None):
    """(x [n, samples] float32, y [n] int32, labels) of the 'train' or 'test' split of a data spec."""
    from tfaudio.data import from_spec

    train_ds, test_ds, labels = from_spec(
        spec, sample_rate=sample_rate, clip_seconds=clip_seconds, batch_size=batch_size
    )
    ds = train_ds if split == "train" else test_ds
    if ds is None:
        raise SystemExit(f"error: the data spec {spec!r} has no {split} split")
    xs, ys = [], []
    count = 0
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
        count += len(xs[-1])
        if max_examples is not None and count >= max_examples:
            break
    if not xs:
        raise SystemExit(f"error: the {split} split of {spec!r} is empty")
    return np.concatenate(xs), np.concatenate(ys), list(labels)
