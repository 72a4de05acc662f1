"""Streaming keyword spotting: detection quality, false accepts and latency of streaming .tflite models.

For each trained run folder (`tfaudio train` of a streamable ds_cnn / bc_resnet: time_padding="causal",
input_norm=None) this converts the model to streaming .tflite files (float and full int8, external state,
20 ms hops) and the non-streaming .tflite files (float, int8) of the same model, then runs, on speakers
the model never heard (the test split of the data):

- a long recording of every test keyword clip with 1-2 s of background noise (test `_silence_` clips at
  random gains) between them: hit rate, detection delay after the word's end (energy-based end),
  false accepts among the keywords;
- the same made of the test `_unknown_` clips, and noise-only audio (test `_silence_` clips at random
  gains plus pink noise): false accepts per hour;
- window-aligned accuracy: each keyword clip is placed so that one hop's window is exactly the clip;
  the streaming output at that hop against the non-streaming model's on the clip (float and int8);
- latency (1 thread, p50 of whole calls from Python): one hop of the streaming file against one full
  window of the non-streaming file, and the real-time factor (hop latency / hop duration);
- the detection-error trade-off over the RecognizeCommands threshold (miss rate vs false accepts per
  hour on noise + unknown words), one curve per model and precision, as a PNG.

    python benchmarks/streaming.py --runs RUN_DIR [RUN_DIR ...] --data ../shared/data/speech_commands
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tfaudio.io import load_audio  # noqa: E402
from tfaudio.streaming.detector import Detector, softmax  # noqa: E402

SAMPLE_RATE = 16000
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
HIT_TOLERANCE_SECONDS = 1.0  # a detection up to 1 s after the clip's end still counts as a hit


def word_bounds(clip, frame=160, below_peak_db=30.0):
    """(start, end) samples of the word in a 1 s clip: first/last 10 ms frame within 30 dB of the loudest."""
    frames = clip[: len(clip) // frame * frame].reshape(-1, frame)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.nonzero(energy > energy.max() - below_peak_db)[0]
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


def build_recording(clips, noise, rng, hop, lookahead, window):
    """Clips separated by 1-2 s of noise; each clip starts where a hop's window is exactly the clip.

    Returns (audio, events) with events (clip_start, word_start, word_end, clip_end) in samples.
    """
    parts, events, position = [], [], 0
    for clip in clips:
        gap = int(rng.uniform(1.0, 2.0) * SAMPLE_RATE)
        # Align: the hop ending at clip_end - lookahead must be a multiple of `hop`.
        gap += (-(position + gap + window - lookahead)) % hop
        parts.append(noise_segment(noise, gap, rng))
        position += gap
        start, end = word_bounds(clip)
        events.append((position, position + start, position + end, position + len(clip)))
        parts.append(clip + noise_segment(noise, len(clip), rng) * 0.5)
        position += len(clip)
    parts.append(noise_segment(noise, SAMPLE_RATE, rng))
    return np.concatenate(parts).astype(np.float32), events


def noise_segment(noise, length, rng):
    """`length` samples of background noise: a random noise clip, random gain (-30 to -6 dB)."""
    out = np.empty(length, np.float32)
    filled = 0
    while filled < length:
        source = noise[rng.integers(len(noise))]
        take = min(length - filled, len(source))
        offset = rng.integers(0, len(source) - take + 1)
        out[filled : filled + take] = source[offset : offset + take] * 10 ** (rng.uniform(-30, -6) / 20)
        filled += take
    return out


def pink_noise(length, rng, level_db):
    white = rng.standard_normal(length)
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    pink = np.fft.irfft(spectrum, n=length)
    return (pink / np.abs(pink).max() * 10 ** (level_db / 20)).astype(np.float32)


def smoothed(times, probs, warmup_seconds, average_window_seconds, minimum_count):
    """RecognizeCommands' averaged scores per hop (None where fewer than `minimum_count` hops)."""
    keep = times >= warmup_seconds
    times, probs = times[keep], probs[keep]
    csum = np.concatenate([np.zeros((1, probs.shape[1])), np.cumsum(probs, axis=0)])
    first = np.searchsorted(times, times - average_window_seconds, side="right")
    count = np.arange(1, len(times) + 1) - first
    average = (csum[1:] - csum[first]) / np.maximum(count, 1)[:, None]
    return times, average, count >= minimum_count


