"""Every public layer of `tfaudio.layers` through `harness.run_layer_test` (keras-hub's layer test).

Call and output shape, symbolic shape (`keras.Input` call and `compute_output_shape`), JSON config,
`from_config` round trip with exact outputs, batch invariance. Each layer's own test module checks
its numbers against references; this one checks that the contract holds for all of them.
"""

import numpy as np
import pytest

import tfaudio.layers
from tests import harness
from tfaudio.layers import (
    AdditiveNoise,
    LogMelSpectrogram,
    PeakNormalization,
    RandomGain,
    SincConv1D,
    SpecAugment,
    SpeedPerturbation,
    TimeShift,
    TransformerEncoderBlock,
    UtteranceNormalization,
)

_RNG = np.random.default_rng(0)
WAVES = _RNG.uniform(-0.5, 0.5, (3, 1600)).astype("float32")
FEATURES = _RNG.normal(size=(3, 20, 8)).astype("float32")

# (class, constructor arguments, input, expected output shape); augmentations are the identity at inference.
CASES = {
    "LogMelSpectrogram": (LogMelSpectrogram, dict(sample_rate=8000, fft_length=256, frame_step=80, num_mel_bins=16),
                          WAVES, (3, 21, 16)),
    "SincConv1D": (SincConv1D, dict(filters=4, kernel_size=31, sample_rate=8000), WAVES[:, :, None], (3, 1570, 4)),
    "PeakNormalization": (PeakNormalization, {}, WAVES, (3, 1600)),
    "UtteranceNormalization": (UtteranceNormalization, {}, FEATURES, (3, 20, 8)),
    "SpecAugment": (SpecAugment, dict(freq_mask_param=2, time_mask_param=3, seed=1), FEATURES, (3, 20, 8)),
    "AdditiveNoise": (AdditiveNoise, dict(sample_rate=8000, seed=1), WAVES, (3, 1600)),
    "RandomGain": (RandomGain, dict(seed=1), WAVES, (3, 1600)),
    "SpeedPerturbation": (SpeedPerturbation, dict(seed=1), WAVES, (3, 1600)),
    "TimeShift": (TimeShift, dict(max_shift_seconds=0.01, sample_rate=8000, seed=1), WAVES, (3, 1600)),
    "TransformerEncoderBlock": (TransformerEncoderBlock, dict(num_heads=2, intermediate_dim=16), FEATURES, (3, 20, 8)),
}  # fmt: skip


def test_every_public_layer_has_a_case():
    public = {name for name in dir(tfaudio.layers) if isinstance(getattr(tfaudio.layers, name), type)}
    assert public == set(CASES), sorted(public ^ set(CASES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name):
    layer_cls, kwargs, x, shape = CASES[name]
    harness.run_layer_test(layer_cls, kwargs, x, expected_output_shape=shape)
