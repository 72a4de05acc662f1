"""Callbacks of the training loop: a resumable per-epoch log and best/last model checkpoints."""

import hashlib
import json
import math
import os
import shutil

import numpy as np

from tfaudio.atomic import atomic_path, write_json
from tfaudio.backend import keras

_SKIPSET_TYPES = ("Operation", "Layer", "Functional", "Sequential", "Metric", "Optimizer", "Loss")


def cache_keras_saving_skipsets():
    """Makes Keras' own per-type cache of attributes to skip when saving work (Keras 3.15).

    `keras.src.saving.saving_lib.get_attr_skipset` looks its cache up under
    `saving_attr_skiplist_TYPE` but stores it under `saving_attr_skipset_TYPE`, so
    every layer saved builds a throw-away `Layer()` to list its attributes: ~40 % of
    a `.keras` or `.weights.h5` save of a KWS model (bc_resnet-2: 0.67 -> 0.46 CPU-s).
    Storing each computed set under the key it is read from gives the same sets.
    Thread-local like Keras' global state; a no-op where the names differ.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.saving import saving_lib
    except ImportError:  # tf_keras, or a Keras without these modules
        return
    for obj_type in _SKIPSET_TYPES:
        key = f"saving_attr_skiplist_{obj_type}"
        if global_state.get_global_attribute(key) is None:
            try:
                global_state.set_global_attribute(key, saving_lib.get_attr_skipset(obj_type))
            except (AttributeError, ValueError):
                return


def weights_digest(model):
    """SHA-256 of all of `model`'s weights (values, in order): equal digests mean equal weights."""
    digest = hashlib.sha256()
    for w in model.weights:
        digest.update(np.ascontiguousarray(np.asarray(w.numpy() if hasattr(w, "numpy") else w)).tobytes())
    return digest.hexdigest()


def _jsonable(logs):
    out = {}
    for key, value in (logs or {}).items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        out[key] = value if math.isfinite(value) else None
    return out


class EpochLog(keras.callbacks.Callback):
    """Appends one JSON line per event to `path`, surviving restarts.

    Events: `{"event": "start", "epoch": E, "weights": digest}` when the first
    epoch of a `fit` begins (after `BackupAndRestore` restored the state, so a
    resumed run shows the restored epoch and weights), and `{"event": "epoch",
    "epoch": E, "weights": digest, "stage": ..., <logs>}` when an epoch ends.
    The start event is written at the first `on_epoch_begin`, after every
    callback's `on_train_begin` (so after `BackupAndRestore` restored the state).

    Args:
        path: str. The JSON-lines file.
        stage: str. Name of the training stage ("train", "fine_tune").
        digest_weights: bool. Record weight digests (costs a host copy of the
            weights per epoch). Defaults to True.
    """

    def __init__(self, path, stage="train", digest_weights=True):
        super().__init__()
        self.path = path
        self.stage = stage
        self.digest_weights = digest_weights
        self._started = False

    def _write(self, row):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path, "ab+") as f:
            torn = False
            if f.seek(0, os.SEEK_END):
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"  # a line torn by a kill is ended first, so this row stays readable
            f.write((("\n" if torn else "") + json.dumps(row) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def _digest(self):
        return weights_digest(self.model) if self.digest_weights else None

    def on_train_begin(self, logs=None):
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._started = True
            self._write({"event": "start", "stage": self.stage, "epoch": int(epoch), "weights": self._digest()})

    def on_epoch_end(self, epoch, logs=None):
        row = {"event": "epoch", "stage": self.stage, "epoch": int(epoch), "weights": self._digest()}
        row.update(_jsonable(logs))
        lr = getattr(self.model.optimizer, "learning_rate", None)
        if lr is not None:
            try:
                row["learning_rate"] = float(np.asarray(lr))
            except (TypeError, ValueError):
                pass
        self._write(row)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose backup is consistent after a SIGKILL at any instant.

    Keras overwrites `latest.weights.h5` in place and then `training_metadata.json`: a kill
    between the two resumes the new weights at the old epoch, and a kill inside the JSON write
    leaves a file that stops every later resume. Here each backup writes a new weights file
    (atomically), then the metadata naming it (atomically), and only then removes the previous
    weights: the metadata on disk always names complete weights of the epoch it states.
    Same arguments as `keras.callbacks.BackupAndRestore` (`double_checkpoint` is not needed), and
    `restore_dir`: the backup every worker of a multi-worker run restores from (the chief's), so a
    worker killed just before its own backup restarts at the same epoch as the others.
    """

    def __init__(self, backup_dir, restore_dir=None, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.restore_dir = restore_dir or backup_dir

    def _save_model(self):
        cache_keras_saving_skipsets()
        os.makedirs(self.backup_dir, exist_ok=True)
        name = f"state-{self._current_epoch}-{self._last_batch_seen}-{os.urandom(4).hex()}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, name)) as tmp:
            self.model.save_weights(tmp)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name}
        write_json(self._training_metadata_path, metadata)
        for old in os.listdir(self.backup_dir):  # earlier states, and temporaries of killed runs
            if old.startswith(("state-", ".state-")) and old != name:
                os.remove(os.path.join(self.backup_dir, old))

    def _load_model(self):
        metadata_path = os.path.join(self.restore_dir, os.path.basename(self._training_metadata_path))
        if not os.path.isfile(metadata_path):
            return
        with open(metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.restore_dir, metadata["weights"]))
        self.model._initial_epoch = metadata["epoch"]

    def on_train_begin(self, logs=None):
        self._load_model()


def _atomic_save(model, path):
    cache_keras_saving_skipsets()
    with atomic_path(path) as tmp:
        model.save(tmp)


def _atomic_copy(source, path):
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


class ModelCheckpoints(keras.callbacks.Callback):
    """Saves `last.keras` after every epoch and `best.keras` when `monitor` improves.

    Unlike `keras.callbacks.ModelCheckpoint`, it saves `export_model` (the clean
    model, without the augmentation wrapper used for training) through
    `export_fn`, writes atomically (a kill mid-save leaves the previous file),
    and keeps the best value in `best.json` so a resumed run keeps comparing
    against it.

    Args:
        directory: str. Folder of `last.keras`, `best.keras`, `best.json`.
        export_fn: callable returning the `keras.Model` to save.
        monitor: str. Log key to compare. Defaults to "val_loss".
        mode: "min" or "max". Defaults to "min".
    """

    def __init__(self, directory, export_fn, monitor="val_loss", mode="min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max'. Received: mode={mode!r}")
        self.directory = directory
        self.export_fn = export_fn
        self.monitor = monitor
        self.mode = mode
        self._best_path = os.path.join(directory, "best.json")

    def best(self):
        if os.path.isfile(self._best_path):
            with open(self._best_path, encoding="utf-8") as f:
                return json.load(f)
        return None

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        model = self.export_fn()
        last = os.path.join(self.directory, "last.keras")
        _atomic_save(model, last)
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        value = float(value)
        best = self.best()
        better = best is None or (value < best["value"] if self.mode == "min" else value > best["value"])
        if better and math.isfinite(value):
            _atomic_copy(last, os.path.join(self.directory, "best.keras"))  # the same model: a copy, not a 2nd save
            tmp = self._best_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"epoch": int(epoch), "monitor": self.monitor, "value": value}, f)
            os.replace(tmp, self._best_path)
