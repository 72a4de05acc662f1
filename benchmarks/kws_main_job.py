"""The README main job (keyword spotting on Speech Commands): accuracy on unseen speakers, size, latency.

Runs `tfaudio run` with its defaults (BC-ResNet-2 on the 12-class Speech Commands folder, KWS
recipe, speaker-disjoint split; train -> export float and full int8 TFLite -> evaluate all three on
the test speakers -> latency at 1 and 2 threads), or summarises a run folder it made, and writes
benchmarks/results/kws_main_job.{json,md} with the int8/float ratios and the training curve.

Run: python benchmarks/kws_main_job.py [--epochs N]
     python benchmarks/kws_main_job.py --from-run runs/main   (summarise the README main job's folder)
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfaudio.cli import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def summarise(run_dir, wall_seconds=None):
    summary = common.read_json(os.path.join(run_dir, "summary.json"))
    metrics = common.read_json(os.path.join(run_dir, "metrics.json"))
    config = common.read_json(os.path.join(run_dir, "run_config.json"))
    results = summary["results"]
    float_, int8 = results["tflite_float"], results["tflite_int8"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs)",
        "model": summary["model"],
        "data": summary["data"],
        "epochs": summary["epochs"],
        "recipe": summary.get("recipe"),
        "train_command": summary.get("train_command"),
        "overrides": config.get("overrides"),
        "train_seconds": round(metrics.get("seconds", float("nan")), 1),
        "wall_seconds": wall_seconds,
        "results": results,
        "int8_minus_float_points": round((int8["accuracy"] - float_["accuracy"]) * 100, 2),
        "int8_over_float_size": round(int8["size_bytes"] / float_["size_bytes"], 3),
        "val_accuracy_per_epoch": [round(h.get("val_accuracy", float("nan")), 4) for h in metrics.get("history", [])],
    }


def write_markdown(record, path):
    lines = [
        "# README main job: keyword spotting on Speech Commands (speakers never heard in training)",
        "",
        f"`tfaudio run` defaults: {record['model']} {record['overrides']}, recipe `{record['recipe']}`, "
        f"{record['epochs']} epochs, data `{record['data']}` (split `auto`: speaker-disjoint train / validation / test).",
        f"Machine: {record['machine']}; {record['date']}; training {record['train_seconds']} s"
        + (f", whole job {record['wall_seconds']} s wall." if record.get("wall_seconds") else "."),
        *([record["note"]] if record.get("note") else []),
        "",
        "| model | test accuracy | size (KiB) | p50 1 thread (ms) | p50 2 threads (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in record["results"].items():
        lines.append(
            f"| {name} | {r['accuracy'] * 100:.2f}% ({r['examples']} clips) | {r['size_bytes'] / 1024:.0f} |"
            + "".join(f" {r[k]:.2f} |" if k in r else " - |" for k in ("p50_ms_1t", "p50_ms_2t"))
        )
    lines += [
        "",
        f"int8 - float: {record['int8_minus_float_points']:+.2f} points; int8 / float size: {record['int8_over_float_size']}.",
        f"Validation accuracy per epoch: {record['val_accuracy_per_epoch']}",
        f"Train command: `{record['train_command']}`",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="Epochs of `tfaudio run` (its default otherwise).")
    p.add_argument("--out", default=os.path.join(HERE, "results", "kws_main_job"), help="Output stem.")
    p.add_argument("--from-run", default=None, help="Summarise an existing `tfaudio run` folder instead of running.")
    p.add_argument("--wall-seconds", type=float, default=None, help="With --from-run: the run's measured wall time.")
    p.add_argument("--note", default=None, help="A line on the conditions of the run (load, CPU time), kept in the table.")
    args = p.parse_args()
    run_dir, wall = args.from_run, args.wall_seconds
    if run_dir is None:
        from tfaudio.cli.main import main as tfaudio

        run_dir = args.out + "_run"
        start = time.time()
        argv = ["run", "--out", run_dir] + (["--epochs", str(args.epochs)] if args.epochs else [])
        if tfaudio(argv):
            return 1
        wall = round(time.time() - start, 1)
    record = summarise(run_dir, wall)
    record["note"] = args.note
    common.write_json(args.out + ".json", record)
    write_markdown(record, args.out + ".md")
    print(open(args.out + ".md", encoding="utf-8").read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
