"""Checkpoint callbacks: the Keras saving cache workaround and best.keras as a copy of last.keras."""

import numpy as np

from tfaudio.backend import keras
from tfaudio.training import callbacks as cb


def _small_model():
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.ones((4, 8), "float32"), np.zeros(4), verbose=0)
    return model


def test_cached_skipsets_save_the_same_model_without_building_reference_layers(tmp_path, monkeypatch):
    from keras.src.layers.layer import Layer
    from keras.src.saving import saving_lib

    model = _small_model()
    model.save(tmp_path / "plain.keras")
    cb.cache_keras_saving_skipsets()
    for obj_type in ("Layer", "Functional", "Optimizer"):
        assert saving_lib.get_attr_skipset(obj_type)  # what Keras computes, served from its cache now
    built = []
    original_init = Layer.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(Layer, "__init__", counting_init)
    model.save(tmp_path / "cached.keras")
    monkeypatch.undo()
    assert built == []  # no throw-away reference Layer() per saved layer
    plain, cached = (keras.models.load_model(tmp_path / n) for n in ("plain.keras", "cached.keras"))
    assert plain.get_config() == cached.get_config()
    for a, b in zip(plain.weights + plain.optimizer.variables, cached.weights + cached.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_best_keras_is_the_epochs_last_keras(tmp_path):
    model = _small_model()
    checkpoints = cb.ModelCheckpoints(str(tmp_path), lambda: model, monitor="val_loss", mode="min")
    checkpoints.on_epoch_end(0, {"val_loss": 1.0})
    assert (tmp_path / "best.keras").read_bytes() == (tmp_path / "last.keras").read_bytes()
    first = (tmp_path / "best.keras").read_bytes()
    model.get_layer("logits").kernel.assign(np.zeros((4, 3), "float32"))
    checkpoints.on_epoch_end(1, {"val_loss": 2.0})  # worse: best.keras keeps epoch 0
    assert (tmp_path / "best.keras").read_bytes() == first != (tmp_path / "last.keras").read_bytes()
    checkpoints.on_epoch_end(2, {"val_loss": 0.5})
    assert (tmp_path / "best.keras").read_bytes() == (tmp_path / "last.keras").read_bytes()
    assert checkpoints.best() == {"epoch": 2, "monitor": "val_loss", "value": 0.5}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left
