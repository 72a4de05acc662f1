"""Registry of model builders: name -> function returning a `keras.Model`."""

import importlib

from tfaudio.clip import clip_samples

_BUILDERS = {}

# Modules that register builders when imported; imported on first registry use so
# that `import tfaudio.models` does not load every model family.
_MODEL_MODULES = (
    "tfaudio.models.sincnet",
    "tfaudio.models.spectrogram_cnn",
    "tfaudio.models.wav2vec2",
    "tfaudio.models.ast",
    "tfaudio.models.ds_cnn",
    "tfaudio.models.bc_resnet",
)
_loaded = False


def register(name):
    """Decorator registering `builder(num_classes, sample_rate, clip_seconds, **overrides)`."""

    def decorator(builder):
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ValueError(f"Model name {name!r} is already registered.")
        _BUILDERS[name] = builder
        return builder

    return decorator


def load_all():
    """Imports every model family, registering its builders and its classes for `.keras` loading."""
    global _loaded
    if _loaded:
        return
    for module in _MODEL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            # Only a family that is not written yet may be missing; a broken import
            # inside an existing module must surface.
            if e.name != module:
                raise
    _loaded = True


def available():
    """Returns the sorted list of registered model names."""
    load_all()
    return sorted(_BUILDERS)


def build(name, num_classes, sample_rate=16000, clip_seconds=1.0, **overrides):
    """Builds the registered model `name`.

    Args:
        name: str. A name from `available()`.
        num_classes: int. Size of the logits output.
        sample_rate: int. Sample rate of the waveform input, in Hz.
        clip_seconds: float. Clip length; the input has
            `round(sample_rate * clip_seconds)` samples.
        **overrides: passed to the model's constructor (e.g. smaller sizes).

    Returns:
        A `keras.Model` mapping float32 waveforms `[batch, samples]` in [-1, 1]
        to logits `[batch, num_classes]`.
    """
    load_all()
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model name. Expected one of {sorted(_BUILDERS)}. Received: name={name!r}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive int. Received: num_classes={num_classes!r}")
    clip_samples(sample_rate, clip_seconds)  # validates both
    return _BUILDERS[name](num_classes=num_classes, sample_rate=sample_rate, clip_seconds=clip_seconds, **overrides)


def load(path):
    """Loads a `.keras` file saved from any tfaudio model (all families registered first)."""
    from tfaudio.backend import keras
    from tfaudio.registration import register_all

    register_all()
    return keras.models.load_model(path)
