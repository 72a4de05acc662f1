"""Other people's digits: a model trained on FSDD (6 speakers) tested on the digits of Speech Commands' `_unknown_`.

The README main job run on FSDD (`tfaudio run --data fsdd:PATH`: BC-ResNet-2, 20 ms hop, recipe
kws, the fsdd entry of `tfaudio.cli.run.DATA_DEFAULTS`) is evaluated on the 157 clips of "zero".."nine"
in ../shared/data/speech_commands/_unknown_ (`?task=digits&split=none`), said by people FSDD does not
have, recorded on their own microphones at 16 kHz (resampled to the model's rate by `tfaudio evaluate`).

A row is one training: the main job's training arguments for `fsdd:`, with the variant's
`DATA_DEFAULTS`-like entry (sample rate, extra `tfaudio train` arguments) in place of the fsdd one, so
each row says what a part of the recipe is worth. `{speech_commands}` in a noise folder is the Speech
Commands folder (`tfaudio.cli.run.background_noise_dir`, as for the main job). Rows accumulate in
benchmarks/results/fsdd_digits.{json,md}: run one variant per call, one at a time.

Run: python benchmarks/fsdd_digits.py --variant NAME [--epochs N]   (train + evaluate one row)
     python benchmarks/fsdd_digits.py --from-run RUN [--name NAME]  (a `tfaudio run --data fsdd:...` folder:
                                                                     Keras, float and int8 TFLite)
     python benchmarks/fsdd_digits.py --list
"""

import argparse
import datetime
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfaudio.cli import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FSDD = os.path.join(os.path.dirname(ROOT), "shared", "data", "fsdd")
SPEECH_COMMANDS = os.path.join(os.path.dirname(ROOT), "shared", "data", "speech_commands")
DIGITS_SPEC = "speech_commands:{root}?task=digits&split=none"

_S4 = ["--speed-perturbation", "0.15", "--noise", "--snr-db", "5", "40", "--gain-db", "6"]
_BACKGROUND = "{speech_commands}/_silence_"
# name -> (what it is, DATA_DEFAULTS-like entry). "main_job" is the fsdd entry of DATA_DEFAULTS as it is now.
VARIANTS = {
    "16k_plain": ("16 kHz, recipe kws only (the main job before DATA_DEFAULTS)", {"sample_rate": 16000}),
    "8k_plain": ("8 kHz (FSDD's rate), recipe kws only", {"sample_rate": 8000}),
    "8k_s4": ("8 kHz + speed 0.15 + white noise 5-40 dB + gain 6 dB (session 4's defaults)",
              {"sample_rate": 8000, "train_args": _S4}),
    "8k_s4_bg": ("8k_s4 + Speech Commands _silence_ noise mixed in (volume U[0, 0.1], 80 % of clips)",
                 {"sample_rate": 8000, "train_args": _S4, "background_noise_dir": _BACKGROUND}),
    "8k_s4_speed30": ("8k_s4 with speed perturbation 0.3",
                      {"sample_rate": 8000, "train_args": ["--speed-perturbation", "0.3"] + _S4[2:]}),
    "8k_s4_bg_speed30": ("8k_s4_bg with speed perturbation 0.3",
                         {"sample_rate": 8000, "train_args": ["--speed-perturbation", "0.3"] + _S4[2:],
                          "background_noise_dir": _BACKGROUND}),
    "8k_s4_eq6": ("8k_s4 + random equaliser +-6 dB (6 mel-spaced bands; another microphone)",
                  {"sample_rate": 8000, "train_args": _S4 + ["--equalizer-db", "6"]}),
    "8k_s4_eq10": ("8k_s4 + random equaliser +-10 dB",
                   {"sample_rate": 8000, "train_args": _S4 + ["--equalizer-db", "10"]}),
    "8k_all": ("8k_s4 with speed 0.3, + _silence_ background noise, + random equaliser +-6 dB",
               {"sample_rate": 8000,
                "train_args": ["--speed-perturbation", "0.3"] + _S4[2:] + ["--equalizer-db", "6"],
                "background_noise_dir": _BACKGROUND}),
    "8k_s4_bg_eq6": ("8k_s4 + _silence_ background noise + random equaliser +-6 dB (8k_all with speed 0.15)",
                     {"sample_rate": 8000, "train_args": _S4 + ["--equalizer-db", "6"], "background_noise_dir": _BACKGROUND}),
    "main_job": ("tfaudio.cli.run.DATA_DEFAULTS['fsdd'] as it is", None),
}


