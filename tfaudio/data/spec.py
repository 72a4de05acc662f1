"""Data specs, the one-string dataset names of the command line: `KIND:PATH[?key=value&...]`."""

import os
import urllib.parse

from tfaudio.data.folder import folder_files, from_folder
from tfaudio.data.fsdd import fsdd, fsdd_files
from tfaudio.data.manifest import from_manifest, manifest_files
from tfaudio.data.speech_commands import speech_commands, speech_commands_files

SOURCES = {
    "fsdd": (fsdd, fsdd_files),
    "folder": (from_folder, folder_files),
    "manifest": (from_manifest, manifest_files),
    "speech_commands": (speech_commands, speech_commands_files),
}

_FORMAT = (
    "fsdd:PATH, folder:PATH, manifest:CSV or speech_commands:PATH, optionally followed by ?key=value&key=value"
)


def _value(text):
    """Option values: int, float, a tuple for comma-separated lists, else the string."""
    if "," in text:
        return tuple(part for part in text.split(",") if part)
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_spec(spec):
    """`"KIND:PATH?key=value"` -> `(kind, path, options)`.

    The options are keyword arguments of the source, so one string pins the split a model was
    trained on, e.g. `fsdd:data/fsdd?split=speaker:theo` or
    `folder:data/words?validation_split=0.1&split_seed=1` or `manifest:sc/manifest.csv?test_split=test`
    or `speech_commands:data/sc?split=speaker_fold:1/3&task=12`.
    Numbers become int/float and comma-separated values tuples. (A path containing "?" cannot be
    given as a spec; call the source function instead.)
    """
    kind, sep, rest = str(spec).partition(":")
    path, _, query = rest.partition("?")
    if not sep or kind not in SOURCES or not path:
        raise ValueError(f"A data spec is {_FORMAT}. Received: spec={spec!r}")
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError(f"Options of a data spec are ?key=value&key=value. Received: spec={spec!r}") from None
    options = {}
    for key, text in pairs:
        if not key.isidentifier() or key in options:
            raise ValueError(f"Bad or repeated option {key!r} in a data spec. Received: spec={spec!r}")
        options[key] = _value(text)
    return kind, path, options


def absolute_spec(spec):
    """The data spec with its PATH made absolute, so a run folder's spec resolves from anywhere.

    `"fsdd:../shared/data/fsdd?split=speaker:theo"` typed in /work/me gives
    `"fsdd:/work/shared/data/fsdd?split=speaker:theo"`. Other values are returned unchanged.
    """
    if not isinstance(spec, str):
        return spec
    kind, sep, rest = spec.partition(":")
    path, question, query = rest.partition("?")
    if not sep or kind not in SOURCES or not path:
        return spec
    return f"{kind}:{os.path.abspath(os.path.expanduser(path))}{question}{query}"


def _merge(spec, options, kwargs):
    clash = sorted(set(options) & set(kwargs))
    if clash:
        raise ValueError(f"{clash} given both in the data spec and as arguments. Received: spec={spec!r}")
    return {**kwargs, **options}


def from_spec(spec, **kwargs):
    """Datasets from a data spec: "fsdd:PATH", "folder:PATH", "manifest:CSV" or "speech_commands:PATH".

    The spec's options (see `parse_spec`) and `kwargs` go to `fsdd`, `from_folder`,
    `from_manifest` or `speech_commands`; returns their `DataSplits` `(train_ds, test_ds, labels)`
    with `.validation`.
    """
    kind, path, options = parse_spec(spec)
    return SOURCES[kind][0](path, **_merge(spec, options, kwargs))


def files_from_spec(spec, **kwargs):
    """File lists from a data spec, without TensorFlow: `DataSplits` `(train, test, labels)` of `Split`s.

    The spec's options and `kwargs` go to `fsdd_files`, `folder_files`, `manifest_files` or
    `speech_commands_files` (split and task options only, e.g. `split`, `validation_split`,
    `split_seed`, `train_split`, `test_split`, `task`). `.validation` is the validation `Split` or None.
    """
    kind, path, options = parse_spec(spec)
    return SOURCES[kind][1](path, **_merge(spec, options, kwargs))
