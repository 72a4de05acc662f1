"""`tfaudio bench`: latency of a .tflite model on the ai_edge_litert interpreter."""

import json

from tfaudio.cli import common

HELP = "Measure the latency of a .tflite model (p50/p90/mean ms, size)."


def add_arguments(parser):
    parser.add_argument("path", help="The .tflite file.")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="Thread counts to measure, e.g. 1 2.")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default=None, help="Write the results as JSON to this file.")
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE.json",
        help="Also time every op alone (per op and per op type, on XNNPACK or not) at each thread count; "
        "print the tables and write them as JSON to this file.",
    )


def run(args):
    from tfaudio.bench import tflite_latency

    results = []
    for threads in args.threads:
        r = tflite_latency(args.path, num_threads=threads, runs=args.runs, warmup=args.warmup)
        results.append(r)
        print(
            f"{args.path}: {threads} thread(s) p50 {r['p50_ms']:.3f} ms, p90 {r['p90_ms']:.3f} ms, "
            f"mean {r['mean_ms']:.3f} ms, size {r['size_bytes'] / 1024:.1f} KiB"
        )
    if args.profile:
        from tfaudio.bench.profile import format_profile, profile_tflite

        profiles = [profile_tflite(args.path, num_threads=threads) for threads in args.threads]
        for p in profiles:
            print(format_profile(p))
        common.write_json(args.profile, profiles)
    if args.out:
        common.write_json(args.out, results)
    else:
        print(json.dumps(results))
    return 0
