"""Shared fixtures: FSDD location (missing data fails when CI=true, skips otherwise), quiet TensorFlow logs."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


def fsdd_root():
    """FSDD recordings folder: $TFAUDIO_FSDD, else ../shared/data/fsdd next to the repository."""
    env = os.environ.get("TFAUDIO_FSDD")
    root = pathlib.Path(env) if env else REPO.parent / "shared" / "data" / "fsdd"
    return root


def missing_shared_data(message):
    """Fails in CI (env CI=true), where the shared data must be present; skips elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI=true needs the shared data", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def fsdd():
    root = fsdd_root()
    if not (root / "recordings").is_dir():
        missing_shared_data(f"FSDD not found at {root} (set TFAUDIO_FSDD to the folder holding recordings/)")
    return root


@pytest.fixture(scope="session")
def fsdd_clips(fsdd):
    """Eight real clips (8 kHz float32), one per digit 0-7, from the official test split."""
    import soundfile as sf

    clips = []
    for digit in range(8):
        audio, rate = sf.read(fsdd / "recordings" / f"{digit}_jackson_0.wav", dtype="float32")
        assert rate == 8000
        clips.append(audio)
    return clips
