"""Quantization-aware training and pruning (tensorflow-model-optimization, on tf_keras: TF_USE_LEGACY_KERAS=1)."""

from tfaudio.optimize.quantization_aware import qat_to_tflite, quantize_aware, quantize_scope

__all__ = ["qat_to_tflite", "quantize_aware", "quantize_scope"]
