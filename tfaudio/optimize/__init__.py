"""Quantization-aware training and pruning with tensorflow-model-optimization.

tfmot works on tf_keras (Keras 2) models only, so run this in a process started
with `TF_USE_LEGACY_KERAS=1` (set before tensorflow or tfaudio is imported);
tfaudio's layers and models then build on tf_keras. Install `tfaudio[optimize]`.

Example:
>>> # TF_USE_LEGACY_KERAS=1 python train_qat.py
>>> from tfaudio.models import build
>>> from tfaudio.optimize import quantize_aware, qat_to_tflite
>>> qat = quantize_aware(build("sincnet", 10, sample_rate=8000))
>>> qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
>>> qat.fit(train_ds, epochs=2)
>>> qat_to_tflite(qat, "sincnet_qat_int8.tflite")
"""

from tfaudio.optimize.pruning import prune, strip_pruning
from tfaudio.optimize.quantization_aware import calibrate_ranges, qat_to_tflite, quantize_aware, quantize_scope

__all__ = ["calibrate_ranges", "prune", "qat_to_tflite", "quantize_aware", "quantize_scope", "strip_pruning"]
