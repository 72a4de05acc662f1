"""The multi-worker patch: still needed by the installed Keras, and still applicable to it.

These fail when a Keras release fixes the two multi-worker bugs (then delete
`tfaudio.training.multi_worker_patch`) or renames what the patch replaces (then redo it).
tests/training/test_distribute.py trains on two worker processes with the patch.
"""

import inspect

import pytest
import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.training import multi_worker_patch


def test_installed_keras_is_a_verified_version():
    assert multi_worker_patch.keras_minor_version() in multi_worker_patch.VERIFIED_KERAS_VERSIONS, (
        f"Keras {keras.__version__}: re-run tests/training/test_distribute.py, then add it to VERIFIED_KERAS_VERSIONS"
    )


def test_keras_still_has_the_bugs_the_patch_works_around():
    from keras.src.backend.tensorflow import trainer

    build = inspect.getsource(trainer.TensorFlowTrainer._maybe_symbolic_build)
    assert "distribute_strategy.reduce(" in build, "Keras no longer reduces the build batch: drop that half of the patch"
    reduce = inspect.getsource(trainer.reduce_per_replica)
    assert 'strategy.reduce("MEAN", v, axis=0)' in reduce, "Keras no longer means scalar logs over axis 0"


def test_the_patch_replaces_what_it_patches(monkeypatch):
    class FakeMultiWorker:
        def experimental_local_results(self, value):
            return value.values

    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", FakeMultiWorker)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    for name in multi_worker_patch.PATCHED_METHODS:
        assert hasattr(model, name), name
    train_step = model.train_step
    multi_worker_patch.patch_multi_worker_build(model, FakeMultiWorker())
    assert model.train_step is not train_step
    assert model._maybe_symbolic_build.__qualname__.endswith("maybe_symbolic_build")
    assert "patch_multi_worker_build" in model._maybe_symbolic_build.__qualname__
    # Other strategies are left alone.
    other = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    step = other.train_step
    multi_worker_patch.patch_multi_worker_build(other, tf.distribute.get_strategy())
    assert other.train_step == step


def test_a_keras_without_the_patched_methods_is_an_error(monkeypatch):
    class FakeMultiWorker:
        pass

    class Bare:
        pass

    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", FakeMultiWorker)
    with pytest.raises(RuntimeError, match=f"Keras {keras.__version__}"):
        multi_worker_patch.patch_multi_worker_build(Bare(), FakeMultiWorker())
