"""How accurate, large and fast is SincNet on FSDD, as Keras, float TFLite and int8 TFLite?

Runs the main job (`tfaudio run`: train on the official split, export float and full int8
TFLite with builtin ops only, evaluate all three on the 300 test clips, time the TFLite models
at 1 and 2 threads) and writes benchmarks/results/sincnet_fsdd.{json,md} with the int8/float
ratios of accuracy, size and latency.

Run: python benchmarks/sincnet_fsdd.py [--data fsdd:PATH] [--epochs N] [--override KEY=JSON ...]
     python benchmarks/sincnet_fsdd.py --from-run runs/sincnet   (summarise the README main job's folder)
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfaudio.cli import common  # noqa: E402
from tfaudio.cli.main import main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=f"fsdd:{common.default_fsdd_root()}")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--override", action="append", default=[], help="Model override KEY=JSON, repeatable.")
    p.add_argument("--out", default=os.path.join(HERE, "results", "sincnet_fsdd"))
    p.add_argument("--from-run", default=None, help="Summarise an existing `tfaudio run` folder instead of running.")
    return p.parse_args()


def main_bench():
    args = parse_args()
    start = time.time()
    if args.from_run:
        run_dir = args.from_run
    else:
        run_dir = tempfile.mkdtemp(prefix="sincnet_fsdd_")
        train_args = [a for o in args.override for a in ("--override", o)]
        argv = ["run", "--data", args.data, "--epochs", str(args.epochs), "--out", run_dir, "--threads", "1", "2"]
        code = main(argv + [f"--train-arg={a}" for a in train_args])
        if code:
            return code
    summary = common.read_json(os.path.join(run_dir, "summary.json"))
    history = common.read_json(os.path.join(run_dir, "metrics.json"))
    r = summary["results"]
    f, q = r["tflite_float"], r["tflite_int8"]
    result = {
        "data": summary["data"],
        "epochs": summary["epochs"],
        "overrides": args.override,
        "wall_seconds": None if args.from_run else round(time.time() - start, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "results": r,
        "int8_vs_float": {
            "accuracy_points": round((q["accuracy"] - f["accuracy"]) * 100, 2),
            "size_ratio": round(q["size_bytes"] / f["size_bytes"], 3),
            "p50_ratio_1t": round(q["p50_ms_1t"] / f["p50_ms_1t"], 3),
            "p50_ratio_2t": round(q["p50_ms_2t"] / f["p50_ms_2t"], 3),
        },
        "train_metrics": history,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as fh:
        json.dump(result, fh, indent=2)
    with open(os.path.join(run_dir, "summary.md")) as fh:
        table = fh.read()
    ratios = result["int8_vs_float"]
    with open(args.out + ".md", "w") as fh:
        fh.write("# SincNet on FSDD (official split: takes 0-4 test)\n\n")
        fh.write(table)
        fh.write(
            f"\nint8 vs float TFLite: accuracy {ratios['accuracy_points']:+.2f} points, size x{ratios['size_ratio']}, "
            f"p50 latency x{ratios['p50_ratio_1t']} (1 thread), x{ratios['p50_ratio_2t']} (2 threads).\n"
            f"Wall time {str(result['wall_seconds']) + ' s' if result['wall_seconds'] else 'not measured'} on {result['machine']}; "
            f"overrides: {args.override or 'none'}; run folder {'given' if args.from_run else 'made'} by `tfaudio run`.\n"
        )
    print(open(args.out + ".md").read())
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
