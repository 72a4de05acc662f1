"""`tfaudio bench`: latency of .tflite models on the ai_edge_litert interpreter, and device reports."""

import json

from tfaudio.cli import common

HELP = "Measure the latency of .tflite models (p50/p90/mean ms, size); --report writes a device report."


def add_arguments(parser):
    parser.add_argument("paths", nargs="+", metavar="PATH", help="The .tflite file(s).")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="Thread counts to measure, e.g. 1 2.")
    parser.add_argument("--runs", type=int, default=100, help="Timed invocations per model and thread count.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed invocations first.")
    parser.add_argument("--out", default=None, help="Write the results (one entry per model and thread count) as JSON.")
    parser.add_argument(
        "--report",
        default=None,
        metavar="FILE.json",
        help="Write a device report: CPU model, cores, OS/architecture, LiteRT version, and per model its size, "
        "ops and p50/p90/mean ms at each thread count (see benchmarks/devices/README.md).",
    )
    parser.add_argument("--name", default=None, help="Device name in the report (e.g. 'Raspberry Pi 5'). "
                        "Defaults to the board model, else the CPU model.")
    parser.add_argument(
        "--profile",
        default=None,
        metavar="FILE.json",
        help="Also time every op alone (per op and per op type, on XNNPACK or not) at each thread count; "
        "print the tables and write them as JSON to this file.",
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="--profile's clock: elapsed time, or this process's CPU time (steadier on a shared machine, 1 thread).",
    )


def run(args):
    from tfaudio.bench import tflite_latency

    by_path = {}
    results = []
    for path in args.paths:
        common.check_model_file(path, kinds=("tflite",))
    for path in args.paths:
        by_path[path] = []
        for threads in args.threads:
            try:
                r = tflite_latency(path, num_threads=threads, runs=args.runs, warmup=args.warmup)
            except ValueError as e:
                raise SystemExit(f"error: {e}") from e
            by_path[path].append(r)
            results.append({"path": path, **r})
            print(
                f"{path}: {threads} thread(s) p50 {r['p50_ms']:.3f} ms, p90 {r['p90_ms']:.3f} ms, "
                f"mean {r['mean_ms']:.3f} ms, size {r['size_bytes'] / 1024:.1f} KiB",
                flush=True,
            )
    if args.profile:
        from tfaudio.bench.profile import format_profile, profile_tflite

        profiles = [
            profile_tflite(path, num_threads=threads, clock=args.clock) for path in args.paths for threads in args.threads
        ]
        for p in profiles:
            print(format_profile(p))
        common.write_json(args.profile, profiles)
    if args.report:
        from tfaudio.bench.device import build_report

        common.write_json(args.report, build_report(by_path, runs=args.runs, warmup=args.warmup, name=args.name))
        print(f"device report written to {args.report}")
    if args.out:
        common.write_json(args.out, results)
    elif not args.report:
        print(json.dumps(results))
    return 0
