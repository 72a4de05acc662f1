"""Fault tolerance: SIGKILL a training process mid-run, rerun the same command, and it continues from the backup."""

import json
import os
import signal
import time

import pytest

from tests.training import _procs
from tfaudio.training.run_folder import read_jsonl


def _wait_for_epoch(path, epoch, proc, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "training ended before it could be killed"
        if any(r.get("event") == "epoch" and r["epoch"] >= epoch for r in read_jsonl(path)):
            return
        time.sleep(0.05)
    raise TimeoutError(f"epoch {epoch} not reached within {timeout} s")


@pytest.mark.slow
def test_sigkill_then_restart_continues_from_backup(tmp_path):
    out = tmp_path / "run"
    epochs = 8
    command = _procs.worker_command("train", "--out", out, "--epochs", epochs, "--examples", 480, "--batch-size", 8)
    events = out / "events.jsonl"

    first = _procs.start(command, tmp_path / "first.log")
    try:
        _wait_for_epoch(events, 2, first, timeout=300)
        time.sleep(0.3)  # into the next epoch (60 steps of 8), so the kill lands mid-epoch
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert not (out / "model.keras").exists()
    with open(out / "backup" / "train" / "training_metadata.json") as f:
        backed_up_epoch = json.load(f)["epoch"]  # epochs completed at the last backup
    killed_rows = read_jsonl(events)
    assert backed_up_epoch >= 3

    second = _procs.start(command, tmp_path / "second.log")
    assert second.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]

    rows = read_jsonl(events)
    starts = [r for r in rows if r["event"] == "start"]
    assert [s["epoch"] for s in starts] == [0, backed_up_epoch]  # the epoch counter continues
    ends = {r["epoch"]: r for r in killed_rows if r["event"] == "epoch"}
    # The restarted process begins with exactly the weights (and augmentation seed state) the
    # killed one had after its last backed-up epoch, not with fresh ones.
    assert starts[1]["weights"] == ends[backed_up_epoch - 1]["weights"]
    assert starts[1]["weights"] != starts[0]["weights"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == list(range(epochs))
    assert (out / "model.keras").is_file()
    assert not (out / "backup" / "train").exists()  # deleted once the run finished

