"""Choosing a `tf.distribute` strategy, scaling the batch, sharding data, mixed precision.

Two machines (`MultiWorkerMirroredStrategy`): run the same command on both, each with a
`TF_CONFIG` naming the cluster and its own index; worker 0 is the chief and writes the run
folder, the other writes only `OUT/workers/worker-1/` (its backup and log). The data spec must
be readable on both machines; `--batch-size` is per replica, so the global batch is
`batch_size * replicas`.

    # machine A (10.0.0.1)
    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                "task": {"type": "worker", "index": 0}}' \
        tfaudio train --model sincnet --data fsdd:/data/fsdd --epochs 20 --out runs/mw
    # machine B (10.0.0.2)
    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                "task": {"type": "worker", "index": 1}}' \
        tfaudio train --model sincnet --data fsdd:/data/fsdd --epochs 20 --out runs/mw

`--strategy auto` picks multi-worker from `TF_CONFIG`; `--strategy multi_worker` forces it.
"""

import json
import os

import tensorflow as tf

from tfaudio.backend import keras

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")
MIXED_PRECISION = ("none", "mixed_float16", "mixed_bfloat16")


def _tf_config_workers():
    """Number of worker tasks in `TF_CONFIG` (chief included), 0 when it is unset."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    cluster = json.loads(raw).get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def get_strategy(name="auto", devices=None, tpu=None):
    """Returns a `tf.distribute.Strategy` by name.

    Args:
        name: str. One of:
            - "auto": `MultiWorkerMirroredStrategy` when `TF_CONFIG` lists more
              than one worker, else `MirroredStrategy` when more than one GPU is
              visible, else `OneDeviceStrategy` on the GPU or the CPU.
            - "one_device": `OneDeviceStrategy` on the first GPU, else the CPU.
            - "mirrored": `MirroredStrategy` over `devices` (all GPUs by default;
              the CPU when there is none).
            - "multi_worker": `MultiWorkerMirroredStrategy`; the cluster comes from
              the `TF_CONFIG` environment variable.
            - "tpu": `TPUStrategy` on the TPU named by `tpu` (or the one the
              environment points at).
        devices: list of device names for "mirrored", e.g. `["/cpu:0", "/cpu:1"]`.
        tpu: str or None. TPU name or grpc address for "tpu".

    Returns:
        A `tf.distribute.Strategy`. Create the model and optimizer under its
        `scope()`, and batch data with `global_batch_size(...)`.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: name={name!r}")
    if name == "multi_worker" or (name == "auto" and _tf_config_workers() > 1):
        # Before anything else touches the TF context: collectives are configured at start-up.
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            name = "mirrored"
        else:
            name = "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def global_batch_size(per_replica_batch_size, strategy):
    """The batch size to give the dataset: per-replica size times the replicas in sync."""
    return int(per_replica_batch_size) * int(strategy.num_replicas_in_sync)


def is_chief(strategy=None):
    """True on the worker that writes the run's outputs (always true off multi-worker)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task = json.loads(raw).get("task", {})
    cluster = json.loads(raw).get("cluster", {})
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def task_id():
    """`(type, index)` of this process in `TF_CONFIG`, `("worker", 0)` without one."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return "worker", 0
    task = json.loads(raw).get("task", {})
    return task.get("type", "worker"), int(task.get("index", 0))


def shard_options(dataset, policy="data"):
    """Sets the `tf.data` auto-shard policy used when a strategy distributes `dataset`.

    "data" (the default here) shards batches across workers, which works for any
    source (files, generators, in-memory arrays); "file" shards input files and
    needs at least one file per worker; "off" gives every worker all the data.
    """
    policies = {
        "data": tf.data.experimental.AutoShardPolicy.DATA,
        "file": tf.data.experimental.AutoShardPolicy.FILE,
        "auto": tf.data.experimental.AutoShardPolicy.AUTO,
        "off": tf.data.experimental.AutoShardPolicy.OFF,
    }
    if policy not in policies:
        raise ValueError(f"Unknown shard policy. Expected one of {sorted(policies)}. Received: policy={policy!r}")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policies[policy]
    return dataset.with_options(options)


def set_mixed_precision(policy="none"):
    """Sets Keras' global dtype policy: "none" (float32), "mixed_float16" or "mixed_bfloat16".

    Build models after calling this. `tfaudio.training.model_wrapping` then keeps
    frontends and the logits in float32 (see `training_model`).
    """
    if policy not in MIXED_PRECISION:
        raise ValueError(f"Unknown mixed precision policy. Expected one of {MIXED_PRECISION}. Received: policy={policy!r}")
    keras.mixed_precision.set_global_policy("float32" if policy == "none" else policy)
