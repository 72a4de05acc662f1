"""Fixtures shared by the model tests."""

import pytest

from tfaudio.backend import keras


@pytest.fixture
def fixed_seed():
    """Fixed initial weights, so a failure reproduces (tiny random nets can have dead ReLUs)."""
    keras.utils.set_random_seed(0)
