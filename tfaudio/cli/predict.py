"""`tfaudio predict`: classify audio files or folders of any length, rate and channel count.

With a `.tflite` model this command imports no TensorFlow (LiteRT + NumPy + soundfile).
"""

import csv
import io
import json
import sys

HELP = (
    "Classify audio files or folders of any length with a model (run folder, .keras, .tflite or SavedModel). "
    "Exit status 1 when some files could not be read (they are reported by name; the others are classified)."
)


def add_arguments(parser):
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Audio files or folders (searched recursively).")
    parser.add_argument("--model", required=True, help="Run folder, .keras, .tflite or SavedModel folder.")
    parser.add_argument(
        "--hop", type=float, default=None, help="Window hop in seconds (default: half the model's clip)."
    )
    parser.add_argument("--aggregate", choices=["mean", "max"], default="mean", help="Scores over a file's windows.")
    parser.add_argument("--top-k", type=int, default=3, help="Classes reported per file (default 3).")
    parser.add_argument("--timeline", action="store_true", help="Also report each window's best class.")
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table", help="Output format.")
    parser.add_argument("--out", default=None, help="Write the output to this file instead of stdout.")
    parser.add_argument("--sample-rate", type=int, default=None, help="The model's rate, if the model does not say.")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads for .tflite models.")
    parser.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="Progress bar on stderr (auto: for more than one file when stderr is a terminal).",
    )


def format_table(results, timeline=False):
    lines = []
    for r in results:
        if r.error:
            lines.append(f"{r.path}\tERROR\t{r.error}")
            continue
        top = "  ".join(f"{label} {score:.3f}" for label, score in zip(r.labels, r.scores))
        lines.append(f"{r.path}\t{r.duration_seconds:.2f}s\t{top}")
        for w in r.windows or []:
            lines.append(f"  {w['start']:8.2f}-{w['end']:.2f}s\t{w['label']} {w['score']:.3f}")
    return "\n".join(lines) + "\n"


def format_json(results):
    return json.dumps([r.to_dict() for r in results], indent=2) + "\n"


def format_csv(results, timeline=False):
    """One row per file (rank columns), or with `timeline` one row per window."""
    out = io.StringIO()
    writer = csv.writer(out)
    if timeline:
        writer.writerow(["path", "start", "end", "label", "score", "error"])
        for r in results:
            if r.error:
                writer.writerow([r.path, "", "", "", "", r.error])
            for w in r.windows or []:
                writer.writerow([r.path, w["start"], w["end"], w["label"], f"{w['score']:.6f}", ""])
        return out.getvalue()
    k = max((len(r.labels) for r in results), default=0)
    header = ["path", "duration_seconds"]
    for i in range(1, k + 1):
        header += [f"label_{i}", f"score_{i}"]
    writer.writerow(header + ["error"])
    for r in results:
        row = [r.path, "" if r.duration_seconds is None else f"{r.duration_seconds:.4f}"]
        for i in range(k):
            row += [r.labels[i], f"{r.scores[i]:.6f}"] if i < len(r.labels) else ["", ""]
        writer.writerow(row + [r.error or ""])
    return out.getvalue()


def run(args):
    from tfaudio.prediction import predict

    progress = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    try:
        results = predict(
            args.paths,
            args.model,
            hop_seconds=args.hop,
            aggregate=args.aggregate,
            top_k=args.top_k,
            timeline=args.timeline,
            progress=progress,
            sample_rate=args.sample_rate,
            num_threads=args.threads,
        )
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    if args.format == "json":
        text = format_json(results)
    elif args.format == "csv":
        text = format_csv(results, args.timeline)
    else:
        text = format_table(results, args.timeline)
    if args.out:
        from tfaudio.atomic import write_text

        write_text(args.out, text)
    else:
        sys.stdout.write(text)
    for r in results:
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)
    # 0: all classified; 1: some files could not be read (they are in the output with their error).
    return 1 if any(r.error for r in results) else 0
