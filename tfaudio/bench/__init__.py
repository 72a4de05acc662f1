"""Benchmarks of exported models on the ai_edge_litert interpreter (no TensorFlow): latency and device reports."""

from tfaudio.bench.device import build_report, device_info, device_report
from tfaudio.bench.latency import tflite_latency
from tfaudio.bench.profile import format_profile, profile_tflite

__all__ = ["build_report", "device_info", "device_report", "format_profile", "profile_tflite", "tflite_latency"]
