"""How much lighter is the device install? Size, import time and memory of tfaudio-runtime vs the full install.

One run measures, each command `--repeat` times in a fresh process (median wall time, median
peak resident memory from `wait4`), on the same `.tflite` file:
  * importing the `.tflite` runner: `from tfaudio.runtime import TFLiteModel` in the runtime venv
    vs `from tfaudio.export import TFLiteModel` in the full install (the import path before the
    runner was split out: it loads TensorFlow); the child also reports the import's own time;
  * `tfaudio bench MODEL --runs 20 --warmup 2`: the runtime venv vs the full install with the
    code before the split (`--before`, a commit read with `git archive`, whose bench imported
    TensorFlow) vs the full install with this checkout (TF-free now, but TF sits in site-packages);
  * `tfaudio predict` of a 5 s recording (Speech Commands words) with the full-int8 `ds_cnn`
    reference file: the runtime venv and the full install, vs the full install predicting with
    the same model as a `.keras` file (TensorFlow);
  * `tfaudio detect` over that recording with a full-int8 streaming `ds_cnn` (causal padding, made
    here with `tfaudio.streaming`): the runtime venv vs the full install;
  * the installed size of each venv given with `--size-venv NAME=DIR` (site-packages, bytes).
Output: JSON + a markdown table under benchmarks/results/, ratios against the full install.

Setup and run (the venvs as the README installs them; `bare` is an empty venv for the baseline):
    python3 -m venv /tmp/fp/runtime && /tmp/fp/runtime/bin/pip install ./tfaudio-runtime
    python3 -m venv /tmp/fp/full && /tmp/fp/full/bin/pip install .
    python3 -m venv /tmp/fp/bare
    python benchmarks/runtime_footprint.py --runtime-python /tmp/fp/runtime/bin/python \
        --size-venv bare=/tmp/fp/bare --size-venv runtime=/tmp/fp/runtime --size-venv full=/tmp/fp/full
(the full install here is the venv running this script, with this checkout on PYTHONPATH)
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tfaudio.bench.device import cpu_model  # noqa: E402
DEFAULT_MODEL = HERE / "devices" / "models" / "ds_cnn_int8.tflite"
BEFORE = "f7609a0"  # main just before tfaudio.runtime: the runner and bench imported TensorFlow

IMPORT = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def measure(command, env, repeat, cwd):
    """Median wall seconds, median peak RSS (MiB) and the last stdout of `command` run `repeat` times.

    `cwd` must hold no `tfaudio` folder: `python -c` and `-m` put the working directory first on sys.path.
    """
    walls, rss, out = [], [], ""
    for _ in range(repeat):
        with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
            start = time.perf_counter()
            proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd, text=True)
            # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would keep the largest so far).
            _, status, usage = os.wait4(proc.pid, 0)
            walls.append(time.perf_counter() - start)
            proc.returncode = os.waitstatus_to_exitcode(status)
            stdout.seek(0), stderr.seek(0)
            if proc.returncode != 0:
                raise SystemExit(f"error: {command} failed:\n{stderr.read()}")
            rss.append(usage.ru_maxrss / 1024)  # KiB on Linux
            out = stdout.read()
    return {"wall_s": statistics.median(walls), "peak_rss_mib": statistics.median(rss), "stdout": out.strip()}


def site_packages_bytes(venv):
    (lib,) = pathlib.Path(venv, "lib").glob("python3*")
    total = 0
    for root, _, files in os.walk(lib / "site-packages"):
        total += sum(os.lstat(os.path.join(root, f)).st_size for f in files)
    return total


def recording(root, path, sample_rate=16000, words=4):
    """Writes `words` Speech Commands clips with 0.25 s gaps to `path` (16-bit WAV); returns the audio."""
    import numpy as np
    import soundfile as sf

    from tfaudio.io import find_audio_files, load_audio

    files = [f for f in find_audio_files(root) if "_silence_" not in f and "_unknown_" not in f]
    if not files:
        raise SystemExit(f"error: no Speech Commands clips under {root} (give --speech-commands PATH)")
    gap = np.zeros(sample_rate // 4, np.float32)
    picked = [files[i] for i in np.linspace(0, len(files) - 1, words).astype(int)]
    audio = np.concatenate([gap] + [x for f in picked for x in (load_audio(f, sample_rate=sample_rate)[0], gap)])
    sf.write(path, audio, sample_rate, subtype="PCM_16")
    return audio


def make_models(folder, audio):
    """`ds_cnn.keras` (the architecture of the reference files) and a full-int8 streaming ds_cnn."""
    from tfaudio.backend import keras
    from tfaudio.models import build
    from tfaudio.streaming import StreamingModel, to_streaming_tflite

    keras.utils.set_random_seed(0)
    build("ds_cnn", 12).save(os.path.join(folder, "ds_cnn.keras"))
    stream = StreamingModel(build("ds_cnn", 12, time_padding="causal", input_norm=None))
    path = os.path.join(folder, "ds_cnn_stream_int8.tflite")
    to_streaming_tflite(stream, path, quantize="int8", representative_audio=[audio], labels=[f"w{i}" for i in range(12)])
    return os.path.join(folder, "ds_cnn.keras"), path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-python", help="python of a venv with only tfaudio-runtime.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--before", default=BEFORE, help="Commit with the TensorFlow-importing runner.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--speech-commands", default=str(REPO.parent / "shared" / "data" / "speech_commands"))
    parser.add_argument("--size-venv", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--out", default=str(HERE / "results" / "runtime_footprint"))
    parser.add_argument("--markdown-only", action="store_true", help="Rewrite OUT.md from OUT.json, measure nothing.")
    parser.add_argument("--make-models", default=None, metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_models:
        return make_models(args.make_models, recording(args.speech_commands, os.path.join(args.make_models, "recording.wav")))
    if args.markdown_only:
        with open(args.out + ".json", encoding="utf-8") as f:
            return write_markdown(json.load(f), args.out)

    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean["TF_CPP_MIN_LOG_LEVEL"] = "3"
    full = dict(clean, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before, "tfaudio"], capture_output=True, check=True)
        old, neutral = os.path.join(tmp, "before"), os.path.join(tmp, "cwd")
        os.makedirs(old), os.makedirs(neutral)
        subprocess.run(["tar", "-x", "-C", old], input=archive.stdout, check=True)
        before = dict(clean, PYTHONPATH=old)
        bench = ["-m", "tfaudio", "bench", os.path.abspath(args.model), "--runs", "20", "--warmup", "2"]
        wav = os.path.join(tmp, "recording.wav")
        # In a child: a parent that has loaded TensorFlow passes its peak RSS on to every child it forks.
        subprocess.run([sys.executable, __file__, "--make-models", tmp, "--speech-commands", args.speech_commands],
                       env=full, check=True)  # fmt: skip
        keras_model, stream_model = os.path.join(tmp, "ds_cnn.keras"), os.path.join(tmp, "ds_cnn_stream_int8.tflite")
        predict = ["-m", "tfaudio", "predict", wav, "--format", "json", "--model"]
        detect = ["-m", "tfaudio", "detect", wav, "--model", stream_model]
        rows = {
            "import runner": {
                "runtime": measure([args.runtime_python, "-c", IMPORT.format(stmt="from tfaudio.runtime import TFLiteModel")], clean, args.repeat, neutral),
                "full": measure([sys.executable, "-c", IMPORT.format(stmt="from tfaudio.export import TFLiteModel")], full, args.repeat, neutral),
            },
            "tfaudio bench": {
                "runtime": measure([args.runtime_python, *bench], clean, args.repeat, neutral),
                "full": measure([sys.executable, *bench], before, args.repeat, neutral),
                "full_now": measure([sys.executable, *bench], full, args.repeat, neutral),
            },
            "tfaudio predict": {
                "runtime": measure([args.runtime_python, *predict, os.path.abspath(args.model)], clean, args.repeat, neutral),
                "full": measure([sys.executable, *predict, keras_model], full, args.repeat, neutral),
                "full_now": measure([sys.executable, *predict, os.path.abspath(args.model)], full, args.repeat, neutral),
            },
            "tfaudio detect": {
                "runtime": measure([args.runtime_python, *detect], clean, args.repeat, neutral),
                "full_now": measure([sys.executable, *detect], full, args.repeat, neutral),
            },
        }  # fmt: skip
    for row in rows.values():
        for side in row.values():
            if side["stdout"].replace(".", "", 1).isdigit():
                side["import_s"] = float(side["stdout"])
            del side["stdout"]
    sizes = {}
    for item in args.size_venv:
        name, _, venv = item.partition("=")
        sizes[name] = site_packages_bytes(venv)

    result = {
        "machine": f"{platform.machine()} {cpu_model()}, {os.cpu_count()} cores (shared)",
        "model": os.path.relpath(args.model, REPO),
        "repeat": args.repeat,
        "before": args.before,
        "commands": rows,
        "site_packages_bytes": sizes,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    write_markdown(result, args.out)

def write_markdown(result, out):
    """Writes `out`.md, the table of a result dict, and prints it."""
    lines = [
        "# tfaudio-runtime vs the full install",
        "",
        f"`python benchmarks/runtime_footprint.py` on {result['machine']}; model `{result['model']}`; "
        f"median of {result['repeat']} fresh processes. \"full\" = the full install running the code before the "
        f"runner was split out ({result['before']}) for the import and bench rows, and predicting with the same model "
        f"as a `.keras` file (TensorFlow) in the predict row; \"full, now\" = the full install with this checkout "
        f"and the `.tflite` file.",
        "",
        "| command | install | wall s | import s | peak RSS MiB | wall vs full | RSS vs full |",
        "|---|---|---|---|---|---|---|",
    ]
    for command, row in result["commands"].items():
        ref = row["full"] if "full" in row else row["full_now"]
        full_label = "full, .keras model" if command == "tfaudio predict" else "full, before the split"
        for side, label in (("runtime", "tfaudio-runtime"), ("full", full_label), ("full_now", "full, now")):
            if side in row:
                m = row[side]
                imp = f"{m['import_s']:.2f}" if "import_s" in m else ""
                lines.append(
                    f"| `{command}` | {label} | {m['wall_s']:.2f} | {imp} | {m['peak_rss_mib']:.0f} | "
                    f"{m['wall_s'] / ref['wall_s']:.2f}x | {m['peak_rss_mib'] / ref['peak_rss_mib']:.2f}x |"
                )
    sizes = result["site_packages_bytes"]
    if sizes:
        base = sizes.get("bare", 0)
        lines += ["", "| venv | site-packages MB | above a bare venv, MB |", "|---|---|---|"]
        for name, size in sizes.items():
            lines.append(f"| {name} | {size / 1e6:.1f} | {(size - base) / 1e6:.1f} |")
    with open(out + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