def _machine():
    load = os.getloadavg()
    return {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs)",
            "load_average_1_5_15": [round(x, 2) for x in load]}


def evaluate_digits(model_path, root):
    """`tfaudio evaluate` of a run folder / .keras / .tflite on the digits of `_unknown_`: accuracy, per digit."""
    from tfaudio.cli.evaluate import evaluate

    metrics = evaluate(model_path, data=DIGITS_SPEC.format(root=root))
    return {
        "accuracy": round(metrics["accuracy"], 4),
        "examples": metrics["examples"],
        "per_digit": {k: round(v, 3) for k, v in metrics["per_class_accuracy"].items()},
        "confusion_matrix": metrics["confusion_matrix"],
    }


def train_variant(name, epochs, workdir, fsdd_root, sc_root):
    """Trains variant `name` with the main job's `tfaudio train` arguments; returns the row."""
    from tfaudio.cli import run as run_cli
    from tfaudio.cli.main import build_parser
    from tfaudio.training import train

    description, defaults = VARIANTS[name]
    out = os.path.join(workdir, name)
    data = f"fsdd:{fsdd_root}"
    args = build_parser().parse_args(["run", "--data", data, "--out", out] + (["--epochs", str(epochs)] if epochs else []))
    argv = run_cli._train_arguments(args, data, defaults=defaults, speech_commands=sc_root)
    start_load = os.getloadavg()[0]
    wall, cpu = time.time(), time.process_time()
    result = train(run_cli._train_config(argv))
    wall, cpu = time.time() - wall, time.process_time() - cpu
    row = {
        "variant": name,
        "description": description,
        "train_command": "tfaudio train " + " ".join(argv),
        "epochs": args.epochs,
        "fsdd_test_accuracy": round((result.get("test") or {}).get("accuracy", float("nan")), 4),
        "train_wall_seconds": round(wall, 1),
        "train_cpu_seconds": round(cpu, 1),
        "load_average_at_start": round(start_load, 2),
    }
    row["digits"] = {"keras": evaluate_digits(out, sc_root)}
    return row


def from_run(run_dir, name, sc_root, description=None):
    """A `tfaudio run` folder: its Keras model and exports on the digits, its FSDD test figures and time."""
    summary = common.read_json(os.path.join(run_dir, "summary.json"))
    metrics = common.read_json(os.path.join(run_dir, "metrics.json"))
    files = {"keras": run_dir, "tflite_float": os.path.join(run_dir, "export", "model_float.tflite"),
             "tflite_int8": os.path.join(run_dir, "export", "model_int8.tflite")}
    return {
        "variant": name,
        "description": description or f"`tfaudio run` folder {os.path.basename(os.path.normpath(run_dir))}",
        "train_command": summary.get("train_command"),
        "epochs": summary.get("epochs"),
        "fsdd_test_accuracy": round(summary["results"]["keras"]["accuracy"], 4),
        "fsdd_test_accuracy_tflite": {k: round(summary["results"][k]["accuracy"], 4)
                                      for k in ("tflite_float", "tflite_int8") if k in summary["results"]},
        "train_wall_seconds": round(metrics.get("seconds", float("nan")), 1),
        "digits": {k: evaluate_digits(p, sc_root) for k, p in files.items() if os.path.exists(p)},
    }


