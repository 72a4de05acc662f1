"""Is full int8 faster than float for every registered model? TFLite p50, float vs dynamic vs full int8.

For each model of `tfaudio.models.available()` (untrained weights: latency does not depend on them;
int8 calibrated on real clips: FSDD for the 8 kHz models, Speech Commands for the 16 kHz KWS models):
convert to float, dynamic-range, full-int8 and int8_mixed TFLite (`tfaudio.export.to_tflite`, builtin ops
only; int8_mixed keeps the ops int8 loses on in float, `tfaudio.export.mixed`).
Then every file of every model is timed in the SAME interleaved rounds (a shuffled order in each
round) on the ai_edge_litert interpreter (XNNPACK, batch 1) at 1 and 2 threads, so every ratio in
the table, within a model and across models, comes from one run under one load. Per-op profiles
(`tfaudio.bench.profile_tflite`) of float and int8 are written for the models whose int8 is slowest
relative to float, overall and among the convolutional models.

Timing on a shared machine: at 1 thread the table reports this process's CPU time per invoke
(`time.process_time`, what the model costs however many other jobs share the cores) beside the
wall time; at 2 threads only wall time means latency. In each round a file runs a block of invokes
lasting about --block-ms (at least one); its figure is the median over rounds of the block's mean.

Configs: the model zoo's (benchmarks/model_zoo.py: 8 kHz, 1 s, log-mel frame_step 256 / 32 bins
for the image backbones, its narrowed SincNet) plus SincNet's defaults; the KWS models as
benchmarks/kws.py and the README main job train them (16 kHz, 12 classes, 20 ms hop: BC-ResNet-2,
DS-CNN size m); small wav2vec2 / AST (2 layers, width 64) because the full ones take too long to
convert here.

Converted files are kept under --work (default: a `latency_work` folder in the system temp dir) with
the commit they were converted at; a rerun reuses them (a run that dies loses no finished
conversion), `--reconvert a,b` (or `all`) converts those models again.

Run: python benchmarks/latency.py [--models sincnet,squeezenet,...] [--rounds 25] [--profile-top 3]
"""

import argparse
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SPECTROGRAM = dict(frame_step=256, num_mel_bins=32)
SMALL_TRANSFORMER = dict(hidden_dim=64, num_layers=2, num_heads=4, intermediate_dim=256)
SMALL_WAV2VEC2 = dict(
    SMALL_TRANSFORMER, conv_dims=[64] * 7, num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=4,
    classifier_proj_size=64,
)  # fmt: skip
ZOO = "model zoo config (8 kHz, log-mel hop 256, 32 bins)"
SMALL = "the full model takes too long to convert here"
# row -> (registered model, sample rate, classes, overrides, note). Rows are in this order.
CONFIGS = {
    "sincnet": ("sincnet", 8000, 10, dict(sinc_kernel_size=129, global_pooling="avg", dense_units=(512, 512)),
                "model zoo config (8 kHz, 80 x 129 sinc, 2 x 512 dense)"),
    "sincnet_defaults": ("sincnet", 8000, 10, {}, "defaults (8 kHz, 80 x 251 sinc, 3 x 2048 dense)"),
    "alexnet": ("alexnet", 8000, 10, SPECTROGRAM, ZOO + ", resized in-graph to 67 x 67"),
    "vgg16": ("vgg16", 8000, 10, SPECTROGRAM, ZOO),
    "inception_v3": ("inception_v3", 8000, 10, SPECTROGRAM, ZOO + ", resized in-graph to 75 x 75"),
    "resnet50": ("resnet50", 8000, 10, SPECTROGRAM, ZOO),
    "densenet121": ("densenet121", 8000, 10, SPECTROGRAM, ZOO),
    "squeezenet": ("squeezenet", 8000, 10, SPECTROGRAM, ZOO),
    "ds_cnn": ("ds_cnn", 16000, 12, dict(size="m", frame_step_seconds=0.02),
               "benchmarks/kws.py: size m, 16 kHz, 20 ms hop"),
    "bc_resnet": ("bc_resnet", 16000, 12, dict(width=2, frame_step_seconds=0.02),
                  "the README main job: BC-ResNet-2, 16 kHz, 20 ms hop"),
    "wav2vec2_base": ("wav2vec2_base", 8000, 10, SMALL_WAV2VEC2,
                      f"small: 2 layers, width 64, base layout ({SMALL})"),
    "wav2vec2_large": ("wav2vec2_large", 8000, 10, SMALL_WAV2VEC2,
                       f"small: 2 layers, width 64, large layout: layer-norm encoder, pre-LN ({SMALL})"),
    "ast_base": ("ast_base", 8000, 10, dict(SMALL_TRANSFORMER, num_mel_bins=64),
                 f"small: 2 layers, width 64, 64 mel bins ({SMALL})"),
}  # fmt: skip
TRANSFORMERS = ("wav2vec2_base", "wav2vec2_large", "ast_base")
VARIANTS = ("float", "dynamic", "int8", "int8_mixed")
TARGET = 0.5  # issue 13: full int8 p50 at most 0.5x float at 1 thread for convolutional models


