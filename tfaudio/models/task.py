"""`Task`: the base class of every registered model (a backbone plus a head, on waveforms)."""

import functools
import inspect

from tfaudio.backend import USE_LEGACY_KERAS, keras
from tfaudio.clip import clip_samples

# Arguments the Task base owns: `get_config` writes them itself, each constructor sets them
# (a task may derive them, e.g. `clip_seconds` from its backbone).
_BASE_ARGUMENTS = ("backbone", "sample_rate", "clip_seconds")


def stores_arguments(init):
    """Decorates a task's `__init__`: its named arguments become public attributes, and `get_config` returns them.

    Once `__init__` returns, every named argument (defaults filled in) is stored
    under its own name exactly as passed, so `get_config` returns what the user
    passed and `from_config` rebuilds the same model; `backbone`, `sample_rate`
    and `clip_seconds` are left to the constructor (see `Task`). Values must be
    JSON-friendly as passed (lists, not tuples).

    Example:
    >>> class TinyTask(Task):
    ...     @stores_arguments
    ...     def __init__(self, num_classes, sample_rate=16000, clip_seconds=1.0, **kwargs):
    ...         waveform = keras.Input((clip_samples(sample_rate, clip_seconds),))
    ...         super().__init__(inputs=waveform, outputs=keras.layers.Dense(num_classes)(waveform), **kwargs)
    ...         self.sample_rate, self.clip_seconds = sample_rate, clip_seconds
    >>> TinyTask(3, sample_rate=8000).get_config()["num_classes"]
    3
    """
    signature = inspect.signature(init)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = tuple(
        name
        for name, parameter in list(signature.parameters.items())[1:]
        if parameter.kind in named and name not in _BASE_ARGUMENTS
    )

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        for name in names:
            setattr(self, name, bound.arguments[name])

    # The wrapper shows the constructor's own signature: Keras reads it (`clone_model` rebuilds a
    # model whose constructor looks like Functional's, with `(inputs, outputs)`, so `*args, **kwargs` won't do).
    wrapper.__signature__ = signature
    wrapper.stored_arguments = names
    return wrapper


def _functional_class():
    # Keras' class of graph models (not public API in either Keras; a Keras release that
    # moves it fails every model test at this import).
    if USE_LEGACY_KERAS:
        from tf_keras.src.engine.functional import Functional
    else:
        from keras.src.models.functional import Functional
    return Functional


class Task(keras.Model):
    """Base class of tfaudio's models: a waveform classifier (or pretraining task) around a backbone.

    What every task shares lives here, like keras-hub's `Task`:

    - `backbone`: the feature network (`Backbone`, or a `keras.applications`
      model); None for a model built as one graph without a separable
      feature network (SincNet).
    - `sample_rate` (Hz) and `clip_seconds` (None: any length), set by the
      subclass after `super().__init__`; `num_samples` derives the input length
      from them with the one clip-length helper, `tfaudio.clip.clip_samples`.
    - `get_config`: `name`, `trainable`, `sample_rate`, `clip_seconds`, the
      serialized backbone when the constructor takes one (`backbone_in_config`),
      and the arguments of a constructor decorated with `stores_arguments`;
      `from_config` deserializes that backbone and calls `cls(**config)`. Old
      configs that lack a key fall back to the constructor's defaults, or to the
      class's `legacy_defaults` (values that configs saved before an argument
      existed were built with).
    - Functional and subclassed tasks alike: a task built as a graph
      (`super().__init__(inputs=..., outputs=...)`) is made a Keras `Functional`
      subclass by its own class only. Keras' `Model.__init__` would instead
      rewrite the bases of every class up the hierarchy, `Task` included
      (`inject_functional_model_class`), after which no task with its own
      `call` (`Wav2Vec2PreTrainer`) could be built.

    Example:
    >>> model = tfaudio.models.build("sincnet", num_classes=10, sample_rate=8000)
    >>> model.sample_rate, model.clip_seconds, model.num_samples
    (8000, 1.0, 8000)
    """

    # Whether `get_config` serializes `self.backbone` (False when the constructor
    # rebuilds it from its own arguments, e.g. `SpectrogramClassifier(architecture=...)`).
    backbone_in_config = True
    # Arguments whose default changed: configs saved before the change lack the key
    # and were built with these values.
    legacy_defaults = {}
    backbone = None
    sample_rate = None
    clip_seconds = None

    def __init__(self, *args, **kwargs):
        graph = len(args) + ("inputs" in kwargs) + ("outputs" in kwargs) >= 2  # Keras' test for a functional call
        functional = _functional_class()
        if graph and not isinstance(self, functional):
            cls = type(self)
            cls.__bases__ = (*cls.__bases__, functional)  # MRO: cls, ..., Task, Functional, ..., Model
        # A graph goes to Functional.__init__ (as `keras.Model(inputs, outputs)` does), anything else to Model's.
        super().__init__(*args, **kwargs)

    @property
    def num_samples(self):
        """Input length in samples, `round(sample_rate * clip_seconds)`; None for any length."""
        return clip_samples(self.sample_rate, self.clip_seconds)

    def get_config(self):
        # Not chained to keras.Model: the functional config (a layer graph) is not
        # what the constructors take.
        config = {"name": self.name, "trainable": self.trainable}
        if self.backbone_in_config:
            config["backbone"] = keras.layers.serialize(self.backbone)
        config.update({"sample_rate": self.sample_rate, "clip_seconds": self.clip_seconds})
        for cls in reversed(type(self).__mro__):
            for name in getattr(vars(cls).get("__init__"), "stored_arguments", ()):
                config[name] = getattr(self, name)
        return config

    @classmethod
    def from_config(cls, config):
        config = {**cls.legacy_defaults, **config}
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
