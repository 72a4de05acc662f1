"""Fixtures of the streaming tests: real Speech Commands clips and long recordings made from them."""

import os
import pathlib

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def speech_commands_root():
    env = os.environ.get("TFAUDIO_SPEECH_COMMANDS")
    return pathlib.Path(env) if env else REPO.parent / "shared" / "data" / "speech_commands"


@pytest.fixture(scope="session")
def speech_commands():
    root = speech_commands_root()
    if not (root / "yes").is_dir():
        pytest.skip(f"Speech Commands not found at {root} (set TFAUDIO_SPEECH_COMMANDS)")
    return root


def read_clips(root, words, per_word):
    import soundfile as sf

    clips = []
    for word in words:
        for path in sorted((root / word).glob("*.wav"))[:per_word]:
            audio, rate = sf.read(path, dtype="float32")
            assert rate == 16000
            clips.append(audio)
    return clips


@pytest.fixture(scope="session")
def recording(speech_commands):
    """4 s of real speech: 'yes', 'no', 'up', background noise, back to back (16 kHz float32)."""
    clips = read_clips(speech_commands, ["yes", "no", "up", "_silence_"], 1)
    return np.concatenate(clips)


@pytest.fixture(scope="session")
def word_clips(speech_commands):
    """20 one-second clips, two of each keyword."""
    words = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    return np.stack(read_clips(speech_commands, words, 2))