def detections(smooth, labels, threshold, suppression_seconds, ignore=("_silence_", "_unknown_")):
    """The `RecognizeCommands` decisions on pre-averaged scores (same rule, one pass per threshold)."""
    times, average, enough = smooth
    top = np.argmax(average, axis=1)
    score = average[np.arange(len(top)), top]
    candidates = np.nonzero(enough & (score > threshold))[0]
    found, previous, previous_time = [], None, -np.inf
    for k in candidates:
        label = labels[top[k]]
        if label == previous and times[k] - previous_time <= suppression_seconds:
            continue
        previous, previous_time = label, times[k]
        if label not in ignore:
            found.append((float(times[k]), label, float(score[k])))
    return found


def score_keywords(found, events, event_labels):
    """Hits, delays (s after the word's end) and false accepts of detections on the keyword recording."""
    matched = [False] * len(events)
    delays, false_accepts = [], 0
    for t, label, _ in found:
        sample = t * SAMPLE_RATE
        hit = None
        for i, (clip_start, word_start, word_end, clip_end) in enumerate(events):
            if not matched[i] and word_start <= sample <= clip_end + HIT_TOLERANCE_SECONDS * SAMPLE_RATE:
                if event_labels[i] == label:
                    hit = i
                    break
        if hit is None:
            false_accepts += 1
        else:
            matched[hit] = True
            delays.append(t - events[hit][2] / SAMPLE_RATE)
    return sum(matched) / len(events), delays, false_accepts


