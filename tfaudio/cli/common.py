"""Helpers shared by the sub-commands: run folders, labels, data specs, model files.

User mistakes are raised as `tfaudio.errors.UserError` naming the file or argument; `tfaudio.cli.main`
prints them as one `error: ...` line with exit status 2.
"""

import json
import os
import pathlib

import numpy as np

from tfaudio import atomic
from tfaudio.errors import UserError

from tfaudio.training.run_folder import LABELS_FILE as LABELS
from tfaudio.training.run_folder import MODEL_FILE as MODEL
from tfaudio.training.run_folder import RUN_CONFIG_FILE as RUN_CONFIG


def default_fsdd_root():
    """$TFAUDIO_FSDD, else ../shared/data/fsdd seen from the working directory."""
    return os.environ.get("TFAUDIO_FSDD") or str(pathlib.Path("..", "shared", "data", "fsdd"))


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None


def write_json(path, value):
    """Writes JSON atomically (`tfaudio.atomic`): a killed command never leaves half a file."""
    return atomic.write_json(path, value)


# First bytes that tell a model file's kind: .keras files are zip archives, .tflite flatbuffers
# carry the "TFL3" identifier at offset 4.
def _model_kind(path):
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] == b"PK\x03\x04":
        return "keras"
    if head[4:8] == b"TFL3":
        return "tflite"
    return None


def check_model_file(path, kinds=("keras", "tflite")):
    """Raises UserError unless `path` is an existing model file of one of `kinds`."""
    p = pathlib.Path(path)
    if not p.exists():
        raise UserError(f"no model at {p}")
    if not p.is_file():
        raise UserError(f"{p}: not a model file")
    kind = _model_kind(p)
    expected = " or ".join(f".{k}" for k in kinds)
    if kind is None:
        raise UserError(f"{p}: not a {expected} model (its first bytes are neither a .keras zip nor a TFLite flatbuffer)")
    if kind not in kinds:
        raise UserError(f"{p}: a .{kind} model where a {expected} model is needed")
    return kind


def resolve_model(path, kinds=("keras", "tflite")):
    """Returns `(model_file, run_dir_or_None)` for a run folder, a `.keras` or a `.tflite` file."""
    p = pathlib.Path(path)
    if p.is_dir():
        model = p / MODEL
        if not model.is_file():
            raise UserError(f"no {MODEL} in the run folder {p}")
        check_model_file(model, kinds)
        return model, p
    check_model_file(p, kinds)
    run_dir = p.parent if (p.parent / RUN_CONFIG).is_file() else None
    return p, run_dir


def load_keras(model_file):
    """The Keras model in `model_file`; a damaged or foreign file is a UserError naming it."""
    import zipfile

    from tfaudio.models import load

    try:
        return load(str(model_file))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as e:
        raise UserError(f"{model_file}: cannot be loaded as a Keras model ({type(e).__name__}: {e})") from e


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
            raise UserError(f"the model records no {key} and has no run_config.json; pass {flag}")
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
        raise UserError(f"the data spec {spec!r} has no {split} split")
    xs, ys = [], []
    count = 0
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
        count += len(xs[-1])
        if max_examples is not None and count >= max_examples:
            break
    if not xs:
        raise UserError(f"the {split} split of {spec!r} is empty")
    return np.concatenate(xs), np.concatenate(ys), list(labels)
