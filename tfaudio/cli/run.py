"""`tfaudio run`: the main job — train, evaluate, export float and int8 TFLite, benchmark, summarise.

By default the job is keyword spotting: the 12-class Speech Commands folder (../shared/data/
speech_commands, else the copy in the cache, else the official test set downloaded there),
split by speaker (no test speaker is heard in training), BC-ResNet-2 trained with the KWS recipe
(`tfaudio train --recipe kws`). `--data fsdd:PATH` (or any data spec) runs the same job on other data.
"""

import json
import os

from tfaudio import atomic
from tfaudio.cli import common

HELP = "Train -> evaluate -> export float and int8 TFLite -> benchmark latency, with a summary."

# The main job's model: BC-ResNet-2 on 40 log-mel bands with a 20 ms hop (benchmarks/kws.py "bc_resnet").
MAIN_MODEL = "bc_resnet"
MAIN_OVERRIDES = {"width": 2, "frame_step_seconds": 0.02}

# What the job changes for a data source (`--sample-rate` and `tfaudio train` arguments placed before the
# --train-arg ones, which win; "background_noise_dir" is skipped, with a printed line, when no Speech
# Commands folder is on the machine). FSDD is 8 kHz audio from 6 speakers: trained at its own rate with
# speed perturbation, white and recorded noise, gain and a random equaliser, the model recognised
# 81.5 % of other people's digits (157 clips of Speech Commands' _unknown_), against 43 % at 16 kHz
# without them (README "Other people's digits", benchmarks/fsdd_digits.py).
DATA_DEFAULTS = {
    "fsdd": {
        "sample_rate": 8000,
        "train_args": ["--speed-perturbation", "0.15", "--noise", "--snr-db", "5", "40", "--gain-db", "6",
                       "--equalizer-db", "6"],
        # Recorded noise: the _silence_ clips of the local Speech Commands folder (never a digit clip).
        "background_noise_dir": "{speech_commands}/_silence_",
    },
}
DEFAULT_SAMPLE_RATE = 16000


def add_arguments(parser):
    parser.add_argument("--model", default=MAIN_MODEL,
                        help=f"Registered model name. Defaults to {MAIN_MODEL} (with {MAIN_OVERRIDES} unless --model "
                        "is given).")
    parser.add_argument(
        "--data",
        default=None,
        help="Data spec (speech_commands:PATH, fsdd:PATH, folder:PATH, manifest:CSV). Defaults to "
        "speech_commands: the 12-class folder ../shared/data/speech_commands ($TFAUDIO_SPEECH_COMMANDS), else "
        "the cached copy, else the official test set downloaded into the cache (~112 MB).",
    )
    parser.add_argument("--epochs", type=int, default=40, help="Training epochs. Defaults to 40 (see README for time and accuracy).")
    parser.add_argument("--recipe", default="kws", help="Training recipe (tfaudio train --recipe). Defaults to kws.")
    parser.add_argument("--sample-rate", type=int, default=None,
                        help=f"Sample rate of training, in Hz. Defaults to the data's: 8000 for fsdd:, else "
                        f"{DEFAULT_SAMPLE_RATE}.")
    parser.add_argument("--clip-seconds", type=float, default=1.0)
    parser.add_argument("--out", default="runs/main", help="Folder for the run, exports and summary.")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="Thread counts for latency.")
    parser.add_argument("--train-arg", action="append", default=[], help="Extra `tfaudio train` argument, repeatable.")


def default_data():
    """`speech_commands:` + the local 12-class folder, downloading the official test set when there is none."""
    from tfaudio.data.download import default_speech_commands_root

    return f"speech_commands:{default_speech_commands_root()}"


def data_defaults(data):
    """`DATA_DEFAULTS` of the data spec's source (`{}` for the others)."""
    from tfaudio.data.spec import parse_spec

    return DATA_DEFAULTS.get(parse_spec(data)[0], {})


