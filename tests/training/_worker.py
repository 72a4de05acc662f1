"""Subprocess entry point for the distribution and fault-tolerance tests (not a test module).

Modes:
  mirrored:  one SGD step on two logical CPUs under MirroredStrategy vs on one device;
             prints JSON with the largest weight difference.
  train:     `tfaudio.training.train` on synthetic data with a tiny model (TF_CONFIG decides
             single- or multi-worker); saves the final weights to OUT/weights-TASK.npz.
"""

import argparse
import json
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if os.environ.get("TFAUDIO_TEST_NO_TRACEBACK_FILTERING"):
    import keras

    keras.config.disable_traceback_filtering()

SAMPLES = 400
CLASSES = 3


def tiny_model(num_classes, augment=False):
    from tfaudio.backend import keras
    from tfaudio.layers import RandomGain

    inputs = keras.Input(shape=(SAMPLES,), name="waveform")
    x = RandomGain(seed=5, name="gain")(inputs) if augment else inputs
    x = keras.layers.Reshape((SAMPLES, 1))(x)
    x = keras.layers.Conv1D(4, 9, strides=4, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="tiny")


def synthetic(n, seed):
    """Class c is a sine at (c + 1) * 500 Hz (8 kHz) plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n).astype("int32")
    t = np.arange(SAMPLES) / 8000.0
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(2 * np.pi * (y[:, None] + 1) * 500 * t + phase) + 0.3 * rng.normal(size=(n, SAMPLES))
    return x.astype("float32"), y


def mirrored(args):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfaudio.backend import keras
    from tfaudio.training import get_strategy, global_batch_size, shard_options

    x, y = synthetic(16, seed=1)
    keras.utils.set_random_seed(0)
    init = tiny_model(CLASSES).get_weights()

    def one_step(strategy, per_replica, augment=False):
        with strategy.scope():
            model = tiny_model(CLASSES, augment=augment)
            for layer in ("conv", "logits"):
                model.get_layer(layer).set_weights(reference.get_layer(layer).get_weights())
            model.compile(
                optimizer=keras.optimizers.SGD(0.5),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                jit_compile=False,
            )
        batch = global_batch_size(per_replica, strategy)
        ds = shard_options(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch))
        model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
        return model, batch

    reference = tiny_model(CLASSES)
    init = reference.get_weights()
    single, single_batch = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), 16)
    strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    mirror, mirror_batch = one_step(strategy, 8)
    diffs = [float(np.max(np.abs(a - b))) for a, b in zip(single.get_weights(), mirror.get_weights())]
    moved = [float(np.max(np.abs(a - b))) for a, b in zip(init, single.get_weights())]
    # The same step with an augmentation layer (seed state updated in replica context).
    augmented, _ = one_step(strategy, 8, augment=True)
    print(
        "RESULT "
        + json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "global_batch": [single_batch, mirror_batch],
                "max_weight_diff": max(diffs),
                "max_update": max(moved),
                "augmented_seed_state": np.asarray(augmented.get_layer("gain").seed_state).tolist(),
            }
        ),
        flush=True,
    )


def train(args):
    from tfaudio.training import TrainConfig
    from tfaudio.training import train as run
    from tfaudio.training.strategy import task_id

    def data(global_batch):
        import tensorflow as tf

        x, y = synthetic(args.examples, seed=2)
        xt, yt = synthetic(48, seed=3)
        train_ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(global_batch, drop_remainder=True)
        test_ds = tf.data.Dataset.from_tensor_slices((xt, yt)).batch(global_batch, drop_remainder=True)
        return train_ds, test_ds, ["a", "b", "c"]

    config = TrainConfig(
        model="tiny",
        out=args.out,
        epochs=args.epochs,
        sample_rate=8000,
        clip_seconds=SAMPLES / 8000,
        batch_size=args.batch_size,
        learning_rate=0.01,
        seed=0,
        gain_db=3.0,
        strategy=args.strategy,
        verbose=2,
    )
    result, model = run(config, data=data, model=lambda n: tiny_model(n), return_model=True)
    kind, index = task_id()
    np.savez(os.path.join(args.out, f"weights-{kind}-{index}.npz"), *model.get_weights())
    print("RESULT " + json.dumps({"test": result["test"], "task": [kind, index]}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("mirrored", "train"))
    parser.add_argument("--augment", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--strategy", default="auto")
    args = parser.parse_args()
    {"mirrored": mirrored, "train": train}[args.mode](args)


if __name__ == "__main__":
    main()
