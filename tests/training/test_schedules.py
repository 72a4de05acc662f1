"""WarmupCosine: linear warm-up then cosine decay, serializable."""

import math

import numpy as np
import pytest

from tfaudio.backend import keras
from tfaudio.training import WarmupCosine


def test_values_follow_the_formula():
    s = WarmupCosine(1e-3, total_steps=110, warmup_steps=10, min_learning_rate=1e-5)
    got = np.array([float(s(step)) for step in range(0, 121)])
    expected = [
        1e-3 * step / 10 if step < 10 else 1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + math.cos(math.pi * min((step - 10) / 100, 1)))
        for step in range(0, 121)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)  # float32 schedule vs float64 formula
    assert got.argmax() == 10 and got[-1] == pytest.approx(1e-5)


def test_serializable_inside_an_optimizer():
    s = WarmupCosine(2e-3, total_steps=50, warmup_steps=5)
    clone = WarmupCosine.from_config(s.get_config())
    assert clone.get_config() == s.get_config()
    opt = keras.optimizers.Adam(s)
    restored = keras.optimizers.Adam.from_config(opt.get_config())
    assert float(restored.learning_rate) == float(opt.learning_rate)


def test_bad_arguments():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(1e-3, total_steps=10, warmup_steps=20)
    with pytest.raises(ValueError, match="learning_rate"):
        WarmupCosine(0.0, total_steps=10)
