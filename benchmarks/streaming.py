"""Streaming keyword spotting: detection quality, false accepts and latency of streaming .tflite models.

For each trained run folder (`tfaudio train` of a streamable ds_cnn / bc_resnet: time_padding="valid",
input_norm=None) this converts the model to streaming .tflite files (float and full int8, external and
internal state) and the non-streaming .tflite files (float, int8) of the same model, then
builds long recordings twice, from the run's VALIDATION speakers and from its TEST speakers (never
heard in training):

- every keyword clip with 1-2 s of background noise (`_silence_` clips at random gains) between them:
  hit rate, detection delay after the word's end (energy-based end), false accepts among the keywords;
- the same made of the `_unknown_` clips, and noise-only audio (`_silence_` clips at random gains plus
  pink noise): false accepts per hour.

The RecognizeCommands parameters (averaging window, suppression, threshold) are chosen on the
validation recordings: under 2 false accepts per hour on noise, the highest threshold within one point
of the best hit rate (`tune`). The test recordings are then scored once at that setting. Also measured:

- window-aligned accuracy: each keyword clip is placed so that one hop's window is exactly the clip;
  the streaming output at that hop (external and internal state) against the non-streaming file's on
  the same samples (float and int8);
- latency (1 thread, p50 of whole calls from Python, interleaved rounds): one hop of each streaming
  file (external and internal state, and its bare `invoke`) against one full window of the
  non-streaming file, and the real-time factor (hop latency / hop duration);
- the detection-error trade-off over the threshold (miss rate vs false accepts per hour on noise +
  unknown words, test recordings, validation-chosen smoothing), one curve per model and precision, as a PNG.

Phases (`--phases`): "all" streams 20 ms hops and computes every phase of each time stride (an exact
output at every hop); "one" computes only the frames each hop's window reads
(`StreamingModel(all_phases=False)`), with hops of the smallest multiple of the model's time stride
that holds 20 ms.

    python benchmarks/streaming.py --runs RUN_DIR [RUN_DIR ...] [--phases all,one]
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
from tfaudio.streaming.detector import Detector  # noqa: E402

SAMPLE_RATE = 16000
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
IGNORED = ("_silence_", "_unknown_")
HIT_TOLERANCE_SECONDS = 1.0  # a detection up to 1 s after the clip's end still counts as a hit
# Searched on the validation recordings. The minimum count stays 3: with 20 ms hops a 0.3 s window
# holds 15 hops, so the count only matters in the first hops after the warm-up.
AVERAGE_WINDOWS = (0.3, 0.5, 0.75, 1.0)
SUPPRESSIONS = (0.5, 1.0, 1.5)
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.30, 0.991, 0.01), 3))
MINIMUM_COUNT = 3
MAX_FA_PER_HOUR_NOISE = 2.0
HIT_RATE_SLACK = 0.01  # validation hit rate given up for a safer (higher) threshold


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


def recordings(by_label, seed, hop, lookahead, window, noise_minutes):
    """The keyword, unknown-word and noise-only recordings of one split (the same for every model with this hop)."""
    rng = np.random.default_rng(seed)
    noise = by_label["_silence_"]
    clips, labels = [], []
    for word in KEYWORDS:
        clips += by_label[word]
        labels += [word] * len(by_label[word])
    order = rng.permutation(len(clips))
    clips, labels = [clips[i] for i in order], [labels[i] for i in order]
    keyword_audio, events = build_recording(clips, noise, rng, hop, lookahead, window)
    unknown_audio, _ = build_recording(by_label["_unknown_"], noise, rng, hop, lookahead, window)
    parts, total = [], 0
    while total < noise_minutes * 60 * SAMPLE_RATE:
        part = noise_segment(noise, 5 * SAMPLE_RATE, rng) if rng.uniform() < 0.7 else pink_noise(
            5 * SAMPLE_RATE, rng, rng.uniform(-40, -10))
        parts.append(part)
        total += len(part)
    return {"keywords": keyword_audio, "events": events, "event_labels": labels, "clips": clips,
            "unknown": unknown_audio, "noise": np.concatenate(parts)}  # fmt: skip


def smoothed(times, probs, warmup_seconds, average_window_seconds, minimum_count):
    """RecognizeCommands' averaged scores per hop (None where fewer than `minimum_count` hops)."""
    keep = times >= warmup_seconds
    times, probs = times[keep], probs[keep]
    csum = np.concatenate([np.zeros((1, probs.shape[1])), np.cumsum(probs, axis=0)])
    first = np.searchsorted(times, times - average_window_seconds, side="right")
    count = np.arange(1, len(times) + 1) - first
    average = (csum[1:] - csum[first]) / np.maximum(count, 1)[:, None]
    top = np.argmax(average, axis=1)
    return times, top, average[np.arange(len(top)), top], count >= minimum_count


