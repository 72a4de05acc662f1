"""Does `tfaudio predict` over many files keep its memory bounded?

Writes N tiny WAVs (0.5 s at 16 kHz, distinct noise) into a temporary folder and runs
`python -m tfaudio predict FOLDER --model M.tflite --format csv --out F.csv` in a fresh process
for N = 1,000 and N = 10,000, reading the child's peak RSS from `os.wait4`. If predict kept every
decoded clip, 10,000 files would add 10,000 x 32 KB = 312 MB; the per-file growth between the two
runs says what it does keep (its per-file results and the output text).

Output: benchmarks/results/predict_memory.json and .md.
Run: python benchmarks/predict_memory.py [--files 1000 10000]   (about 2-4 minutes on 2 busy cores)
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _results import write_results  # noqa: E402
import soundfile as sf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RATE = 16000


def write_files(folder, count, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(count):
        sf.write(os.path.join(folder, f"clip{i:05d}.wav"), rng.uniform(-0.3, 0.3, RATE // 2).astype(np.float32), RATE,
                 subtype="PCM_16")  # fmt: skip


def make_model(path):
    from tfaudio.backend import keras
    from tfaudio.export import to_tflite

    keras.utils.set_random_seed(0)
    inputs = keras.Input((RATE,))
    model = keras.Model(inputs, keras.layers.Dense(12)(keras.layers.Dense(16, activation="relu")(inputs)))
    return to_tflite(model, path, labels=[f"c{i}" for i in range(12)], sample_rate=RATE)


def run_predict(folder, model, out):
    command = [sys.executable, "-m", "tfaudio", "predict", folder, "--model", model, "--format", "csv", "--out", out]
    env = dict(os.environ, PYTHONPATH=REPO)
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"predict failed: {stderr[-2000:]}")
    with open(out) as f:
        rows = sum(1 for _ in f) - 1
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="predict-memory-")
    model = os.path.join(tmp, "model.tflite")
    # In its own process: this one stays small (no TensorFlow), since a child's peak RSS as
    # os.wait4 reports it starts from the forking parent's.
    code = f"import sys; sys.path.insert(0, {HERE!r}); import predict_memory; predict_memory.make_model({model!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=REPO),
                   stderr=subprocess.DEVNULL)  # fmt: skip
    runs = {}
    for count in args.files:
        folder = os.path.join(tmp, f"files{count}")
        os.makedirs(folder)
        write_files(folder, count)
        runs[count] = run_predict(folder, model, os.path.join(tmp, f"out{count}.csv"))
        runs[count]["files_per_s"] = count / runs[count]["seconds"]
        print(count, runs[count], flush=True)
    small, large = min(runs), max(runs)
    per_file_kb = (runs[large]["peak_rss_mb"] - runs[small]["peak_rss_mb"]) * 1024 / max(large - small, 1)
    results = {"platform": platform.platform(), "cores": os.cpu_count(), "runs": runs,
               "rss_growth_kb_per_file": per_file_kb, "decoded_clip_kb": RATE // 2 * 4 / 1024}  # fmt: skip
    lines = ["# tfaudio predict over many files: peak memory", "",
             "`python benchmarks/predict_memory.py` — 0.5-s 16 kHz WAVs, a small float .tflite, `--format csv --out`", "",
             "| files | seconds | files/s | peak RSS (MB) | rows written |", "|---|---|---|---|---|"]  # fmt: skip
    for count, r in runs.items():
        lines.append(f"| {count:,} | {r['seconds']:.1f} | {r['files_per_s']:.0f} | {r['peak_rss_mb']:.1f} | {r['rows']:,} |")
    lines += ["", f"Peak RSS grows {per_file_kb:.2f} KB per extra file (a decoded clip is "
              f"{results['decoded_clip_kb']:.1f} KB): {large:,} files need "
              f"{runs[large]['peak_rss_mb'] / runs[small]['peak_rss_mb']:.2f}x the memory of {small:,}.", ""]  # fmt: skip
    write_results(args.out, "predict_memory", results, lines)


if __name__ == "__main__":
    main()
