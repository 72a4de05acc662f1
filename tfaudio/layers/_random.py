"""Shared base of the augmentation layers: seeded, stateless random draws, identity at inference."""

import numpy as np
import tensorflow as tf

from tfaudio.backend import USE_LEGACY_KERAS, keras

# Large odd constants that decorrelate the seeds of different replicas and calls.
_REPLICA_STRIDE = 1_000_003


class RandomAugmentation(keras.layers.Layer):
    """Base class of tfaudio's augmentation layers (not a public layer).

    Subclasses implement `_augment(inputs, seed)` with `tf.random.stateless_*`
    ops. The layer keeps a `seed_state` weight `[2]` (int64, non-trainable)
    that starts at `[seed, 0]` and advances by one on every training call, so a
    run is reproducible from `seed` and resumes its random stream from a
    checkpoint. Under `tf.distribute` each replica folds its replica id into the
    seed, so replicas draw different augmentations for their shards.

    With `training=False` (inference, `model.predict`, TFLite and SavedModel
    export) `call` returns its input unchanged, so the exported graph holds no
    random op at all.

    Args:
        seed: int or None. Seed of the random stream. None draws one from NumPy's
            global generator when the layer is created (the drawn value is stored,
            so `get_config` still reproduces the layer).
        **kwargs: base layer arguments (`name`, `dtype`).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
        self.seed = int(seed)
        self.supports_masking = True

    def build(self, input_shape):
        aggregation = tf.VariableAggregation.ONLY_FIRST_REPLICA if USE_LEGACY_KERAS else "only_first_replica"
        self.seed_state = self.add_weight(
            name="seed_state",
            shape=(2,),
            dtype="int64",
            initializer=keras.initializers.Constant([self.seed, 0]),
            trainable=False,
            aggregation=aggregation,
        )
        super().build(input_shape)

    def _next_seed(self):
        """A fresh `[2]` int64 seed for this call and replica; advances the state."""
        state = tf.convert_to_tensor(self.seed_state)
        replica = 0
        context = tf.distribute.get_replica_context()
        if context is not None:
            replica = tf.cast(context.replica_id_in_sync_group, tf.int64)
        self.seed_state.assign_add(tf.constant([0, 1], tf.int64))
        return tf.stack([state[0] + replica * _REPLICA_STRIDE, state[1]])

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return self._augment(inputs, self._next_seed())

    def _augment(self, inputs, seed):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


def split_seed(seed, count):
    """`count` independent `[2]` seeds derived from one (like `tf.random.split`)."""
    seeds = tf.random.experimental.stateless_split(seed, num=count)
    return [seeds[i] for i in range(count)]


def apply_with_probability(inputs, augmented, probability, seed):
    """Per example, `augmented` with probability `probability`, else `inputs`."""
    if probability >= 1.0:
        return augmented
    batch = tf.shape(inputs)[0]
    keep = tf.random.stateless_uniform([batch], seed=seed) < probability
    keep = tf.reshape(keep, [-1] + [1] * (len(inputs.shape) - 1))
    return tf.where(keep, augmented, inputs)
