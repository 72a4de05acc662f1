"""The facts of the machine a benchmark ran on, and the device report of `tfaudio bench --report`.

A report is one JSON file users can paste from their board, so on-device latency is collected the
same way everywhere: the device (CPU model, cores, OS, architecture, LiteRT version) and, per
model, its size, ops and p50/p90/mean latency at each thread count.
"""

import datetime
import importlib.metadata
import os
import platform

from tfaudio.bench.latency import tflite_latency
from tfaudio.runtime import TFLiteModel

REPORT_VERSION = 1


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _cpuinfo_field(text, *names):
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in names and value.strip():
            return value.strip()
    return None


# Arm Ltd. (implementer 0x41) cores of common boards, by /proc/cpuinfo "CPU part" (Arm's MIDR part numbers).
ARM_CPU_PARTS = {
    "0xd03": "Cortex-A53",  # Raspberry Pi 3, Zero 2 W
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",  # Jetson Nano
    "0xd08": "Cortex-A72",  # Raspberry Pi 4
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",  # Raspberry Pi 5
    "0xd0d": "Cortex-A77",
    "0xd41": "Cortex-A78",  # Jetson Orin (A78AE is 0xd42)
    "0xd42": "Cortex-A78AE",
    "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710",
}


def cpu_model():
    """The CPU's model name: /proc/cpuinfo on Linux (x86 "model name", Arm core names from "CPU part"),
    sysctl on macOS, else `platform.processor()` or the architecture."""
    text = _read("/proc/cpuinfo")
    blocks = (text or "").split("\n\n")
    parts = [_cpuinfo_field(b, "cpu part") for b in blocks if _cpuinfo_field(b, "cpu implementer") == "0x41"]
    if any(parts):
        # big.LITTLE boards list each kind once: "Cortex-A76 + Cortex-A55".
        names = dict.fromkeys(ARM_CPU_PARTS.get(p, f"Arm part {p}") for p in parts if p)
        return " + ".join(names)
    name = _cpuinfo_field(text, "model name", "hardware", "processor name", "cpu model")
    if name is None and platform.system() == "Darwin":
        import subprocess

        try:
            name = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            ).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            name = None
    return name or platform.processor() or platform.machine()


def board_model():
    """The board's name from the device tree (e.g. "Raspberry Pi 5 Model B Rev 1.0"), or None."""
    text = _read("/proc/device-tree/model")
    return text.strip("\x00\n ") if text else None


def memory_bytes():
    """Total memory from /proc/meminfo, or None where there is none."""
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def device_info():
    """dict: cpu_model, board, cores (logical), cores_usable (this process' affinity), memory_bytes,
    load_average (1, 5, 15 min: other work on the machine while it was measured), os, os_release,
    platform, machine (architecture), python, litert / numpy / tfaudio versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # Windows
        load = None
    from tfaudio import __version__

    return {
        "cpu_model": cpu_model(),
        "board": board_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "memory_bytes": memory_bytes(),
        "load_average": load,
        "os": platform.system(),
        "os_release": platform.release(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "litert": _version("ai-edge-litert"),
        "numpy": _version("numpy"),
        "tfaudio": __version__,
    }


def device_report(paths, threads=(1,), runs=100, warmup=10, name=None):
    """Benchmarks `.tflite` files on this machine and returns the device report (a JSON-ready dict).

    Args:
        paths: list of str. The `.tflite` files.
        threads: ints. Interpreter thread counts, each measured for every model. Defaults to (1,).
        runs: int. Timed invocations per model and thread count. Defaults to 100.
        warmup: int. Untimed invocations first. Defaults to 10.
        name: str or None. A label for the device in tables (e.g. "Raspberry Pi 5").
            Defaults to the board model, else the CPU model.

    Returns:
        dict with `report_version`, `created` (UTC, ISO 8601), `name`, `device` (see
        `device_info`), `settings` (runs, warmup, threads, input) and `models`: one entry per path
        with `file`, `size_bytes`, `ops`, `input_shape`, `input_dtype` and `latency` (one dict
        per thread count: `num_threads`, `p50_ms`, `p90_ms`, `mean_ms`, `min_ms`).
    """
    if not paths:
        raise ValueError("`paths` must name at least one .tflite file. Received: paths=[]")
    results = {path: [tflite_latency(path, num_threads=t, runs=runs, warmup=warmup) for t in threads] for path in paths}
    return build_report(results, runs=runs, warmup=warmup, name=name)


def build_report(results, runs, warmup, name=None):
    """The device report of latencies already measured here: `results` maps each `.tflite` path to
    its `tflite_latency` dicts (one per thread count). See `device_report`."""
    device = device_info()
    models = []
    for path, measured in results.items():
        models.append(
            {
                "file": os.path.basename(path),
                "size_bytes": os.path.getsize(path),
                "ops": TFLiteModel(path).op_names(),
                "input_shape": measured[0]["input_shape"],
                "input_dtype": measured[0]["input_dtype"],
                "latency": [
                    {k: r[k] for k in ("num_threads", "p50_ms", "p90_ms", "mean_ms", "min_ms")} for r in measured
                ],
            }
        )
    threads = sorted({r["num_threads"] for measured in results.values() for r in measured})
    return {
        "report_version": REPORT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "name": name or device["board"] or device["cpu_model"],
        "device": device,
        "settings": {"runs": runs, "warmup": warmup, "threads": threads, "input": "uniform noise in [-1, 1], seed 0"},
        "models": models,
    }
