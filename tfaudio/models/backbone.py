"""`Backbone`: the base class of the feature networks that tasks put a head on."""

from tfaudio.backend import keras


class Backbone(keras.Model):
    """Base class of tfaudio's backbones: functional models from inputs to features (keras-hub's layout).

    A subclass builds its graph in `__init__` (layers, functional graph, config),
    calls `super().__init__(inputs=..., outputs=..., **kwargs)`, then stores every
    constructor argument as a public attribute. Its `get_config` extends this
    one, so every backbone's config carries `name` and `trainable`, and
    `from_config` is `cls(**config)`.

    Example:
    >>> class TinyBackbone(Backbone):
    ...     def __init__(self, units, **kwargs):
    ...         inputs = keras.Input((8,))
    ...         super().__init__(inputs=inputs, outputs=keras.layers.Dense(units)(inputs), **kwargs)
    ...         self.units = units
    ...     def get_config(self):
    ...         return {**super().get_config(), "units": self.units}
    """

    def get_config(self):
        # Not chained to keras.Model: the functional config (a layer graph) is not
        # what the constructors take.
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
