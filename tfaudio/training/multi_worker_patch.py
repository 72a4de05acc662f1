"""The patch that lets Keras 3's TensorFlow trainer `fit` under `MultiWorkerMirroredStrategy`.

Keras 3 (3.15) breaks multi-worker training in two places of
`keras/src/backend/tensorflow/trainer.py`:

1. `_maybe_symbolic_build` builds metrics and optimizer from one batch, which it
   gets by `strategy.reduce("MEAN", per_replica_batch)` in eager mode; with
   `MultiWorkerMirroredStrategy` that reduce fails ("Attempt to convert a value
   (PerReplica...)"). Only the batch's shapes are needed, so the patch takes the
   local replica's value.
2. `reduce_per_replica` means the per-step logs with
   `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars; the patched
   train/test steps return them as `[1]` tensors, so the reduce means over
   replicas and yields scalars again.

The patch replaces private methods, so it is applied only where it was verified
(`VERIFIED_KERAS_VERSIONS`): other versions get a warning, and a Keras whose
trainer lacks the methods raises. tests/training/test_multi_worker_patch.py fails
when Keras no longer has the bug (the patch can go) or no longer has what it
replaces (the patch must be redone); tests/training/test_distribute.py trains on
two worker processes with it.
"""

import warnings

import tensorflow as tf

from tfaudio.backend import USE_LEGACY_KERAS, keras

# Keras major.minor versions whose trainer the patch was verified against (two-worker fit).
VERIFIED_KERAS_VERSIONS = ("3.15",)
# What the patch replaces on the model.
PATCHED_METHODS = ("_maybe_symbolic_build", "_symbolic_build", "train_step", "test_step")


def keras_minor_version():
    """The installed Keras' "major.minor"."""
    return ".".join(keras.__version__.split(".")[:2])


def patch_multi_worker_build(model, strategy):
    """Lets Keras 3 `fit` `model` under `MultiWorkerMirroredStrategy` (see the module docstring).

    A no-op for other strategies and for tf_keras (whose trainer has neither bug).

    Returns:
        `model`.

    Raises:
        RuntimeError: this Keras has none of the methods the patch replaces;
            the message names the version.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or USE_LEGACY_KERAS:
        return model
    missing = [name for name in PATCHED_METHODS if not hasattr(model, name)]
    if missing:
        raise RuntimeError(
            f"tfaudio's multi-worker patch does not apply to Keras {keras.__version__} (no {', '.join(missing)}); "
            f"it was verified with Keras {', '.join(VERIFIED_KERAS_VERSIONS)}. Use one of those for multi-worker training."
        )
    if keras_minor_version() not in VERIFIED_KERAS_VERSIONS:
        warnings.warn(
            f"tfaudio's multi-worker patch was verified with Keras {', '.join(VERIFIED_KERAS_VERSIONS)}; "
            f"running on Keras {keras.__version__}.",
            stacklevel=2,
        )

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def rank1(step):
        def wrapped(data):
            return tf.nest.map_structure(lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v, step(data))

        return wrapped

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = rank1(model.train_step)
    model.test_step = rank1(model.test_step)
    return model
