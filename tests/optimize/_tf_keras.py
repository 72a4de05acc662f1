"""Running tfaudio.optimize code under tf_keras (TF_USE_LEGACY_KERAS=1) in a subprocess, on real FSDD clips."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import REPO

SAMPLE_RATE = 8000
CLIP_SECONDS = 0.25


def run_tf_keras(script, payload):
    """Runs `script` with TF_USE_LEGACY_KERAS=1, `payload` as JSON on stdin; returns its last stdout line as JSON."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(payload), capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def clips(fsdd_clips, samples=int(SAMPLE_RATE * CLIP_SECONDS)):
    """The 8 real clips (digits 0-7), centre-cropped to the loud middle."""
    out = np.zeros((len(fsdd_clips), samples), np.float32)
    for i, clip in enumerate(fsdd_clips):
        clip = clip[max(0, (len(clip) - samples) // 2) :][:samples]
        out[i, : len(clip)] = clip
    return out