def config(row):
    """(model, sample rate, classes, overrides, note) of a row; a registered name not listed: its defaults."""
    return CONFIGS.get(row, (row, 16000, 10, {}, "defaults (16 kHz)"))


def load_clips(sample_rate, count=24):
    """`count` real 1 s clips at `sample_rate`: FSDD digits at 8 kHz, Speech Commands (every class) at 16 kHz."""
    import soundfile as sf
    import soxr

    shared = os.path.join(REPO, "..", "shared", "data")
    if sample_rate == 16000:
        root = os.environ.get("TFAUDIO_SPEECH_COMMANDS", os.path.join(shared, "speech_commands"))
        paths = sorted(glob.glob(os.path.join(root, "*", "*.wav")))
    else:
        root = os.environ.get("TFAUDIO_FSDD", os.path.join(shared, "fsdd"))
        paths = sorted(glob.glob(os.path.join(root, "recordings", "*.wav")))
    if not paths:
        raise ValueError(f"No calibration clips (*.wav) under {root!r}: set TFAUDIO_FSDD / TFAUDIO_SPEECH_COMMANDS.")
    paths = paths[:: max(1, len(paths) // count)][:count]
    clips = []
    for path in paths:
        audio, rate = sf.read(path, dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        if rate != sample_rate:
            audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
        clips.append(np.pad(audio[:sample_rate], (0, max(0, sample_rate - len(audio)))))
    return np.stack(clips)


def git_commit():
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "tfaudio"], capture_output=True, text=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def convert(row, directory, reconvert=False):
    """`.tflite` files of `row` per variant in `directory`; files a previous run wrote there are reused."""
    meta_path = os.path.join(directory, f"{row}.json")
    meta = {"files": {}, "errors": {}, "convert_s": {}, "commits": {}}
    if not reconvert and os.path.isfile(meta_path):
        with open(meta_path) as f:
            meta.update(json.load(f))
        meta["files"] = {v: p for v, p in meta["files"].items() if os.path.isfile(p)}
        for variant in meta["files"]:  # files of an older run: the one commit it recorded
            meta["commits"].setdefault(variant, meta.get("commit", "unknown"))
    missing = [v for v in VARIANTS if v not in meta["files"]]
    reused = not missing
    if missing:
        from tfaudio.export import to_tflite
        from tfaudio.models import build

        name, sample_rate, classes, overrides, _ = config(row)
        model = build(name, classes, sample_rate=sample_rate, clip_seconds=1.0, **overrides)
        clips = load_clips(sample_rate)
        meta["params"] = int(model.count_params())
        commit = git_commit()
        for variant in missing:
            path = os.path.join(directory, f"{row}_{variant}.tflite")
            start = time.perf_counter()
            try:
                quantize = None if variant == "float" else variant
                calibrated = variant in ("int8", "int8_mixed")
                to_tflite(model, path, quantize=quantize, representative_data=clips if calibrated else None)
                meta["files"][variant] = path
                meta["errors"].pop(variant, None)
                meta["commits"][variant] = commit
            except Exception as e:  # report and go on with the other variants and models
                meta["errors"][variant] = f"{type(e).__name__}: {str(e)[:300]}"
            meta["convert_s"][variant] = round(time.perf_counter() - start, 1)
            meta["converted"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            tmp = meta_path + ".tmp"
            with open(tmp, "w") as f:  # after every file: a run that dies keeps what it converted
                json.dump(meta, f, indent=2)
            os.replace(tmp, meta_path)
    meta["reused"] = reused
    return meta


class Timer:
    """An interpreter of one file with its input set, timed in blocks of invokes on both clocks."""

    def __init__(self, path, threads, block_ms, warmup=3):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=path, num_threads=threads)
        self.interpreter.allocate_tensors()
        details = self.interpreter.get_input_details()[0]
        x = np.random.default_rng(0).uniform(-1, 1, details["shape"]).astype(np.float32)
        if details["dtype"] != np.float32:
            scale, zero = details["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(details["dtype"])
        self.interpreter.set_tensor(details["index"], x)
        for _ in range(warmup):
            self.interpreter.invoke()
        start = time.perf_counter()
        self.interpreter.invoke()
        once = (time.perf_counter() - start) * 1000.0
        self.repeat = int(max(1, min(200, block_ms / max(once, 1e-3))))
        self.wall, self.cpu = [], []

    def block(self):
        invoke = self.interpreter.invoke
        w, c = time.perf_counter(), time.process_time()
        for _ in range(self.repeat):
            invoke()
        self.cpu.append((time.process_time() - c) * 1000.0 / self.repeat)
        self.wall.append((time.perf_counter() - w) * 1000.0 / self.repeat)

    def result(self):
        return {"wall_p50_ms": float(np.median(self.wall)), "cpu_p50_ms": float(np.median(self.cpu)),
                "cpu_iqr_ms": [float(np.percentile(self.cpu, 25)), float(np.percentile(self.cpu, 75))],
                "invokes_per_round": self.repeat}  # fmt: skip


def time_all(files, threads, rounds, block_ms, seed=0):
    """Median wall and CPU ms per invoke of every file ({(row, variant): path}), in shuffled interleaved rounds."""
    timers = {key: Timer(path, threads, block_ms) for key, path in files.items()}
    keys = list(timers)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for i in rng.permutation(len(keys)):
            timers[keys[i]].block()
    results = {key: timer.result() for key, timer in timers.items()}
    for (row, variant), timer in timers.items():  # paired: each round's ratio, so load drift between rounds cancels
        reference = timers.get((row, "float"))
        if reference is not None and variant != "float":
            for clock in ("cpu", "wall"):
                ratios = np.array(getattr(timer, clock)) / np.array(getattr(reference, clock))
                results[(row, variant)][f"{clock}_ratio_to_float_paired"] = float(np.median(ratios))
    return results


def ratio_1t(entry, variant="int8"):
    """int8 (or `variant`) / float at 1 thread, CPU time: the median of the rounds' paired ratios."""
    t = entry.get("timing", {}).get("1", {})
    return t[variant].get("cpu_ratio_to_float_paired") if variant in t and "float" in t else None


def write_markdown(report, path):
    rows = report["models"]
    lines = [
        "# TFLite latency: float vs dynamic vs full int8 (and int8_mixed), every registered model, one run",
        "",
        f"Command: `{report['command']}`; timed {report.get('timed', report['date'])}; {report['machine']}; load average "
        f"{report.get('load_average_start', '-')} at the start of the timing, {report.get('load_average', '-')} "
        f"at the end, on {os.cpu_count()} cores (shared machine: at 1 thread the CPU-time columns are the steady "
        "figures, wall time is inflated by other jobs). Untrained weights; int8 calibrated on 24 real clips "
        "(FSDD at 8 kHz, Speech Commands at 16 kHz); ai_edge_litert (XNNPACK), batch 1; every file of every "
        f"model timed in the same {report['rounds']} shuffled interleaved rounds (blocks of about "
        f"{report['block_ms']} ms of invokes); times are medians over rounds, ratios the median of each round's "
        "ratio to the same model's float file (paired, so load drift between rounds cancels). Target (issue 13): int8 / float "
        f"<= {TARGET} at 1 thread for every convolutional model, and int8 never slower than float.",
        "",
        "| model | config | params | float ms (1t cpu) | dynamic ms (1t cpu) | int8 ms (1t cpu) | int8 / float (1t cpu) "
        "| dynamic / float (1t cpu) | int8 / float (1t wall) | float ms (2t wall) | int8 ms (2t wall) "
        "| int8 / float (2t wall) | int8_mixed ms (1t cpu) | int8_mixed / float (1t cpu) | float MB | int8 MB "
        "| int8_mixed MB | target (full int8) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def cell(r, variant, threads, clock):
        t = r.get("timing", {}).get(str(threads), {}).get(variant)
        return None if t is None else t[f"{clock}_p50_ms"]

    def paired(r, variant, threads, clock):
        t = r.get("timing", {}).get(str(threads), {}).get(variant, {})
        value = t.get(f"{clock}_ratio_to_float_paired")
        return "-" if value is None else f"{value:.2f}"

    def fmt(v):
        return "-" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.2f}")

    for name, r in rows.items():
        if "timing" not in r:
            lines.append(f"| {name} | {r.get('note', '')} | - | failed: {r.get('error', r.get('errors'))} |")
            continue
        f1, d1, q1, m1 = (cell(r, v, 1, "cpu") for v in VARIANTS)
        f2, q2 = cell(r, "float", 2, "wall"), cell(r, "int8", 2, "wall")
        sizes = r.get("size_mb", {})
        q = ratio_1t(r)
        if q is None:
            verdict = "-"
        elif name in TRANSFORMERS:
            verdict = "int8 slower" if q > 1 else "not slower (transformer: no 0.5x target)"
        else:
            verdict = "met" if q <= TARGET else ("int8 slower" if q > 1 else f"not met (> {TARGET})")
        lines.append(
            f"| {name} | {r['note']} | {r['params'] / 1e6:.2f}M | {fmt(f1)} | {fmt(d1)} | {fmt(q1)} | {paired(r, 'int8', 1, 'cpu')} "
            f"| {paired(r, 'dynamic', 1, 'cpu')} | {paired(r, 'int8', 1, 'wall')} | {fmt(f2)} | {fmt(q2)} "
            f"| {paired(r, 'int8', 2, 'wall')} | {fmt(m1)} | {paired(r, 'int8_mixed', 1, 'cpu')} "
            f"| {sizes.get('float', '-')} | {sizes.get('int8', '-')} | {sizes.get('int8_mixed', '-')} | {verdict} |"
        )
        if r.get("errors"):
            lines.append(f"|  | conversion errors: {r['errors']} |")
    commits = sorted({c for r in rows.values() if "timing" in r for c in (r.get("commits") or {"": r.get("commit", "?")}).values()})
    lines += ["", f"Files converted at commit(s) {', '.join(commits)} (per model in latency.json)."]
    if report.get("profiles"):
        from tfaudio.bench.profile import format_profile

        lines += [
            "",
            "## Per-op profiles (1 thread, CPU time) of the models whose int8 is slowest relative to float",
            "",
            f"Profiled: {', '.join(report['profiled'])} (the {report['profile_top']} highest int8 / float ratios "
            "overall and among the convolutional models). Each op is timed alone on the interpreter "
            "(`tfaudio.bench.profile_tflite`); 'on XNNPACK' says whether the delegate took it.",
            "",
        ]
        for key, profile in report["profiles"].items():
            lines += [f"### {key}", "", format_profile(profile, top=8), ""]
    lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def write_json(report, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, path)


NOTES = [
    "One run: the rows replace the previous latency.md (8 models, 12:50 UTC) and latency_kws.md (ds_cnn and "
    "bc_resnet alone, 15:53 UTC, a load average of 14 falling to 4), which were measured in different runs under "
    "different loads; their figures are in the git history (benchmarks/results/latency*.md before this commit).",
    "This CPU has AVX2 but no AVX-512 VNNI: XNNPACK's int8 GEMMs run at about the speed of its float ones, so "
    "int8 gains mostly where weights are large (dense layers, big backbones); on ARM (sdot) int8 is faster.",
    "Per-op int8 / float on this CPU, one op at a time: benchmarks/results/int8_kernels.md "
    "(`python benchmarks/int8_kernels.py`): compute-bound convs and GEMMs run int8 at 0.84-0.96x float, "
    "small-channel KWS ops (1x1 64->64, depthwise) 1.3-1.8x float, batch-1 dense layers 0.13-0.29x.",
    "PeakNormalization (input_norm='peak'): to_tflite keeps it in float inside full-int8 graphs, so its DIV "
    "and ABS run on XNNPACK (in int8 they were the reference kernels: 60% of SqueezeNet's int8 time).",
    "wav2vec2 and AST are small configs (2 layers, width 64): the full models take too long to convert and "
    "calibrate on this machine. Their full-int8 form is issue 13's item 5 (benchmarks/wav2vec2.py, "
    "benchmarks/ast_bench.py); here they are measured as `to_tflite(quantize='int8')` writes them.",
]


# What the per-op profiles of the 2026-12-01 22:13 UTC run (commit 642922c) and one-off op timings say
# about the rows that miss the target. Dated: a rerun on other code or another CPU must re-read its own tables.
FINDINGS = [
    "Run-to-run spread: two full runs 45 minutes apart (22:13 UTC, in git at commit 642922c, and 22:58 UTC) gave "
    "int8 / float ratios that differ by 0.01-0.06 for most rows and up to 0.13 (squeezenet 0.92 / 0.79, "
    "transformers 0.3-0.6): read a ratio to about +-0.05, resnet50 (0.49 / 0.52) and alexnet (0.51 / 0.48) as at the "
    "0.5x line.",
    "From the per-op tables of the 22:13 UTC run (commit 642922c; the 22:58 run's tables name the same ops, with DS-CNN's first conv at 1.3x and the sinc conv at 0.97x float): where int8 is not faster, the time is in XNNPACK's int8 CONV_2D "
    "kernels, which on this CPU run at 0.7-1.5x float; every op that costs anything is on XNNPACK except "
    "bc_resnet's averages over frequency. SincNet (model zoo, 129 taps): the polyphase sinc CONV_2D "
    "(1x500x16 -> 1280 channels, 144 products per output) is 55% of its int8 time and 1.1x float in the profile; "
    "at polyphase blocks 8 / 16 / 24 / 32 it measured 1.47 / 1.28 / 1.26 / 1.06x float in int8 (one-off "
    "timing of that conv alone), so no block choice makes it faster than float. DS-CNN-M: its first conv "
    "(polyphase, 10 input channels, 40 products per output) is 2.2x float in int8 (0.43 vs 0.20 ms), the two "
    "DFT convs 0.76-0.83x, the 1x1 172 -> 172 convs about 1.0x. BC-ResNet-2: the two DFT convs (half its int8 "
    "time) 0.77-0.91x; its 12 AVERAGE_POOL_2D over frequency run off XNNPACK in int8 (0.121 ms vs 0.036 float).",
    "Tried, not in this code: BC-ResNet's average over frequency as MEAN (0.104 ms int8 for the 13 ops: no gain) "
    "and as a depthwise conv with constant 1/F weights (taken by XNNPACK: the 0.11 ms is gone, 2-6x faster per op "
    "alone; the trained main-job model's int8 test accuracy unchanged at 93.2 %), but the model harness's int8 "
    "top-1 agreement (tests/models/test_model_harness.py, 24 clips) fell from 16 to 14 clips, so it was not landed.",
    "The 0.5x target needs int8 kernels faster than float ones: on this CPU (no VNNI) only models whose time is "
    "in large weights read at batch 1 get there (resnet50 0.49x, alexnet 0.51x). ARM cores with dot-product "
    "instructions (sdot) have fast int8 kernels; the target there needs a device report (benchmarks/devices/, "
    "`tfaudio bench --report`), not measured here.",
    "Transformers (small configs): in int8 the LayerNorms' SQUARED_DIFFERENCE and RSQRT, GELU and BATCH_MATMUL "
    "run off XNNPACK (wav2vec2_large: SQUARED_DIFFERENCE 2.70 + RSQRT 0.29 of its 4.85 ms of int8 ops, from its "
    "layer-norm feature encoder over 1599 frames), and their convolutions are 1.5-1.7x float in int8.",
    "Dynamic range (int8 weights, float activations) is slower than float for ds_cnn (1.19x / 1.29x in the two "
    "runs) and sincnet (1.07x / 1.12x) here: prefer float or full int8 for them on x86.",
    "int8_mixed (`to_tflite(quantize='int8_mixed')`, the deployable int8 form of the transformers): as fast as "
    "full int8 or a little faster (0.0-0.12 lower ratios) for the convolutional models, and faster than float "
    "for the small transformers (their norm statistics and attention stay float, on XNNPACK).",
]


def main():
    from tfaudio.models import available

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows = list(CONFIGS) + [n for n in available() if n not in CONFIGS]
    parser.add_argument("--models", default=",".join(rows), help="Rows (CONFIGS keys or registered names).")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--block-ms", type=float, default=20.0, help="Each file's invokes per round last about this.")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--profile-top", type=int, default=3,
                        help="Per-op profiles of this many highest int8/float models, overall and convolutional.")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "latency_work"),
                        help="Converted files, reused by later runs.")
    parser.add_argument("--reconvert", default="", help="Rows to convert again (comma-separated, or 'all').")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    for name in args.models.split(","):
        if name not in CONFIGS and name not in available():
            raise ValueError(f"Unknown model {name!r}: use one of {rows}. Received: --models={args.models}")

    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "latency.json")
    report = {
        "question": "full int8 vs dynamic vs float TFLite p50 per registered model, all in one run",
        "command": "python benchmarks/latency.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "rounds": args.rounds,
        "block_ms": args.block_ms,
        "profile_top": args.profile_top,
        "models": {},
        "notes": list(NOTES) + FINDINGS,
    }
    reconvert = set(CONFIGS) if args.reconvert == "all" else set(filter(None, args.reconvert.split(",")))
    names = args.models.split(",")
    for name in names:
        model, sample_rate, classes, overrides, note = config(name)
        print(f"converting {name}", flush=True)
        try:
            converted = convert(name, args.work, reconvert=name in reconvert)
        except Exception as e:
            report["models"][name] = {"note": note, "error": f"{type(e).__name__}: {str(e)[:300]}"}
            continue
        report["models"][name] = {
            "note": note, "model": model, "sample_rate": sample_rate, "num_classes": classes,
            "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
            "params": converted["params"], "errors": converted["errors"], "convert_s": converted["convert_s"],
            "commits": converted["commits"], "converted": converted.get("converted"), "files": converted["files"],
            "size_mb": {v: round(os.path.getsize(p) / 1e6, 2) for v, p in converted["files"].items()},
        }  # fmt: skip
        print(f"  {'reused' if converted['reused'] else 'converted'}: {converted['convert_s']}", flush=True)

    files = {(n, v): p for n, r in report["models"].items() for v, p in r.get("files", {}).items()}
    report["load_average_start"] = round(os.getloadavg()[0], 1)
    report["timed"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for threads in args.threads:
        print(f"timing {len(files)} files at {threads} thread(s)", flush=True)
        timing = time_all(files, threads, args.rounds, args.block_ms, seed=threads)
        for (n, v), t in timing.items():
            report["models"][n].setdefault("timing", {}).setdefault(str(threads), {})[v] = t
        report["load_average"] = round(os.getloadavg()[0], 1)
        write_json(report, json_path)  # after every thread count: nothing finished is lost
    for n, r in report["models"].items():
        print(n, r.get("timing", {}).get("1", {}).get("float", {}).get("cpu_p50_ms"),
              r.get("timing", {}).get("1", {}).get("int8", {}).get("cpu_p50_ms"), ratio_1t(r), flush=True)  # fmt: skip

    from tfaudio.bench.profile import profile_tflite

    ranked = sorted((n for n in report["models"] if ratio_1t(report["models"][n])),
                    key=lambda n: -ratio_1t(report["models"][n]))  # fmt: skip
    convolutional = [n for n in ranked if n not in TRANSFORMERS]
    profiled = list(dict.fromkeys(ranked[: args.profile_top] + convolutional[: args.profile_top]))
    report["profiled"], report["profiles"] = profiled, {}
    for name in profiled:
        for variant in ("float", "int8"):
            print(f"profiling {name} {variant}", flush=True)
            profile = profile_tflite(report["models"][name]["files"][variant], num_threads=1, clock="cpu", rounds=7)
            profile["path"] = f"{name}_{variant}.tflite"
            report["profiles"][f"{name} {variant}"] = profile
        write_json(report, json_path)
    report["load_average"] = round(os.getloadavg()[0], 1)
    write_json(report, json_path)
    write_markdown(report, os.path.join(args.out, "latency.md"))
    print(open(os.path.join(args.out, "latency.md")).read())


if __name__ == "__main__":
    main()
