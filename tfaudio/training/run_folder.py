"""The run folder `tfaudio train` writes and the CLI reads: file names, the event log, resume state (no TensorFlow).

    OUT/model.keras          the model after the last epoch (float32, no augmentation layers)
    OUT/labels.json          class names, index-aligned with the logits
    OUT/run_config.json      the TrainConfig, with absolute data paths, labels and replicas
    OUT/metrics.json         per-epoch history, final test metrics, the best checkpoint
    OUT/events.jsonl         one JSON row per epoch (append-only; resumed epochs overwrite)
    OUT/checkpoints/         last.keras, best.keras, best.json
    OUT/backup/STAGE/        BackupAndRestore state while a stage runs
"""

import json
import os

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"
METRICS_FILE = "metrics.json"
RUN_CONFIG_FILE = "run_config.json"
EVENTS_FILE = "events.jsonl"


def read_jsonl(path):
    """Rows of a JSON-lines file; a torn last line (process killed mid-write) is skipped."""
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def history(events_path):
    """Per-epoch rows of the run, the latest write of each epoch winning (resumed epochs overwrite)."""
    rows = {}
    for row in read_jsonl(events_path):
        if row.get("event") == "epoch":
            rows[row["epoch"]] = {k: v for k, v in row.items() if k not in ("event", "weights")}
    return [rows[e] for e in sorted(rows)]


def has_backup(backup_root):
    """Whether an interrupted stage left `BackupAndRestore` state to resume from."""
    return os.path.isdir(backup_root) and any(
        name.endswith("training_metadata.json") for _, _, files in os.walk(backup_root) for name in files
    )


def is_finished(out):
    """Whether `out` holds a finished run (its final model)."""
    return os.path.isfile(os.path.join(out, MODEL_FILE))
