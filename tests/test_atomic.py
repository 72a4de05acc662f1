"""tfaudio.atomic: outputs appear whole or not at all; failures leave the earlier file and name the path."""

import errno
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.tmpfs import fill, tiny_tmpfs
from tfaudio import atomic


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp-" in name)


def test_write_json_and_bytes(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    atomic.write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    atomic.write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and _leftovers(path.parent) == []


def test_an_error_inside_the_block_leaves_the_earlier_file(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"good")
    with pytest.raises(RuntimeError, match="conversion failed"):
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("conversion failed")
    assert path.read_bytes() == b"good" and _leftovers(tmp_path) == []


def test_folders_are_replaced_whole(tmp_path):
    path = tmp_path / "saved_model" / "1"
    for version in ("old", "new"):
        with atomic.atomic_path(path) as tmp:
            os.makedirs(os.path.join(tmp, "variables"))
            with open(os.path.join(tmp, "saved_model.pb"), "w") as f:
                f.write(version)
    assert (path / "saved_model.pb").read_text() == "new" and (path / "variables").is_dir()
    assert os.listdir(path.parent) == ["1"]


def test_the_suffix_is_kept_for_keras(tmp_path):
    with atomic.atomic_path(tmp_path / "model.keras") as tmp:
        assert tmp.endswith(".keras") and os.path.basename(tmp).startswith(".model.keras.tmp-")
        open(tmp, "w").close()


def test_sigkill_mid_write_keeps_the_earlier_file_and_the_next_write_cleans_up(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"earlier")
    # A writer that dies by SIGKILL after writing half of its data into the temporary.
    code = (
        "import os, signal, sys\n"
        "from tfaudio import atomic\n"
        "with atomic.atomic_path(sys.argv[1]) as tmp:\n"
        "    with open(tmp, 'wb') as f:\n"
        "        f.write(b'x' * 50000); f.flush()\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert result.returncode == -signal.SIGKILL
    assert path.read_bytes() == b"earlier"
    assert len(_leftovers(tmp_path)) == 1  # the dead writer's temporary
    atomic.write_bytes(path, b"later")
    assert path.read_bytes() == b"later" and _leftovers(tmp_path) == []  # its PID is gone: removed


def test_a_full_disk_names_the_path_and_keeps_the_earlier_file(tmp_path):
    with tiny_tmpfs(tmp_path / "disk", "1m") as disk:
        path = disk / "labels.json"
        atomic.write_json(path, ["yes", "no"])
        fill(disk, 4096)
        with pytest.raises(OSError) as info:
            atomic.write_bytes(path, b"x" * 100_000)
        assert info.value.errno == errno.ENOSPC
        assert str(info.value).startswith(f"[Errno 28] cannot write {path}: No space left on device")
        assert json.loads(path.read_text()) == ["yes", "no"]
        assert _leftovers(disk) == []
