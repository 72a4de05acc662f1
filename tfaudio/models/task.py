"""`Task`: the base class of every registered model (a backbone plus a head, on waveforms)."""

from tfaudio.backend import keras
from tfaudio.clip import clip_samples


class Task(keras.Model):
    """Base class of tfaudio's models: a waveform classifier (or pretraining task) around a backbone.

    What every task shares lives here, like keras-hub's `Task`:

    - `backbone`: the feature network (`Backbone`, or a `keras.applications`
      model); None for a model built as one graph without a separable
      feature network (SincNet).
    - `sample_rate` (Hz) and `clip_seconds` (None: any length), set by the
      subclass after `super().__init__`; `num_samples` derives the input length
      from them with the one clip-length helper, `tfaudio.clip.clip_samples`.
    - `get_config`: `name`, `trainable`, `sample_rate`, `clip_seconds`, and the
      serialized backbone when the constructor takes one (`backbone_in_config`);
      `from_config` deserializes that backbone and calls `cls(**config)`. Old
      configs that lack a key fall back to the constructor's defaults, or to the
      class's `legacy_defaults` (values that configs saved before an argument
      existed were built with).

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
        return config

    @classmethod
    def from_config(cls, config):
        config = {**cls.legacy_defaults, **config}
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)
