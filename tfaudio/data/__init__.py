"""Datasets as tf.data pipelines of `(waveform float32 [batch, samples], label int32 [batch])`.

Four sources, one return value `(train_ds, test_ds, labels)`: `fsdd(root)`,
`from_folder(root)`, `from_manifest(csv_path)`, `speech_commands(root)`; and `from_spec` for the
command line's data specs ("fsdd:PATH", "folder:PATH", "manifest:CSV", "speech_commands:PATH",
each optionally with "?key=value" options). The triple is a `DataSplits`, whose `.validation`
holds a validation split for model selection when the source has one (speech_commands, a
manifest's validation rows). The `*_files` twins return the same with `Split`s (file paths +
label indices) instead of datasets; they do not import TensorFlow (the pipeline module, and with it TensorFlow, loads when a
dataset is first built). Downloaders: `tfaudio.data.download`.
"""

import importlib

from tfaudio.data.folder import folder_files, from_folder
from tfaudio.data.fsdd import fsdd, fsdd_files
from tfaudio.data.manifest import from_manifest, manifest_files
from tfaudio.data.spec import files_from_spec, from_spec, parse_spec
from tfaudio.data.speech_commands import speech_commands, speech_commands_files, speech_commands_noise_files
from tfaudio.data.split import DataSplits, Split

_PIPELINE_NAMES = ("build_datasets", "fit_length", "make_dataset")


def __getattr__(name):
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("tfaudio.data.pipeline"), name)
    raise AttributeError(f"module 'tfaudio.data' has no attribute {name!r}")


__all__ = [
    "DataSplits",
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
    "parse_spec",
    "speech_commands",
    "speech_commands_files",
    "speech_commands_noise_files",
]