def p50_ms(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.percentile(times, 50))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="tfaudio train run folders of streamable models.")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "speech_commands"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "streaming"))
    parser.add_argument("--noise-minutes", type=float, default=5.0)
    parser.add_argument("--threshold", type=float, default=0.7, help="Operating threshold of the table.")
    parser.add_argument("--average-window", type=float, default=0.5)
    parser.add_argument("--suppression", type=float, default=1.0)
    parser.add_argument("--minimum-count", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from tfaudio.data.speech_commands import speech_commands_files

    train, test, labels = speech_commands_files(args.data)
    by_label = {}
    for path, y in zip(test.paths, test.labels):
        by_label.setdefault(labels[y], []).append(load_audio(path, sample_rate=SAMPLE_RATE)[0])
    noise = by_label["_silence_"]
    rng = np.random.default_rng(args.seed)
    settings = dict(
        average_window_seconds=args.average_window,
        suppression_seconds=args.suppression,
        minimum_count=args.minimum_count,
    )

    results, curves = [], {}
    for run in args.runs:
        results_run, curves_run = benchmark_run(run, train, labels, by_label, noise, rng, args, settings)
        results += results_run
        curves.update(curves_run)

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    report = {
        "data": args.data,
        "test_clips": {k: len(v) for k, v in by_label.items()},
        "settings": {"threshold": args.threshold, **settings, "hop_seconds": 0.02,
                     "hit_tolerance_seconds": HIT_TOLERANCE_SECONDS},  # fmt: skip
        "machine": os.uname().machine,
        "results": results,
        "det_curves": curves,
    }
    with open(args.out + ".json.partial", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.out + ".json.partial", args.out + ".json")
    write_markdown(report, args.out + ".md")
    draw_det(curves, args.out + "_det.png")
    print(open(args.out + ".md").read())


def benchmark_run(run, train, labels, by_label, noise, rng, args, settings):
    from tfaudio.export import TFLiteModel, to_tflite
    from tfaudio.models import load
    from tfaudio.streaming import StreamingModel, to_streaming_tflite

    run = pathlib.Path(run)
    model_file = run / "checkpoints" / "best.keras" if (run / "checkpoints" / "best.keras").is_file() else run / "model.keras"
    model = load(str(model_file))
    run_labels = json.load(open(run / "labels.json"))
    name = f"{model.name} ({run.name})"
    frontend = next(layer for layer in model.layers if hasattr(layer, "frame_step") and hasattr(layer, "fft_length"))
    stream = StreamingModel(model, frames_per_hop=max(1, round(0.02 * SAMPLE_RATE / frontend.frame_step)))  # 20 ms hops
    hop, window, lookahead = stream.hop_samples, stream.window_samples, stream.lookahead_samples

    # Calibration: 60 training clips back to back (speakers of the training split only).
    picks = rng.choice(len(train.paths), size=60, replace=False)
    calibration_clips = [load_audio(train.paths[i], sample_rate=SAMPLE_RATE)[0] for i in picks]
    calibration_audio = np.concatenate(calibration_clips)

    keyword_clips, keyword_labels = [], []
    for word in KEYWORDS:
        keyword_clips += by_label[word]
        keyword_labels += [word] * len(by_label[word])
    order = rng.permutation(len(keyword_clips))
    keyword_clips = [keyword_clips[i] for i in order]
    keyword_labels = [keyword_labels[i] for i in order]
    keyword_audio, keyword_events = build_recording(keyword_clips, noise, rng, hop, lookahead, window)
    unknown_audio, _ = build_recording(by_label["_unknown_"], noise, rng, hop, lookahead, window)
    noise_parts, total = [], 0
    while total < args.noise_minutes * 60 * SAMPLE_RATE:
        part = noise_segment(noise, 5 * SAMPLE_RATE, rng) if rng.uniform() < 0.7 else pink_noise(
            5 * SAMPLE_RATE, rng, rng.uniform(-40, -10))
        noise_parts.append(part)
        total += len(part)
    noise_audio = np.concatenate(noise_parts)

    folder = tempfile.mkdtemp(prefix="tfaudio_streaming_bench_")
    results, curves = [], {}
    for precision in ("float", "int8"):
        quantize = None if precision == "float" else "int8"
        window_path = to_tflite(
            model, os.path.join(folder, f"window_{precision}.tflite"), quantize=quantize,
            representative_data=np.stack(calibration_clips),
        )  # fmt: skip
        # int8: the streaming file takes the non-streaming int8 file's quantisation parameters.
        stream_path = to_streaming_tflite(
            stream, os.path.join(folder, f"stream_{precision}.tflite"), quantize=quantize,
            representative_audio=[calibration_audio], max_calibration_hops=400, labels=run_labels,
            like=window_path if quantize else None,
        )  # fmt: skip
        detector = Detector(stream_path, threshold=args.threshold, **settings)
        warmup = window / SAMPLE_RATE
        scores = {}
        for key, audio in (("keywords", keyword_audio), ("unknown", unknown_audio), ("noise", noise_audio)):
            detector.reset()
            scores[key] = detector.scores(audio)

        # Window-aligned accuracy: the hop whose window is exactly each keyword clip.
        times, probs = scores["keywords"]
        aligned = [int(round((clip_end - lookahead) / hop)) - 1 for (_, _, _, clip_end) in keyword_events]
        stream_top = [run_labels[int(np.argmax(probs[k]))] for k in aligned]
        window_model = TFLiteModel(window_path)
        # The same samples the stream saw at that hop (the clip with the recording's noise mixed in).
        aligned_windows = np.stack([keyword_audio[clip_end - window : clip_end] for (_, _, _, clip_end) in keyword_events])
        window_logits = window_model.predict(aligned_windows, batch_size=1)
        window_top = [run_labels[int(i)] for i in np.argmax(window_logits, axis=1)]
        truth = np.array(keyword_labels)

        smooth = {key: smoothed(*scores[key], warmup, settings["average_window_seconds"], settings["minimum_count"])
                  for key in scores}  # fmt: skip

        def rates(threshold):
            suppression = settings["suppression_seconds"]
            found = detections(smooth["keywords"], run_labels, threshold, suppression)
            hit_rate, delays, keyword_fa = score_keywords(found, keyword_events, keyword_labels)
            fa_unknown = len(detections(smooth["unknown"], run_labels, threshold, suppression))
            fa_noise = len(detections(smooth["noise"], run_labels, threshold, suppression))
            return hit_rate, delays, keyword_fa, fa_unknown, fa_noise

        hours = {key: (len(audio) / SAMPLE_RATE - warmup) / 3600 for key, audio in
                 (("unknown", unknown_audio), ("noise", noise_audio))}  # fmt: skip
        hit_rate, delays, keyword_fa, fa_unknown, fa_noise = rates(args.threshold)
        curve = []
        for threshold in np.round(np.linspace(0.3, 0.99, 24), 3):
            h, _, _, fu, fn = rates(float(threshold))
            curve.append({"threshold": float(threshold), "miss_rate": 1 - h, "hit_rate": h,
                          "fa_per_hour_noise": fn / hours["noise"], "fa_per_hour_unknown": fu / hours["unknown"],
                          "fa_per_hour": (fn + fu) / (hours["noise"] + hours["unknown"])})  # fmt: skip
        curves[f"{name} {precision}"] = curve
        # The lowest threshold meeting < 2 false accepts per hour on noise, and its hit rate.
        meeting = [c for c in curve if c["fa_per_hour_noise"] < 2]

        runner = detector.runner
        hop_audio = keyword_audio[:hop]
        runner.reset()
        hop_ms = p50_ms(lambda: runner.step(hop_audio), 500)
        window_ms = p50_ms(lambda: window_model(keyword_clips[0][None]), 100)
        results.append({
            "model": name,
            "precision": precision,
            "keywords": len(keyword_events),
            "hit_rate": hit_rate,
            "false_accepts_among_keywords": keyword_fa,
            "fa_per_hour_noise": fa_noise / hours["noise"],
            "fa_per_hour_unknown": fa_unknown / hours["unknown"],
            "noise_hours": hours["noise"],
            "unknown_hours": hours["unknown"],
            "delay_p50_seconds": float(np.median(delays)) if delays else None,
            "delay_p90_seconds": float(np.percentile(delays, 90)) if delays else None,
            "stream_accuracy": float(np.mean(np.array(stream_top) == truth)),
            "window_accuracy": float(np.mean(np.array(window_top) == truth)),
            "stream_window_top1_agreement": float(np.mean(np.array(stream_top) == np.array(window_top))),
            "hop_ms_p50": hop_ms,
            "window_ms_p50": window_ms,
            "window_over_hop": window_ms / hop_ms,
            "real_time_factor": hop_ms / (1000.0 * hop / SAMPLE_RATE),
            "threshold_for_under_2_fa_per_hour_noise": meeting[0]["threshold"] if meeting else None,
            "hit_rate_there": meeting[0]["hit_rate"] if meeting else None,
            "stream_size_bytes": os.path.getsize(stream_path),
            "exact_per_window": stream.exact,
        })  # fmt: skip
        print(json.dumps(results[-1]), flush=True)
    return results, curves


def write_markdown(report, path):
    s = report["settings"]
    lines = [
        "# Streaming keyword spotting (benchmarks/streaming.py)",
        "",
        f"Test speakers only ({report['test_clips']}); 20 ms hops, external state; RecognizeCommands threshold "
        f"{s['threshold']}, window {s['average_window_seconds']} s, suppression {s['suppression_seconds']} s, "
        f"minimum count {s['minimum_count']}; a hit is the right label between the word's start and "
        f"{s['hit_tolerance_seconds']} s after the clip. Latency: p50 of whole calls from Python, 1 thread, {report['machine']}.",
        "",
        "| model | precision | hit rate | FA/h noise | FA/h unknown | delay p50 (s) | window acc. stream / non-stream | "
        "top-1 agreement | hop ms | window ms | window/hop | RTF | thr. for <2 FA/h noise (hit rate) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        meet = (f"{r['threshold_for_under_2_fa_per_hour_noise']:.2f} ({100 * r['hit_rate_there']:.1f}%)"
                if r["threshold_for_under_2_fa_per_hour_noise"] is not None else "none")  # fmt: skip
        delay = f"{r['delay_p50_seconds']:.2f}" if r["delay_p50_seconds"] is not None else "-"
        lines.append(
            f"| {r['model']} | {r['precision']} | {100 * r['hit_rate']:.1f}% | {r['fa_per_hour_noise']:.1f} | "
            f"{r['fa_per_hour_unknown']:.1f} | {delay} | {100 * r['stream_accuracy']:.1f}% / "
            f"{100 * r['window_accuracy']:.1f}% | {100 * r['stream_window_top1_agreement']:.1f}% | "
            f"{r['hop_ms_p50']:.3f} | {r['window_ms_p50']:.3f} | {r['window_over_hop']:.1f}x | "
            f"{r['real_time_factor']:.3f} | {meet} |"
        )
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def draw_det(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, curve in curves.items():
        fa = [max(c["fa_per_hour"], 0.1) for c in curve]
        ax.plot(fa, [100 * c["miss_rate"] for c in curve], marker=".", label=name,
                linestyle="--" if name.endswith("int8") else "-")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("false accepts per hour (noise-only + unknown words; 0 drawn at 0.1)")
    ax.set_ylabel("miss rate (%)")
    ax.set_title("Detection-error trade-off over the detector threshold")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path + ".partial.png", dpi=110)
    os.replace(path + ".partial.png", path)


if __name__ == "__main__":
    main()
