"""The bad-input corpus (tests/bad_audio.py) through load_audio and audio_info: every input class
gives its documented array or an AudioError naming the file and the reason; nothing else."""

import contextlib
import os
import shutil
import tempfile
import tracemalloc

import numpy as np
import pytest

import tfaudio
from tests import bad_audio
from tfaudio.io import audio_info, load_audio

CASES = {case.name: case for case in bad_audio.CASES}


@pytest.fixture(scope="module")
def corpus_dir():
    # World-traversable, so the "unreadable permissions" case is tried by an unprivileged user.
    folder = tempfile.mkdtemp(prefix="tfaudio-corpus-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def unprivileged():
    """Root reads any file; permissions are tried as `nobody` (effective uid only, restored after)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def _folder(corpus_dir, name):
    folder = os.path.join(corpus_dir, name)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    return folder


def _outcome(function, path, **kwargs):
    with unprivileged():
        try:
            return function(path, **kwargs), None
        except tfaudio.AudioError as e:
            return None, str(e)


def test_the_corpus_covers_at_least_25_input_classes():
    assert len(CASES) == len(bad_audio.CASES) >= 25
    assert sum(case.error is not None for case in bad_audio.CASES) >= 15


@pytest.mark.parametrize("name", list(CASES))
def test_load_audio(name, corpus_dir):
    case = CASES[name]
    path = case.build(_folder(corpus_dir, "load"))
    result, error = _outcome(load_audio, path, **case.kwargs)
    if case.error is None:
        assert error is None, error
        case.check(*result)
    else:
        assert error is not None, f"{name}: loaded without an error"
        assert error.startswith(path) and case.error in error, error


@pytest.mark.parametrize("name", list(CASES))
def test_audio_info(name, corpus_dir):
    case = CASES[name]
    path = case.build(_folder(corpus_dir, "info"))
    expected = case.error if case.header_error == "same" else case.header_error
    info, error = _outcome(audio_info, path, **{k: v for k, v in case.kwargs.items() if k.endswith("_seconds")})
    if expected is None:
        assert error is None, error
        assert info.frames > 0
    else:
        assert error is not None and error.startswith(path) and expected in error, error


def test_duration_limits_do_not_read_a_two_hour_file(tmp_path):
    path = bad_audio.two_hour_wav(tmp_path)  # 115 MB of samples
    tracemalloc.start()
    try:
        for function in (load_audio, audio_info):
            with pytest.raises(tfaudio.AudioError, match="too long, 7200.000 s"):
                function(path, max_seconds=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated to refuse the file"  # the samples alone are 115 MB


def test_decoding_reads_in_blocks_so_a_long_file_loads_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tfaudio.io, "_BLOCK_SAMPLES", 1000)  # 8 blocks for 0.5 s at 16 kHz
    path = bad_audio._write("blocks.wav", subtype="FLOAT")(str(tmp_path))
    audio, rate = load_audio(path)
    np.testing.assert_array_equal(audio, bad_audio.tone())
    stereo, _ = load_audio(bad_audio._write("st.flac", bad_audio.tone(channels=2))(str(tmp_path)), mono=False)
    assert stereo.shape == (8000, 2)
