"""`tfaudio export` never leaves a half-written model where a good one was: killed mid-write,
or with the disk full, the earlier .tflite / SavedModel is intact and the error names the path."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.tmpfs import fill, tiny_tmpfs
from tfaudio.cli.main import main
from tfaudio.runtime import TFLiteModel

# Runs `tfaudio export ...` and SIGKILLs itself in the middle of writing the output:
# .tflite: after half of the flatbuffer is in the temporary file; SavedModel: as soon as
# TensorFlow has started writing the temporary version folder's variables.
_KILLER = r"""
import os, signal, sys, threading, time
from tfaudio import atomic
from tfaudio.cli.main import main

out = sys.argv[sys.argv.index("--out") + 1]
real_open = open

class HalfThenKill:
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def write(self, data):
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)

def killing_open(path, mode="r", *args, **kwargs):
    f = real_open(path, mode, *args, **kwargs)
    return HalfThenKill(f) if ".tmp-" in str(path) and "w" in mode else f

atomic.open = killing_open

def watch():  # SavedModel: kill once the temporary folder has variables being written
    folder = os.path.dirname(os.path.abspath(os.path.join(out, "1")))
    while True:
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            if ".tmp-" in name and os.path.isdir(os.path.join(folder, name, "variables")):
                os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.001)

threading.Thread(target=watch, daemon=True).start()
sys.exit(main(sys.argv[1:]))
"""


def _run_folder(path, seed):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((800,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    os.makedirs(path)
    model.save(os.path.join(path, "model.keras"))
    with open(os.path.join(path, "labels.json"), "w") as f:
        f.write('["a", "b", "c"]')
    # As `tfaudio train` writes it: the exported classifier's metadata needs the sample rate.
    with open(os.path.join(path, "run_config.json"), "w") as f:
        f.write('{"sample_rate": 8000, "clip_seconds": 0.1}')
    return str(path)


def _killed(argv, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    result = subprocess.run([sys.executable, "-c", _KILLER, *argv], env=env, cwd=tmp_path, timeout=300,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]


def _leftovers(folder):
    return [name for name in os.listdir(folder) if ".tmp-" in name]


@pytest.mark.slow
def test_sigkill_during_tflite_export_keeps_the_earlier_model(tmp_path):
    old_run, new_run = _run_folder(tmp_path / "old", 0), _run_folder(tmp_path / "new", 1)
    out = tmp_path / "export" / "model.tflite"
    assert main(["export", "--model", old_run, "--out", str(out)]) == 0
    earlier = out.read_bytes()

    _killed(["export", "--model", new_run, "--out", str(out)], tmp_path)
    assert out.read_bytes() == earlier  # the half-written flatbuffer never took the name
    assert len(_leftovers(out.parent)) == 1
    x = np.random.default_rng(0).uniform(-1, 1, (4, 800)).astype(np.float32)
    TFLiteModel(str(out))(x)  # still a working model

    assert main(["export", "--model", new_run, "--out", str(out)]) == 0  # the same command again
    assert out.read_bytes() != earlier and _leftovers(out.parent) == []
    assert TFLiteModel(str(out))(x).shape == (4, 3)


@pytest.mark.slow
def test_sigkill_during_saved_model_export_keeps_the_earlier_version(tmp_path):
    import tensorflow as tf

    old_run, new_run = _run_folder(tmp_path / "old", 0), _run_folder(tmp_path / "new", 1)
    out = tmp_path / "serving" / "kws"
    assert main(["export", "--model", old_run, "--format", "saved_model", "--out", str(out)]) == 0
    graph = (out / "1" / "saved_model.pb").read_bytes()

    _killed(["export", "--model", new_run, "--format", "saved_model", "--out", str(out)], tmp_path)
    assert (out / "1" / "saved_model.pb").read_bytes() == graph
    assert len(_leftovers(out)) == 1  # the half-written version folder, under a hidden name
    serve = tf.saved_model.load(str(out / "1")).signatures["serving_default"]
    assert serve(waveform=tf.zeros([2, 800]))["logits"].shape == (2, 3)


@pytest.mark.slow
def test_full_disk_during_export_names_the_path_and_keeps_the_earlier_model(tmp_path, capsys):
    small, big = _run_folder(tmp_path / "small", 0), str(tmp_path / "big")
    import keras

    model = keras.Sequential([keras.Input((800,)), keras.layers.Dense(400), keras.layers.Dense(3)])  # 1.3 MB
    os.makedirs(big)
    model.save(os.path.join(big, "model.keras"))
    with open(os.path.join(big, "run_config.json"), "w") as f:
        f.write('{"sample_rate": 8000, "clip_seconds": 0.1}')
    with tiny_tmpfs(tmp_path / "disk", "1m") as disk:
        out = disk / "model.tflite"
        assert main(["export", "--model", small, "--out", str(out)]) == 0
        earlier = out.read_bytes()
        fill(disk, 64 * 1024)
        capsys.readouterr()
        assert main(["export", "--model", big, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [f"error: cannot write {out}: No space left on device"], err
        assert out.read_bytes() == earlier and _leftovers(disk) == []
