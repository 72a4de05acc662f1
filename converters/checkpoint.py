"""Reads Hugging Face checkpoint folders (config.json + safetensors or pytorch_model.bin) as NumPy.

The one shared reader for all converters. It keeps track of which tensors were
read, so a converter can prove it consumed the whole checkpoint:

>>> ckpt = Checkpoint("path/to/hf_folder")
>>> ckpt.config["hidden_size"]
>>> kernel = ckpt.take("encoder.layers.0.attention.q_proj.weight").T
>>> ckpt.take_any("conv.weight_g", "conv.parametrizations.weight.original0")
>>> ckpt.check_all_used()          # raises ValueError naming every unused tensor

Tensors come back as float32/int NumPy arrays in PyTorch layout (converters transpose).
`pytorch_model.bin` needs `torch` (imported only for that format); safetensors needs
only the `safetensors` package (its NumPy API, no torch).
"""

import json
import os

import numpy as np

_SAFETENSORS = "model.safetensors"
_SAFETENSORS_INDEX = "model.safetensors.index.json"
_TORCH_BIN = "pytorch_model.bin"
_TORCH_BIN_INDEX = "pytorch_model.bin.index.json"


def _read_safetensors(path):
    from safetensors.numpy import load_file

    return dict(load_file(path))


def _read_torch_bin(path):
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"Reading {path} needs `torch`; convert it to safetensors or `pip install torch`.") from e
    state = torch.load(path, map_location="cpu", weights_only=True)
    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        out[name] = tensor.numpy()
    return out


def _read_sharded(folder, index_file, reader):
    with open(os.path.join(folder, index_file), encoding="utf-8") as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for shard in sorted(set(weight_map.values())):
        tensors.update(reader(os.path.join(folder, shard)))
    return tensors


def read_tensors(folder):
    """Returns `{name: np.ndarray}` from a checkpoint folder (safetensors preferred over .bin)."""
    candidates = (
        (_SAFETENSORS, lambda: _read_safetensors(os.path.join(folder, _SAFETENSORS))),
        (_SAFETENSORS_INDEX, lambda: _read_sharded(folder, _SAFETENSORS_INDEX, _read_safetensors)),
        (_TORCH_BIN, lambda: _read_torch_bin(os.path.join(folder, _TORCH_BIN))),
        (_TORCH_BIN_INDEX, lambda: _read_sharded(folder, _TORCH_BIN_INDEX, _read_torch_bin)),
    )
    for filename, read in candidates:
        if os.path.isfile(os.path.join(folder, filename)):
            tensors = read()
            return {k: (v.astype(np.float32) if v.dtype in (np.float16,) else v) for k, v in tensors.items()}
    raise ValueError(
        f"No checkpoint weights found (looked for {', '.join(c[0] for c in candidates)}). Received: folder={folder!r}"
    )


class Checkpoint:
    """A Hugging Face checkpoint folder: its `config` dict and tensors, with usage tracking.

    Args:
        folder: str. A folder holding `config.json` and `model.safetensors`
            (or sharded safetensors, or `pytorch_model.bin`).
        prefix: str. Optional prefix stripped from every tensor name when it is
            present (e.g. `"wav2vec2."` to read a task checkpoint as a backbone).
            Defaults to "" (names kept as stored).

    Attributes:
        config: dict. The parsed `config.json`.
        tensors: dict of name -> np.ndarray. Everything in the checkpoint.
    """

    def __init__(self, folder, prefix=""):
        folder = os.fspath(folder)
        if not os.path.isdir(folder):
            raise ValueError(f"Checkpoint folder does not exist. Received: folder={folder!r}")
        config_path = os.path.join(folder, "config.json")
        if not os.path.isfile(config_path):
            raise ValueError(f"No config.json in the checkpoint folder. Received: folder={folder!r}")
        with open(config_path, encoding="utf-8") as f:
            self.config = json.load(f)
        self.folder = folder
        tensors = read_tensors(folder)
        if prefix:
            tensors = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in tensors.items()}
        self.tensors = tensors
        self._used = set()

    def __contains__(self, name):
        return name in self.tensors

    def keys(self):
        return sorted(self.tensors)

    def take(self, name, shape=None):
        """Returns tensor `name` and marks it used; checks `shape` (PyTorch layout) when given."""
        if name not in self.tensors:
            raise KeyError(f"Tensor {name!r} is missing from the checkpoint in {self.folder!r}.")
        value = self.tensors[name]
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Tensor {name!r} has shape {tuple(value.shape)}, expected {tuple(shape)}.")
        self._used.add(name)
        return value

    def take_any(self, *names, shape=None):
        """Like `take` for the first of `names` present (for renamed tensors across library versions)."""
        for name in names:
            if name in self.tensors:
                return self.take(name, shape=shape)
        raise KeyError(f"None of the tensors {names} is in the checkpoint in {self.folder!r}.")

    def skip(self, name):
        """Marks `name` as deliberately not used (e.g. buffers that the target recomputes)."""
        if name in self.tensors:
            self._used.add(name)

    def unused(self):
        """Sorted names of tensors that were neither taken nor skipped."""
        return sorted(set(self.tensors) - self._used)

    def check_all_used(self):
        """Raises `ValueError` naming every tensor that the converter did not consume."""
        unused = self.unused()
        if unused:
            raise ValueError(f"{len(unused)} checkpoint tensors were not used: {unused}")
