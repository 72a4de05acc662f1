"""SIGKILL of a training run at five seeded points, each followed by the same command.

The kill points (tests/training/_crash_worker.py, plus one mid-epoch kill from outside) cover
the writes: the backup's weights half-written, the gap between a backup's weights and its
metadata, the checkpoints/last.keras write, the final model.keras write. After each kill the
same command resumes from the last backup (losing at most the epoch in progress), and the
chain ends with the run's final metrics equal to an uninterrupted run's: the test loss within
TOLERANCE (a resumed process restarts the dataset's shuffle stream, so its later epochs see
the batches in another order; the weights at each restart are bit-identical to the killed
run's last backup, which test_resume.py checks).
"""

import json
import os
import signal
import sys
import time

import numpy as np
import pytest

from tests.training import _procs
from tfaudio.training.run_folder import read_jsonl

CRASH_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_crash_worker.py")
EPOCHS = 6
EXAMPLES = 480  # 60 steps per epoch: the tiny model converges (test accuracy 1.0, loss ~0.01)
# Final test metrics vs the uninterrupted run: the converged model's accuracy within one of the
# 48 test clips, its loss within 0.05 (a restart reshuffles the later batches, which moves the
# loss of a converged run by hundredths, not tenths).
TOLERANCE = {"loss": 0.05, "accuracy": 1 / 48 + 1e-6}


def _command(out):
    args = ["train", "--out", out, "--epochs", EPOCHS, "--examples", EXAMPLES, "--batch-size", 8]
    return [sys.executable, CRASH_WORKER, *map(str, args)]


def _epochs_done(out):
    return max((r["epoch"] + 1 for r in read_jsonl(out / "events.jsonl") if r.get("event") == "epoch"), default=0)


def _backed_up_epoch(out):
    path = out / "backup" / "train" / "training_metadata.json"
    return json.loads(path.read_text())["epoch"] if path.is_file() else 0


def _left_behind(out):
    names = []
    for folder, _, files in os.walk(out):
        names += [os.path.relpath(os.path.join(folder, f), out) for f in files if "logs" not in folder]
    return sorted(n for n in names if ".tmp-" in n or n.endswith(("model.keras", "metrics.json", "training_metadata.json")))


def _run(out, log, kill=None, mid_epoch=None, timeout=420):
    """Runs the command; kills it as `kill` says, or from outside `mid_epoch` (epoch, fraction)."""
    extra = {"TFAUDIO_TEST_KILL": kill} if kill else {}
    proc = _procs.start(_command(out), log, **extra)
    try:
        if mid_epoch is not None:
            epoch, delay = mid_epoch
            deadline = time.time() + timeout
            while _epochs_done(out) < epoch and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_five_kills_resume_and_end_like_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    assert _run(reference, tmp_path / "reference.log") == 0
    expected = _procs.result_of(tmp_path / "reference.log")["test"]

    rng = np.random.default_rng(14)
    kills = [
        (None, (int(rng.integers(1, 3)), float(rng.uniform(0.0, 0.3)))),  # mid-epoch, from outside
        (f"backup_weights:{int(rng.integers(1, 3))}", None),
        (f"backup_metadata:{int(rng.integers(1, 3))}", None),
        (f"checkpoint:{int(rng.integers(1, 3))}", None),
        ("final:1", None),
    ]
    out = tmp_path / "run"
    report = []
    for i, (kill, mid_epoch) in enumerate(kills):
        code = _run(out, tmp_path / f"killed{i}.log", kill=kill, mid_epoch=mid_epoch)
        assert code == -signal.SIGKILL, (kill, (tmp_path / f"killed{i}.log").read_text()[-3000:])
        done, backed_up = _epochs_done(out), _backed_up_epoch(out)
        report.append({"kill": kill or f"mid-epoch {mid_epoch}", "epochs_logged": done, "backup_epoch": backed_up,
                       "left": _left_behind(out)})  # fmt: skip
        if kill != "final:1":
            assert not (out / "model.keras").exists()  # no half-written final model under its name
        assert done - backed_up <= 1, report[-1]  # at most the epoch in progress is lost
    print(json.dumps(report, indent=1))

    assert _run(out, tmp_path / "last.log") == 0, (tmp_path / "last.log").read_text()[-3000:]
    got = _procs.result_of(tmp_path / "last.log")["test"]
    starts = [r["epoch"] for r in read_jsonl(out / "events.jsonl") if r["event"] == "start"]
    # Every run resumed where the backup stood (checked per kill above), so the start epochs never go
    # back; the run resuming after the last epoch has no epoch to start.
    assert starts == sorted(starts) and len(starts) >= len(kills), starts
    print("final test metrics", got, "uninterrupted", expected)
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == list(range(EPOCHS))
    assert not [n for n in _left_behind(out) if ".tmp-" in n and "backup" not in n]
    for key, tolerance in TOLERANCE.items():
        assert abs(got[key] - expected[key]) <= tolerance, (key, got, expected)


def _start_workers(out, tmp_path, tag, epochs):
    ports = _procs.free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs, logs = [], []
    for index in range(2):
        logs.append(tmp_path / f"{tag}-worker{index}.log")
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = _procs.worker_command("train", "--out", out, "--epochs", epochs, "--examples", EXAMPLES,
                                        "--batch-size", 8)  # fmt: skip
        procs.append(_procs.start(command, logs[-1], TF_CONFIG=tf_config))
    return procs, logs


def _wait_all(procs, logs, timeout=420):
    try:
        for proc, log in zip(procs, logs):
            assert proc.wait(timeout=timeout) == 0, log.read_text()[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


@pytest.mark.slow
def test_multi_worker_run_with_a_killed_worker_resumes(tmp_path):
    """Two workers (MultiWorkerMirroredStrategy); worker 1 is SIGKILLed in a seeded epoch, the
    job is stopped (the chief blocks in its next all-reduce) and restarted with the same
    commands: both workers resume from the chief's backup and end bit-identical, with the
    uninterrupted run's test metrics within TOLERANCE."""
    epochs = 4
    reference = tmp_path / "reference"
    _wait_all(*_start_workers(reference, tmp_path, "reference", epochs))
    expected = _procs.result_of(tmp_path / "reference-worker0.log")["test"]

    out = tmp_path / "run"
    rng = np.random.default_rng(15)
    kill_epoch, delay = int(rng.integers(1, 3)), float(rng.uniform(0.0, 0.3))
    procs, logs = _start_workers(out, tmp_path, "killed", epochs)
    try:
        deadline = time.time() + 420
        while _epochs_done(out) < kill_epoch and time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(procs[1].pid, signal.SIGKILL)
        time.sleep(3)
    finally:
        for proc in procs:  # the whole job is restarted, as a cluster manager does
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    done, backed_up = _epochs_done(out), _backed_up_epoch(out)
    print("multi-worker kill at epoch", kill_epoch, "+", round(delay, 3), "s: epochs logged", done, "backup", backed_up)
    assert done - backed_up <= 1 and not (out / "model.keras").exists()

    procs, logs = _start_workers(out, tmp_path, "resumed", epochs)
    _wait_all(procs, logs)
    a, b = np.load(out / "weights-worker-0.npz"), np.load(out / "weights-worker-1.npz")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])  # the workers resumed at the same epoch
    got = _procs.result_of(logs[0])["test"]
    starts = [r["epoch"] for r in read_jsonl(out / "events.jsonl") if r["event"] == "start"]
    assert starts == [0, backed_up], starts
    for key, tolerance in TOLERANCE.items():
        assert abs(got[key] - expected[key]) <= tolerance, (key, got, expected)
