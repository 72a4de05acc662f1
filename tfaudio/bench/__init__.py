"""Benchmarks of exported models on the ai_edge_litert interpreter (no TensorFlow): latency and device reports."""

from tfaudio.bench.device import build_report, device_info, device_report
from tfaudio.bench.latency import tflite_latency

__all__ = ["build_report", "device_info", "device_report", "tflite_latency"]
