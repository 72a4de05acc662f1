"""Datasets as tf.data pipelines of `(waveform float32 [batch, samples], label int32 [batch])`.

Three sources, one return value `(train_ds, test_ds, labels)`:
`fsdd(root)`, `from_folder(root)`, `from_manifest(csv_path)`, and `from_spec("fsdd:PATH" |
"folder:PATH" | "manifest:CSV")` for the command line. The `*_files` twins return the same
triple with `Split`s (file paths + label indices) instead of datasets; they do not import
TensorFlow (the pipeline module, and with it TensorFlow, loads when a dataset is first built).
"""

import importlib

from tfaudio.data.folder import folder_files, from_folder
from tfaudio.data.fsdd import fsdd, fsdd_files
from tfaudio.data.manifest import from_manifest, manifest_files
from tfaudio.data.split import Split

_SOURCES = {
    "fsdd": (fsdd, fsdd_files),
    "folder": (from_folder, folder_files),
    "manifest": (from_manifest, manifest_files),
}


_PIPELINE_NAMES = ("build_datasets", "fit_length", "make_dataset")


def __getattr__(name):
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("tfaudio.data.pipeline"), name)
    raise AttributeError(f"module 'tfaudio.data' has no attribute {name!r}")


def _parse_spec(spec):
    kind, sep, path = str(spec).partition(":")
    if not sep or kind not in _SOURCES or not path:
        raise ValueError(
            f"A data spec is fsdd:PATH, folder:PATH or manifest:CSV. Received: spec={spec!r}"
        )
    return kind, path


def from_spec(spec, **kwargs):
    """Datasets from a command-line spec: "fsdd:PATH", "folder:PATH" or "manifest:CSV".

    `kwargs` go to `fsdd`, `from_folder` or `from_manifest`; returns their
    `(train_ds, test_ds, labels)`.
    """
    kind, path = _parse_spec(spec)
    return _SOURCES[kind][0](path, **kwargs)


def files_from_spec(spec, **kwargs):
    """File lists from a spec, without TensorFlow: `(train, test, labels)` with `Split`s.

    `kwargs` go to `fsdd_files`, `folder_files` or `manifest_files` (e.g. `split=`,
    `validation_split=`).
    """
    kind, path = _parse_spec(spec)
    return _SOURCES[kind][1](path, **kwargs)


__all__ = [
    "Split",
    "build_datasets",
    "files_from_spec",
    "fit_length",
    "folder_files",
    "from_folder",
    "from_manifest",
    "from_spec",
    "fsdd",
    "fsdd_files",
    "make_dataset",
    "manifest_files",
]