def write_markdown(record, path):
    lines = [
        "# Other people's digits: trained on FSDD (6 speakers), tested on the 157 digits of Speech Commands' `_unknown_`",
        "",
        "Every row is the README main job's training on `fsdd:` (BC-ResNet-2, 20 ms hop, recipe kws: cosine 3e-3, "
        "time shift 0.1 s, SpecAugment, label smoothing 0.1) with the row's data defaults in place of "
        "`DATA_DEFAULTS['fsdd']`. Digits: `speech_commands:PATH?task=digits&split=none` (157 clips, many "
        "speakers; one clip is 0.64 points). FSDD test: its official split (takes 0-4, the same 6 speakers).",
        "",
        "| row | what | epochs | other people's digits | FSDD test | train min (wall) | CPU s | load at start |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in record["rows"].values():
        digits = " / ".join(f"{k.replace('tflite_', '')} {v['accuracy'] * 100:.1f} %" for k, v in row["digits"].items())
        lines.append(
            f"| {row['variant']} | {row['description']} | {row['epochs']} | {digits} | "
            f"{row['fsdd_test_accuracy'] * 100:.1f} % | {row['train_wall_seconds'] / 60:.1f} | "
            f"{row.get('train_cpu_seconds') or '-'} | {row.get('load_average_at_start') or '-'} |"
        )
    lines += ["", "Per digit (Keras):", "", "| row | " + " | ".join(str(d) for d in range(10)) + " |",
              "|---|" + "---:|" * 10]
    for row in record["rows"].values():
        per = row["digits"]["keras"]["per_digit"]
        lines.append(f"| {row['variant']} | " + " | ".join(f"{per.get(str(d), float('nan')) * 100:.0f}" for d in range(10)) + " |")
    lines += ["", "Train commands:", ""] + [f"- {row['variant']} ({row.get('date', '')}, {row.get('machine', {}).get('load_average_1_5_15', '')} "
                                             f"load 1/5/15 min at the end): `{row['train_command']}`"
                                             for row in record["rows"].values()]
    if record.get("notes"):
        lines += [""] + record["notes"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", choices=sorted(VARIANTS), help="Train and evaluate this row.")
    p.add_argument("--epochs", type=int, default=None, help="Epochs (`tfaudio run`'s default otherwise).")
    p.add_argument("--name", default=None, help="Row name (defaults to the variant, plus _eN with --epochs).")
    p.add_argument("--from-run", default=None, help="Evaluate a `tfaudio run --data fsdd:...` folder instead.")
    p.add_argument("--description", default=None, help="The row's `what` for --from-run (how the run was made).")
    p.add_argument("--workdir", default=os.path.join(ROOT, "runs", "fsdd_digits"), help="Run folders of the rows.")
    p.add_argument("--fsdd", default=FSDD)
    p.add_argument("--speech-commands", default=SPEECH_COMMANDS)
    p.add_argument("--out", default=os.path.join(HERE, "results", "fsdd_digits"), help="Output stem.")
    p.add_argument("--note", action="append", default=[], help="A line kept under the table (repeatable).")
    p.add_argument("--list", action="store_true", help="List the variants.")
    args = p.parse_args()
    if args.list or not (args.variant or args.from_run):
        for name, (description, _) in VARIANTS.items():
            print(f"{name}: {description}")
        return 0
    if args.from_run:
        row = from_run(args.from_run, args.name or "main_job_run", args.speech_commands, args.description)
    else:
        row = train_variant(args.variant, args.epochs, args.workdir, args.fsdd, args.speech_commands)
        row["variant"] = args.name or (args.variant + (f"_e{args.epochs}" if args.epochs else ""))
    row["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    row["machine"] = _machine()
    path = args.out + ".json"
    record = common.read_json(path) if os.path.isfile(path) else {"rows": {}, "notes": []}
    record["rows"][row["variant"]] = row
    record["notes"] = list(dict.fromkeys(record.get("notes", []) + args.note))
    common.write_json(path, record)
    write_markdown(record, args.out + ".md")
    print(open(args.out + ".md", encoding="utf-8").read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
