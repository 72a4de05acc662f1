"""Fuzzing load_audio: 1,000 seeded byte-level mutations of a real WAV, FLAC and Ogg clip.

The only allowed outcomes are a decoded float32 array or `tfaudio.AudioError` (for the
SavedModel `serve_wav` signature: an answer or InvalidArgumentError): no other
exception type, no crash of the process, no case over `CASE_SECONDS` (tests/fuzz_audio.py runs
them all in one child process with a per-case watchdog; ~15 s here).
"""

import collections
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests import fuzz_audio
from tests.conftest import fsdd_root

COUNT = 1000
SEED = 20261201


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory):
    """A real FSDD recording as WAV (as shipped), FLAC and Ogg Vorbis; a tone when FSDD is absent."""
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    clip = fsdd_root() / "recordings" / "0_jackson_0.wav"
    if clip.is_file():
        audio, rate = sf.read(clip, dtype="float32")
        (folder / "real.wav").write_bytes(clip.read_bytes())
    else:
        rate = 8000
        audio = (0.5 * np.sin(np.arange(5000) / 7)).astype(np.float32)
        sf.write(folder / "real.wav", audio, rate, subtype="PCM_16")
    sf.write(folder / "real.flac", audio, rate, format="FLAC")
    sf.write(folder / "real.ogg", audio, rate, format="OGG", subtype="VORBIS")
    return folder


def _fuzz(seed_files, tmp_path, target, count=COUNT):
    out = tmp_path / f"{target}.jsonl"
    command = [sys.executable, "-m", "tests.fuzz_audio", str(seed_files), str(out), str(count), str(SEED),
               "--target", target]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=count * fuzz_audio.CASE_SECONDS)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    done = [r for r in rows if "outcome" in r]
    if result.returncode != 0:
        last = rows[-1] if rows else None
        pytest.fail(f"the fuzzing process died ({result.returncode}) at {last}; stderr:\n{result.stderr[-3000:]}")
    return done


def test_load_audio_gives_an_array_or_audio_error(seed_files, tmp_path):
    done = _fuzz(seed_files, tmp_path, "load_audio")
    assert len(done) == COUNT
    counts = collections.Counter((r["seed_file"], r["outcome"].split(":")[0]) for r in done)
    print("fuzz outcomes:", dict(sorted(counts.items())), "slowest case", max(r["seconds"] for r in done), "s")
    others = [r for r in done if r["outcome"] not in ("array", "AudioError")]
    assert not others, others[:10]
    for name in ("real.wav", "real.flac", "real.ogg"):
        assert counts[(name, "AudioError")] > 0  # every format's mutations do reach the error paths
    assert counts[("real.wav", "array")] > 0 and counts[("real.flac", "array")] > 0


@pytest.mark.slow
def test_serve_wav_answers_or_rejects_cleanly(seed_files, tmp_path):
    """200 mutations of the real WAV through the SavedModel `serve_wav` signature (WAV bytes in):
    an answer with finite probabilities or InvalidArgumentError, nothing else, no crash."""
    wav_only = tmp_path / "seeds"
    wav_only.mkdir()
    (wav_only / "real.wav").write_bytes((seed_files / "real.wav").read_bytes())
    done = _fuzz(wav_only, tmp_path, "serve_wav", count=200)
    counts = collections.Counter(r["outcome"].split(":")[0] for r in done)
    print("serve_wav fuzz outcomes:", dict(counts))
    others = [r for r in done if r["outcome"] not in ("array", "InvalidArgumentError")]
    assert len(done) == 200 and not others, others[:10]
    assert counts["array"] > 0 and counts["InvalidArgumentError"] > 0
