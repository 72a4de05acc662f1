"""Quantization-aware training and pruning with tensorflow-model-optimization.

tfmot works on tf_keras (Keras 2) models only, so run this in a process started
with `TF_USE_LEGACY_KERAS=1` (set before tensorflow or tfaudio is imported);
tfaudio's layers and models then build on tf_keras. Install `tfaudio[optimize]`.

Example:
>>> # TF_USE_LEGACY_KERAS=1 python finetune_qat.py
>>> from tfaudio.backend import keras
>>> from tfaudio.optimize import prune, qat_to_tflite, quantize_aware, strip_pruning
>>> model = keras.models.load_model("run/model.keras")  # saved by `tfaudio train` (Keras 3)
>>> qat = quantize_aware(model, calibration_data=train_waveforms[:512])
>>> qat.compile(keras.optimizers.Adam(1e-4), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
>>> qat.fit(train_ds, epochs=1)
>>> qat_to_tflite(qat, "model_qat_int8.tflite")  # int8 from the trained ranges
>>> pruned = prune(model, target_sparsity=0.5, end_step=1000)  # fit with UpdatePruningStep()
>>> tfaudio.export.to_tflite(strip_pruning(pruned), "model_pruned.tflite")
"""

from tfaudio.optimize.pruning import prune, strip_pruning
from tfaudio.optimize.quantization_aware import calibrate_ranges, qat_to_tflite, quantize_aware, quantize_scope

__all__ = ["calibrate_ranges", "prune", "qat_to_tflite", "quantize_aware", "quantize_scope", "strip_pruning"]