def detections(smooth, labels, threshold, suppression_seconds, ignore=IGNORED):
    """The `RecognizeCommands` decisions on pre-averaged scores (the same rule as the class, vectorised)."""
    times, top, score, enough = smooth
    candidates = np.nonzero(enough & (score > threshold))[0]
    label = top[candidates]
    ignored = np.isin(np.array(labels)[label], ignore)
    # A run of one ignored label is never reported; only its label matters to what follows.
    keep = np.ones(len(candidates), bool)
    keep[1:] = ~(ignored[1:] & (label[1:] == label[:-1]))
    candidates, label, ignored = candidates[keep], label[keep], ignored[keep]
    found, previous, previous_time = [], None, -np.inf
    for k, lab, ign in zip(candidates, label, ignored):
        if lab == previous and times[k] - previous_time <= suppression_seconds:
            continue
        previous, previous_time = lab, times[k]
        if not ign:
            found.append((float(times[k]), labels[lab], float(score[k])))
    return found


def score_keywords(found, events, event_labels):
    """Hits, delays (s after the word's end) and false accepts of detections on the keyword recording."""
    starts = np.array([e[1] for e in events])
    ends = np.array([e[3] for e in events]) + HIT_TOLERANCE_SECONDS * SAMPLE_RATE
    matched = np.zeros(len(events), bool)
    delays, false_accepts = [], 0
    for t, label, _ in found:
        sample = t * SAMPLE_RATE
        last = int(np.searchsorted(starts, sample, side="right")) - 1
        hit = None
        for i in (last - 1, last):  # gaps of >= 1 s: at most two events' spans hold a time
            if i >= 0 and not matched[i] and starts[i] <= sample <= ends[i] and event_labels[i] == label:
                hit = i
                break
        if hit is None:
            false_accepts += 1
        else:
            matched[hit] = True
            delays.append(t - events[hit][2] / SAMPLE_RATE)
    return float(matched.mean()), delays, false_accepts


def operating_point(scores, recs, labels, warmup, average_window, suppression, threshold):
    """Hit rate, delays, false accepts (counts and per hour) of one RecognizeCommands setting."""
    smooth = {key: smoothed(*scores[key], warmup, average_window, MINIMUM_COUNT) for key in scores}
    return _rates(smooth, recs, labels, warmup, suppression, threshold)


def _rates(smooth, recs, labels, warmup, suppression, threshold):
    found = detections(smooth["keywords"], labels, threshold, suppression)
    hit_rate, delays, keyword_fa = score_keywords(found, recs["events"], recs["event_labels"])
    out = {"hit_rate": hit_rate, "delays": delays, "false_accepts_among_keywords": keyword_fa}
    for key in ("unknown", "noise"):
        count = len(detections(smooth[key], labels, threshold, suppression))
        hours = (len(recs[key]) / SAMPLE_RATE - warmup) / 3600
        out[f"fa_{key}"] = count
        out[f"fa_per_hour_{key}"] = count / hours
        out[f"{key}_hours"] = hours
    return out


