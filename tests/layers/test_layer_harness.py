"""Every tfaudio layer class through `harness.run_layer_test` (keras-hub's layer test).

Call and output shape, symbolic shape (`keras.Input` call and `compute_output_shape`), JSON config,
`from_config` round trip with exact outputs, batch invariance. Each layer's own test module checks
its numbers against references; this one checks that the contract holds for all of them: the
public layers of `tfaudio.layers` and the layers the model families are built of.
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import tfaudio.layers
import tfaudio.models
from tests import harness
from tfaudio.backend import keras
from tfaudio.layers.background_noise import BackgroundNoise
from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization
from tfaudio.models.alexnet import LocalResponseNormalization
from tfaudio.models.ast.backbone import ASTEmbedding
from tfaudio.models.ast.classifier import ASTTokenPooling
from tfaudio.models.ast.features import KaldiFbank
from tfaudio.models.kws_frontend import Conv2D
from tfaudio.models.sincnet import SincNetAbs
from tfaudio.models.wav2vec2.classifier import MaskedMeanPooling
from tfaudio.models.wav2vec2.layers import (
    InstanceNorm1D,
    Wav2Vec2Encoder,
    Wav2Vec2FeatureEncoder,
    Wav2Vec2Masking,
    Wav2Vec2PositionalConvEmbedding,
)
from tfaudio.layers import (
    AdditiveNoise,
    LogMelSpectrogram,
    PeakNormalization,
    RandomEqualizer,
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
IMAGES = _RNG.normal(size=(3, 6, 10, 4)).astype("float32")  # [batch, time, frequency, channels]

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
    "RandomEqualizer": (RandomEqualizer, dict(sample_rate=8000, seed=1), WAVES, (3, 1600)),
    "SpeedPerturbation": (SpeedPerturbation, dict(seed=1), WAVES, (3, 1600)),
    "TimeShift": (TimeShift, dict(max_shift_seconds=0.01, sample_rate=8000, seed=1), WAVES, (3, 1600)),
    "TransformerEncoderBlock": (TransformerEncoderBlock, dict(num_heads=2, intermediate_dim=16), FEATURES, (3, 20, 8)),
    # Not in tfaudio.layers' public names, but layers of their own (BC-ResNet's, training's).
    # The KWS models' first conv (its polyphase export path: tests/models/test_kws_frontend.py).
    "Conv2D": (Conv2D, dict(filters=4, kernel_size=(3, 3), strides=(2, 1), padding="same"), FEATURES[..., None],
               (3, 10, 8, 4)),
    "SubSpectralNormalization": (SubSpectralNormalization, dict(num_groups=5), IMAGES, (3, 6, 10, 4)),
    "BackgroundNoise": (BackgroundNoise, lambda tmp: dict(noise_files=[_noise_file(tmp)], sample_rate=8000, seed=1),
                        WAVES, (3, 1600)),
    # The model families' layers.
    "SincNetAbs": (SincNetAbs, {}, FEATURES, (3, 20, 8)),
    "LocalResponseNormalization": (LocalResponseNormalization, {}, IMAGES, (3, 6, 10, 4)),
    "KaldiFbank": (KaldiFbank, dict(sample_rate=8000, num_mel_bins=16), WAVES, (3, 18, 16)),
    "ASTEmbedding": (ASTEmbedding, dict(num_patches=20), FEATURES, (3, 22, 8)),
    "ASTTokenPooling": (ASTTokenPooling, {}, FEATURES, (3, 8)),
    "InstanceNorm1D": (InstanceNorm1D, {}, FEATURES, (3, 20, 8)),
    "Wav2Vec2FeatureEncoder": (Wav2Vec2FeatureEncoder, dict(conv_dims=[8, 8], conv_kernels=[10, 3], conv_strides=[5, 2]),
                               WAVES, (3, 159, 8)),
    "Wav2Vec2PositionalConvEmbedding": (Wav2Vec2PositionalConvEmbedding, dict(kernel_size=4, groups=2), FEATURES,
                                        (3, 20, 8)),
    "Wav2Vec2Masking": (Wav2Vec2Masking, dict(mask_time_prob=0.2, mask_time_length=2), FEATURES, (3, 20, 8)),
    "Wav2Vec2Encoder": (Wav2Vec2Encoder, dict(num_layers=1, num_heads=2, intermediate_dim=16, num_conv_pos_embeddings=4,
                                              num_conv_pos_embedding_groups=2), FEATURES, (3, 20, 8)),
    "MaskedMeanPooling": (MaskedMeanPooling, {}, FEATURES, (3, 8)),
}  # fmt: skip

# Layers with several inputs or outputs, which `run_layer_test` does not take; where they are tested instead.
MULTI_IO = {
    "FramePaddingMask": "tests/models/test_wav2vec2.py (padding mask -> frame mask, two inputs)",
    "Wav2Vec2FeatureProjection": "tests/models/test_wav2vec2.py (returns projected and normed features)",
    "GumbelVectorQuantizer": "tests/models/test_wav2vec2_pretraining.py (returns codevectors and perplexity)",
}


def _noise_file(tmp_path):
    import soundfile as sf

    path = tmp_path / "noise.wav"
    sf.write(path, np.random.default_rng(1).uniform(-1, 1, 4000).astype("float32"), 8000)
    return str(path)


def _layer_classes():
    """Every public layer class defined in tfaudio.layers and tfaudio.models (private modules left out)."""
    found = {}
    for package in (tfaudio.layers, tfaudio.models):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            module = importlib.import_module(info.name)
            for name, obj in vars(module).items():
                if (inspect.isclass(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
                        and issubclass(obj, keras.layers.Layer) and not issubclass(obj, keras.Model)):  # fmt: skip
                    found[name] = obj
    return found


def test_every_layer_class_has_a_case_and_is_registered():
    classes = _layer_classes()
    public = {name for name in dir(tfaudio.layers) if isinstance(getattr(tfaudio.layers, name), type)}
    assert public <= set(classes)
    assert set(classes) == set(CASES) | set(MULTI_IO), sorted(set(classes) ^ (set(CASES) | set(MULTI_IO)))
    for name, cls in classes.items():
        assert keras.saving.get_registered_name(cls) == f"tfaudio>{name}", name  # `.keras` files find it


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_contract(name, tmp_path):
    layer_cls, kwargs, x, shape = CASES[name]
    kwargs = kwargs(tmp_path) if callable(kwargs) else kwargs
    harness.run_layer_test(layer_cls, kwargs, x, expected_output_shape=shape)
