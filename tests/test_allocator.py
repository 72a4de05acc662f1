"""`import tfaudio` picks TensorFlow's BFC CPU allocator unless the user chose one."""

import os
import subprocess
import sys

import pytest

from tfaudio.allocator import BFC_VARIABLE

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Allocator statistics exist for the BFC allocator only: the default CPU allocator raises ValueError.
PROBE = """
import tfaudio, tensorflow as tf
x = tf.random.normal([256, 256])
_ = x @ x
try:
    info = tf.config.experimental.get_memory_info("CPU:0")
    print("bfc", info["peak"] > 0)
except ValueError:
    print("default")
"""


def _probe(value):
    env = {k: v for k, v in os.environ.items() if k != BFC_VARIABLE}
    if value is not None:
        env[BFC_VARIABLE] = value
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


@pytest.mark.parametrize("value, expected", [(None, ["bfc", "True"]), ("0", ["default"])])
def test_import_tfaudio_chooses_bfc_unless_the_variable_is_set(value, expected):
    assert _probe(value) == expected