def tune(scores, recs, labels, warmup):
    """The (average window, suppression, threshold) to score the test recordings at.

    Among the settings under the noise FA limit on the validation recordings, the highest threshold whose hit
    rate is within HIT_RATE_SLACK of the best one (ties: fewer false accepts on unknown words, then among the
    keywords). The lowest threshold with no validation false accept sits on the edge of the noise that
    recording happens to hold (measured: 5-11 FA/h on the test noise at the threshold that had none on 60 min
    of validation noise); the slack buys a margin for at most one point of hit rate.
    """
    candidates = []
    for average_window in AVERAGE_WINDOWS:
        smooth = {key: smoothed(*scores[key], warmup, average_window, MINIMUM_COUNT) for key in scores}
        for suppression in SUPPRESSIONS:
            for threshold in THRESHOLDS:
                r = _rates(smooth, recs, labels, warmup, suppression, threshold)
                if r["fa_per_hour_noise"] < MAX_FA_PER_HOUR_NOISE:
                    candidates.append(({"average_window_seconds": average_window, "suppression_seconds": suppression,
                                        "threshold": threshold}, r))  # fmt: skip
    if not candidates:
        return None
    best_hit = max(r["hit_rate"] for _, r in candidates)
    setting, r = max(
        (c for c in candidates if c[1]["hit_rate"] >= best_hit - HIT_RATE_SLACK),
        key=lambda c: (c[0]["threshold"], -c[1]["fa_per_hour_unknown"], -c[1]["false_accepts_among_keywords"], c[1]["hit_rate"]),
    )
    return {**setting, "validation": _summary(r)}


def _summary(r):
    delays = r["delays"]
    out = {k: v for k, v in r.items() if k != "delays"}
    out["delay_p50_seconds"] = float(np.median(delays)) if delays else None
    out["delay_p90_seconds"] = float(np.percentile(delays, 90)) if delays else None
    return out


def p50_ms(times):
    return float(np.percentile(times, 50) * 1000.0)


