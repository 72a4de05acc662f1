"""Benchmarks of exported models (latency on the ai_edge_litert interpreter)."""

from tfaudio.bench.latency import tflite_latency
from tfaudio.bench.profile import format_profile, profile_tflite

__all__ = ["format_profile", "profile_tflite", "tflite_latency"]