def background_noise_dir(template, speech_commands=None):
    """A `DATA_DEFAULTS` noise folder with `{speech_commands}` replaced by the local Speech Commands folder.

    None (with a printed line) when no Speech Commands folder is on this machine: the job then trains
    without that noise rather than downloading 112 MB for it (`tfaudio download speech_commands_test`).
    """
    if speech_commands is None:
        from tfaudio.data.download import default_speech_commands_root

        try:
            speech_commands = default_speech_commands_root(download=False)
        except ValueError:
            print("No Speech Commands folder for background noise: training without it (`tfaudio download "
                  "speech_commands_test` puts one in the cache).", flush=True)
            return None
    return os.path.abspath(template.replace("{speech_commands}", os.fspath(speech_commands)))


def _train_arguments(args, data, defaults=None, speech_commands=None):
    """`tfaudio train` arguments of the job; `defaults` replaces the data's `DATA_DEFAULTS` entry (benchmarks)."""
    defaults = data_defaults(data) if defaults is None else defaults
    sample_rate = args.sample_rate or defaults.get("sample_rate", DEFAULT_SAMPLE_RATE)
    argv = ["--model", args.model, "--data", data, "--epochs", str(args.epochs), "--recipe", args.recipe,
            "--sample-rate", str(sample_rate), "--clip-seconds", str(args.clip_seconds), "--out", args.out,
            "--quiet"]
    if args.model == MAIN_MODEL and not any(a.startswith("--override") for a in args.train_arg):
        for key, value in MAIN_OVERRIDES.items():
            argv += ["--override", f"{key}={json.dumps(value)}"]
    argv += list(defaults.get("train_args", []))
    noise = defaults.get("background_noise_dir")
    if noise and not any(a.startswith("--background-noise-dir") for a in args.train_arg):
        noise = background_noise_dir(noise, speech_commands)
        argv += ["--background-noise-dir", noise] if noise else []
    return argv + list(args.train_arg)


def run(args):
    from tfaudio.bench import tflite_latency
    from tfaudio.cli.evaluate import evaluate
    from tfaudio.cli.export import export
    from tfaudio.training import train

    data = args.data or default_data()
    out = args.out
    train_argv = _train_arguments(args, data)
    print(f"== train {args.model} on {data} ({args.epochs} epochs, recipe {args.recipe}) -> {out}", flush=True)
    train(_train_config(train_argv))

    summary = {"model": args.model, "data": data, "epochs": args.epochs, "recipe": args.recipe,
               "train_command": "tfaudio train " + " ".join(train_argv), "results": {}}
    exports = {
        "keras": os.path.join(out, common.MODEL),
        "tflite_float": os.path.join(out, "export", "model_float.tflite"),
        "tflite_int8": os.path.join(out, "export", "model_int8.tflite"),
    }
    print("== export float and int8 TFLite (builtin ops only)", flush=True)
    export(out, "tflite", exports["tflite_float"])
    export(out, "tflite", exports["tflite_int8"], quantize="int8")

    print("== evaluate on the test split", flush=True)
    for name, path in exports.items():
        metrics = evaluate(path)
        entry = {"accuracy": metrics["accuracy"], "examples": metrics["examples"], "size_bytes": _size(path)}
        if name != "keras":
            print(f"== latency of {name}", flush=True)
            for threads in args.threads:
                entry[f"p50_ms_{threads}t"] = tflite_latency(path, num_threads=threads)["p50_ms"]
        summary["results"][name] = entry

    common.write_json(os.path.join(out, "summary.json"), summary)
    table = _markdown(summary, args.threads)
    atomic.write_text(os.path.join(out, "summary.md"), table)
    print("\n" + table)
    return 0


def _train_config(argv):
    """The `TrainConfig` of `tfaudio train` options (the run's own, then --train-arg ones)."""
    import argparse

    from tfaudio.cli import train as train_cli

    parser = argparse.ArgumentParser(prog="tfaudio run --train-arg")
    train_cli.add_arguments(parser)
    return train_cli.config_from_args(parser.parse_args(argv))


def _size(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def _markdown(summary, threads):
    head = ["model", "test accuracy", "size (KiB)"] + [f"p50 {t} thread(s) (ms)" for t in threads]
    lines = [
        f"{summary['model']} on {summary['data']}, {summary['epochs']} epochs",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in summary["results"].items():
        row = [name, f"{r['accuracy'] * 100:.2f}% ({r['examples']} clips)", f"{r['size_bytes'] / 1024:.1f}"]
        row += [f"{r[f'p50_ms_{t}t']:.2f}" if f"p50_ms_{t}t" in r else "-" for t in threads]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
