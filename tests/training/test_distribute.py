"""tf.distribute: MirroredStrategy over two logical CPUs, and a real two-worker MultiWorkerMirroredStrategy job."""

import json
import subprocess

import numpy as np
import pytest

from tests.training import _procs


@pytest.mark.slow
def test_mirrored_one_step_equals_single_device(tmp_path):
    """One SGD step on a global batch of 16: 2 replicas x 8 vs 1 device x 16 (subprocess: logical
    devices must be set before TensorFlow starts)."""
    log = tmp_path / "mirrored.log"
    proc = _procs.start(_procs.worker_command("mirrored"), log)
    assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    result = _procs.result_of(log)
    assert result["replicas"] == 2
    assert result["global_batch"] == [16, 16]
    assert result["max_update"] > 1e-2  # the step really moved the weights
    # 1e-6: the mirrored step sums two per-replica gradient halves, the single device one
    # full-batch gradient; only float32 summation order differs (observed ~1e-7).
    assert result["max_weight_diff"] < 1e-6, result
    # An augmentation layer's seed state advances once per step under MirroredStrategy.
    assert result["augmented_seed_state"] == [5, 1]


@pytest.mark.slow
def test_multi_worker_two_processes_finish_with_identical_weights(tmp_path):
    """Two local worker processes on loopback, TF_CONFIG per process, `tfaudio.training.train`
    with `strategy="auto"` (which picks MultiWorkerMirroredStrategy from TF_CONFIG)."""
    ports = _procs.free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "run"
    procs, logs = [], []
    for index in range(2):
        logs.append(tmp_path / f"worker{index}.log")
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = _procs.worker_command("train", "--out", out, "--epochs", 2, "--examples", 96, "--batch-size", 8)
        procs.append(_procs.start(command, logs[-1], TF_CONFIG=tf_config))
    try:
        for proc, log in zip(procs, logs):
            assert proc.wait(timeout=420) == 0, log.read_text()[-3000:]
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        raise
    results = [_procs.result_of(log) for log in logs]
    assert [r["task"] for r in results] == [["worker", 0], ["worker", 1]]
    a, b = np.load(out / "weights-worker-0.npz"), np.load(out / "weights-worker-1.npz")
    assert list(a) == list(b) and len(a) == 4
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])  # all-reduced updates: bit-identical
    # Global batch 16 = 2 workers x 8: 96 examples -> 6 steps per epoch on each worker.
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_replicas"] == 2 and metrics["global_batch_size"] == 16
    assert metrics["steps_per_epoch"] == 6
    assert [row["epoch"] for row in metrics["history"]] == [0, 1]
    # Only the chief writes the run folder; the other worker keeps its own backup/log.
    assert (out / "model.keras").is_file()
    assert (out / "workers" / "worker-1" / "events.jsonl").is_file()
    assert results[0]["test"] == results[1]["test"]
