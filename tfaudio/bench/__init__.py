"""Benchmarks of exported models (latency on the ai_edge_litert interpreter)."""

from tfaudio.bench.latency import tflite_latency

__all__ = ["tflite_latency"]