def timed(fn, count):
    out = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def latencies(calls, rounds=30, per_round=40):
    """p50 ms of each `name: (zero-argument call, weight)`, timed in interleaved rounds (load on the machine hits
    all alike); a call of weight w runs `per_round / w` times per round."""
    times = {name: [] for name in calls}
    for fn, _ in calls.values():
        fn()
    for _ in range(rounds):
        for name, (fn, weight) in calls.items():
            times[name] += timed(fn, max(1, per_round // weight))
    return {name: p50_ms(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="tfaudio train run folders of streamable models.")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "streaming"))
    parser.add_argument("--noise-minutes", type=float, default=30.0, help="Noise-only audio of the test recordings.")
    parser.add_argument("--validation-noise-minutes", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phases", default="all",
                        help="Comma-separated: all (every phase of each stride, 20 ms hops), one (only the frames each "
                        "hop's window reads, hops a multiple of the time stride).")
    parser.add_argument("--files", default=None, metavar="DIR",
                        help="Keep the converted .tflite files here (one folder per run) and reuse the ones present.")
    args = parser.parse_args()

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not phases or set(phases) - {"all", "one"}:
        raise SystemExit(f"--phases takes all and/or one. Received: {args.phases!r}")
    results, curves = [], {}
    for run in args.runs:
        for phase in phases:
            results_run, curves_run = benchmark_run(run, args, all_phases=phase == "all")
            results += results_run
            curves.update(curves_run)

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    report = {
        "settings": {"phases": phases, "hit_tolerance_seconds": HIT_TOLERANCE_SECONDS, "minimum_count": MINIMUM_COUNT,
                     "average_windows": AVERAGE_WINDOWS, "suppressions": SUPPRESSIONS,
                     "thresholds": [THRESHOLDS[0], THRESHOLDS[-1], len(THRESHOLDS)],
                     "max_fa_per_hour_noise": MAX_FA_PER_HOUR_NOISE, "hit_rate_slack": HIT_RATE_SLACK,
                     "noise_minutes": args.noise_minutes, "validation_noise_minutes": args.validation_noise_minutes},
        "machine": os.uname().machine,
        "load_average_at_end": os.getloadavg(),
        "results": results,
        "det_curves": curves,
    }  # fmt: skip
    with open(args.out + ".json.partial", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.out + ".json.partial", args.out + ".json")
    write_markdown(report, args.out + ".md")
    draw_det(curves, args.out + "_det.png")
    print(open(args.out + ".md").read())


def _clips_by_label(split, labels):
    out = {}
    for path, y in zip(split.paths, split.labels):
        out.setdefault(labels[y], []).append(load_audio(path, sample_rate=SAMPLE_RATE)[0])
    return out


def benchmark_run(run, args, all_phases=True):
    from tfaudio.data import files_from_spec
    from tfaudio.export import TFLiteModel, to_tflite
    from tfaudio.models import load
    from tfaudio.streaming import StreamingModel, StreamingRunner, to_streaming_tflite

    run = pathlib.Path(run)
    model_file = run / "checkpoints" / "best.keras" if (run / "checkpoints" / "best.keras").is_file() else run / "model.keras"
    model = load(str(model_file))
    run_labels = json.load(open(run / "labels.json"))
    config = json.load(open(run / "run_config.json"))
    splits = files_from_spec(config["data"])  # the run's own speaker split
    train, test, labels = splits
    if splits.validation is None:
        raise SystemExit(f"{run}: its data has no validation split to tune the detector on")
    frontend = next(layer for layer in model.layers if hasattr(layer, "frame_step") and hasattr(layer, "fft_length"))
    frames = max(1, round(0.02 * SAMPLE_RATE / frontend.frame_step))  # 20 ms hops
    if not all_phases:
        stride = StreamingModel(model).time_stride
        frames = -(-frames // stride) * stride
    stream = StreamingModel(model, frames_per_hop=frames, all_phases=all_phases)
    hop_ms = 1000 * stream.hop_samples / SAMPLE_RATE
    name = f"{model.name} ({run.name}, {'every phase' if all_phases else 'one phase'}, {hop_ms:g} ms hops)"
    tag = "" if all_phases else "_one_phase"
    hop, window, lookahead = stream.hop_samples, stream.window_samples, stream.lookahead_samples
    recs = {
        "validation": recordings(_clips_by_label(splits.validation, labels), args.seed + 1, hop, lookahead, window,
                                 args.validation_noise_minutes),
        "test": recordings(_clips_by_label(test, labels), args.seed, hop, lookahead, window, args.noise_minutes),
    }  # fmt: skip
    counts = {split: len(r["events"]) for split, r in recs.items()}

    # Calibration: 60 training clips back to back (speakers of the training split only).
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(train.paths), size=60, replace=False)
    calibration_clips = [load_audio(train.paths[i], sample_rate=SAMPLE_RATE)[0] for i in picks]
    calibration_audio = np.concatenate(calibration_clips)

    if args.files:
        folder = os.path.join(args.files, run.name)  # window files are shared by both phase modes
        os.makedirs(folder, exist_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="tfaudio_streaming_bench_")

    def converted(name, convert):
        path = os.path.join(folder, name)
        return path if args.files and os.path.isfile(path) else convert(path)

    results, curves = [], {}
    warmup = window / SAMPLE_RATE
    for precision in ("float", "int8"):
        quantize = None if precision == "float" else "int8"
        window_path = converted(f"window_{precision}.tflite", lambda path: to_tflite(
            model, path, quantize=quantize, representative_data=np.stack(calibration_clips)))  # fmt: skip
        # int8: the streaming files take the non-streaming int8 file's quantisation parameters.
        paths = {
            state: converted(f"stream_{state}_{precision}{tag}.tflite", lambda path, state=state: to_streaming_tflite(
                stream, path, state=state, quantize=quantize, representative_audio=[calibration_audio],
                max_calibration_hops=400, labels=run_labels, like=window_path if quantize else None))
            for state in ("external", "internal")
        }  # fmt: skip
        detector = Detector(paths["external"])
        scores = {}
        for split in recs:
            for key in ("keywords", "unknown", "noise"):
                detector.reset()
                scores[split, key] = detector.scores(recs[split][key])
        setting = tune({k: scores["validation", k] for k in ("keywords", "unknown", "noise")}, recs["validation"],
                       run_labels, warmup)  # fmt: skip
        test_scores = {k: scores["test", k] for k in ("keywords", "unknown", "noise")}
        if setting is None:  # nothing meets the limit on validation: report the strictest setting
            setting = {"average_window_seconds": 1.0, "suppression_seconds": 1.5, "threshold": THRESHOLDS[-1],
                       "validation": None}  # fmt: skip
        test_point = _summary(operating_point(test_scores, recs["test"], run_labels, warmup,
                                              setting["average_window_seconds"], setting["suppression_seconds"],
                                              setting["threshold"]))  # fmt: skip

        # DET over the threshold at the chosen window and suppression (test recordings).
        smooth = {key: smoothed(*test_scores[key], warmup, setting["average_window_seconds"], MINIMUM_COUNT)
                  for key in test_scores}  # fmt: skip
        curve = []
        for threshold in THRESHOLDS[::3]:
            r = _rates(smooth, recs["test"], run_labels, warmup, setting["suppression_seconds"], threshold)
            fa_all = (r["fa_noise"] + r["fa_unknown"]) / (r["noise_hours"] + r["unknown_hours"])
            curve.append({"threshold": threshold, "miss_rate": 1 - r["hit_rate"], "hit_rate": r["hit_rate"],
                          "fa_per_hour_noise": r["fa_per_hour_noise"], "fa_per_hour_unknown": r["fa_per_hour_unknown"],
                          "fa_per_hour": fa_all})  # fmt: skip
        curves[f"{name} {precision}"] = curve

        # Window-aligned accuracy: the hop whose window is exactly each keyword clip (test speakers).
        test_recs = recs["test"]
        events = test_recs["events"]
        aligned = [int(round((clip_end - lookahead) / hop)) - 1 for (_, _, _, clip_end) in events]
        external_top = np.argmax(scores["test", "keywords"][1][aligned], axis=1)
        internal = Detector(paths["internal"])
        internal_top = np.argmax(internal.scores(test_recs["keywords"])[1][aligned], axis=1)
        window_model = TFLiteModel(window_path)
        # The same samples the stream saw at that hop (the clip with the recording's noise mixed in).
        aligned_windows = np.stack([test_recs["keywords"][end - window : end] for (_, _, _, end) in events])
        window_top = np.argmax(window_model.predict(aligned_windows, batch_size=1), axis=1)
        truth = np.array([run_labels.index(w) for w in test_recs["event_labels"]])

        # Latency: whole calls from Python, and the bare invoke of the step.
        runners = {state: StreamingRunner(path) for state, path in paths.items()}
        hop_audio = test_recs["keywords"][:hop]
        clip = test_recs["clips"][0][None]
        calls = {
            "hop_external": (lambda: runners["external"].step(hop_audio), 1),
            "hop_internal": (lambda: runners["internal"].step(hop_audio), 1),
            "invoke_external": (runners["external"].invoke, 1),
            "invoke_internal": (runners["internal"].invoke, 1),
            "window": (lambda: window_model(clip), 5),
        }
        ms = latencies(calls)
        results.append({
            "model": name,
            "precision": precision,
            "all_phases": all_phases,
            "hop_seconds": stream.hop_samples / SAMPLE_RATE,
            "test_keywords": counts["test"],
            "validation_keywords": counts["validation"],
            "setting": {k: setting[k] for k in ("average_window_seconds", "suppression_seconds", "threshold")},
            "validation": setting["validation"],
            "test": test_point,
            "stream_accuracy": float(np.mean(external_top == truth)),
            "stream_internal_accuracy": float(np.mean(internal_top == truth)),
            "window_accuracy": float(np.mean(window_top == truth)),
            "stream_window_top1_agreement": float(np.mean(external_top == window_top)),
            "internal_window_top1_agreement": float(np.mean(internal_top == window_top)),
            "latency_ms_p50": ms,
            "window_over_hop": ms["window"] / ms["hop_external"],
            "window_over_hop_internal": ms["window"] / ms["hop_internal"],
            "real_time_factor": ms["hop_external"] / (1000.0 * hop / SAMPLE_RATE),
            "stream_size_bytes": os.path.getsize(paths["external"]),
            "num_states": len(stream.state_specs),
            "state_floats": int(sum(np.prod(shape) for _, shape in stream.state_specs)),
            "exact_per_window": stream.exact,
            "load_average": os.getloadavg(),
        })  # fmt: skip
        print(json.dumps(results[-1]), flush=True)
    return results, curves


def write_markdown(report, path):
    s = report["settings"]
    lines = [
        "# Streaming keyword spotting (benchmarks/streaming.py)",
        "",
        f"Hops as named per row. RecognizeCommands window, suppression and threshold chosen on recordings of the run's "
        f"VALIDATION speakers (under {s['max_fa_per_hour_noise']:g} false accepts/h on "
        f"{s['validation_noise_minutes']:g} min of noise, the highest threshold within "
        f"{100 * s.get('hit_rate_slack', 0):g} point of the best hit rate; minimum count {s['minimum_count']}), then scored once on "
        f"recordings of its TEST speakers ({s['noise_minutes']:g} min of noise). A hit is the right label between "
        f"the word's start and {s['hit_tolerance_seconds']} s after the clip. Latency: p50 of whole calls from "
        f"Python, 1 thread, {report['machine']}, interleaved rounds (load average at the end "
        f"{report['load_average_at_end'][0]:.1f}).",
        "",
        "| model | precision | setting (window s / suppression s / threshold) | validation hit rate | "
        "test hit rate | test FA/h noise | test FA/h unknown | delay p50 (s) | "
        "window acc. stream ext / int / non-stream | top-1 agreement ext / int |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        t, v, st = r["test"], r["validation"], r["setting"]
        delay = f"{t['delay_p50_seconds']:.2f}" if t["delay_p50_seconds"] is not None else "-"
        lines.append(
            f"| {r['model']} | {r['precision']} | {st['average_window_seconds']} / {st['suppression_seconds']} / "
            f"{st['threshold']:.2f} | {100 * v['hit_rate']:.1f}% | " if v else f"| {r['model']} | {r['precision']} | none | - | "
        )
        lines[-1] += (
            f"{100 * t['hit_rate']:.1f}% | {t['fa_per_hour_noise']:.1f} ({t['fa_noise']}) | "
            f"{t['fa_per_hour_unknown']:.1f} | {delay} | {100 * r['stream_accuracy']:.1f}% / "
            f"{100 * r['stream_internal_accuracy']:.1f}% / {100 * r['window_accuracy']:.1f}% | "
            f"{100 * r['stream_window_top1_agreement']:.1f}% / {100 * r['internal_window_top1_agreement']:.1f}% |"
        )
    lines += [
        "",
        "Latency of one call (a hop) against one full window of the non-streaming file; CPU per second of audio "
        "= hop latency x hops per second, against running the window file once per hop.",
        "",
        "| model | precision | states (floats) | hop ms ext (invoke) | hop ms int (invoke) | window ms | "
        "window / hop ext, int | RTF ext | ms per audio s: stream ext / window per hop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        ms = r["latency_ms_p50"]
        hops_per_second = 1.0 / r.get("hop_seconds", 0.02)
        floats = f" ({r['state_floats']:,})" if "state_floats" in r else ""
        lines.append(
            f"| {r['model']} | {r['precision']} | {r['num_states']}{floats} | {ms['hop_external']:.3f} ({ms['invoke_external']:.3f}) | "
            f"{ms['hop_internal']:.3f} ({ms['invoke_internal']:.3f}) | {ms['window']:.3f} | "
            f"{r['window_over_hop']:.1f}x, {r['window_over_hop_internal']:.1f}x | {r['real_time_factor']:.3f} | "
            f"{ms['hop_external'] * hops_per_second:.1f} / {ms['window'] * hops_per_second:.1f} |"
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
    ax.set_title("Detection-error trade-off over the threshold (test speakers)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path + ".partial.png", dpi=110)
    os.replace(path + ".partial.png", path)


if __name__ == "__main__":
    main()
