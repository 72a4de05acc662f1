"""tfaudio: audio and speech classification in Keras, from `model.fit` to TFLite."""

import importlib

from tfaudio.allocator import use_bfc_allocator as _use_bfc_allocator

_use_bfc_allocator()  # before TensorFlow allocates anything (see tfaudio.allocator)

from tfaudio.errors import AudioError  # noqa: E402

__version__ = "0.1.0"

_SUBPACKAGES = ("io", "data", "ops", "layers", "models", "training", "export", "runtime", "bench", "converters")


def predict(paths, model, **kwargs):
    """Classifies audio files or folders of any length; see `tfaudio.prediction.predict`."""
    from tfaudio.prediction import predict as _predict

    return _predict(paths, model, **kwargs)


def __getattr__(name):
    # Sub-packages load on first use so `import tfaudio` stays cheap (most import TensorFlow;
    # io, runtime and bench do not).
    if name in _SUBPACKAGES:
        return importlib.import_module(f"tfaudio.{name}")
    raise AttributeError(f"module 'tfaudio' has no attribute {name!r}")


__all__ = ["AudioError", "__version__", "predict", *_SUBPACKAGES]

# Keras' own `load_model` finds tfaudio classes after `import tfaudio` (see tfaudio.registration).
from tfaudio import registration as _registration  # noqa: E402

_registration.install()
