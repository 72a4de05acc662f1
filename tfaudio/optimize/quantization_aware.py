"""Quantization-aware training (QAT) of tfaudio models with tensorflow-model-optimization, on tf_keras.

The parts: `tf_keras_models` (requirements), `quantize_configs` (tfaudio's
QuantizeConfigs), `qat_annotation` (which layer gets which), `qat_calibration`
(initial ranges); conversion is `tfaudio.export.to_tflite(..., quantization_aware=True)`.
"""

import warnings

from tfaudio.backend import keras
from tfaudio.layers.peak_normalization import leading_peak_normalization
from tfaudio.optimize.qat_annotation import annotate
from tfaudio.optimize.qat_calibration import calibrate_ranges
from tfaudio.optimize.quantize_configs import custom_objects
from tfaudio.optimize.tf_keras_models import as_functional, require_tf_keras
from tfaudio.optimize.tf_keras_models import tfmot as _tfmot


def quantize_aware(model, calibration_data=None):
    """Wraps a tf_keras model for quantization-aware training (fake int8 weights and activations).

    tensorflow-model-optimization's default 8-bit scheme handles Dense, Conv2D,
    ReLU, pooling, ...; tfaudio adds `QuantizeConfig`s for what it does not cover:

    - A `Conv1D`/`Dense`/`SincConv1D` followed only by a `BatchNormalization`
      (SincNet's blocks): no fake-quant between the two, so the TFLite converter
      folds the batch norm into the kernel and quantizes the folded kernel per
      channel; the batch norm's output is quantized, or, when a ReLU/ReLU6
      follows, the ReLU's (conv + batch norm + ReLU6 become one int8 CONV_2D).
      Such kernels are not fake-quantized during training (only activations):
      a fake-quantized kernel before the batch norm stops the converter from
      folding (measured: float CONV_2D/FULLY_CONNECTED in the file).
    - Other `Conv1D`s: int8 kernel (one scale per tensor; tfmot's per-channel
      fake quantization takes only 2-D/4-D tensors), quantized output.
    - `SincConv1D` computes its kernel from its `low_hz`/`band_hz` weights, so
      there is no `kernel` weight to fake-quantize: its OUTPUT is quantized and
      the converter quantizes the frozen kernel per channel.
    - `PeakNormalization`: output quantized on the fixed range [-1, 1], and the
      model input is left float (tfmot would quantize raw waveforms with one
      range for all clips, the problem peak normalisation exists to avoid).
    - Other tfaudio layers (`LogMelSpectrogram`, `SincNetAbs`, ...) and standard
      layers without an 8-bit recipe (`LayerNormalization`, ...): computed in
      float, output quantized. In TFLite their inner ops stay float (between a
      DEQUANTIZE and a QUANTIZE): for SincNet that is the peak normalisation
      and the layer norm before the dense layers.
    - `MaxPooling1D`: not quantized (max keeps its input's int8 scale).

    Convert the trained model with `qat_to_tflite` (the fake-quant ranges are
    used; no representative dataset).

    Args:
        model: tf_keras functional or Sequential model, e.g.
            `tfaudio.models.build("sincnet", ...)` built under `TF_USE_LEGACY_KERAS=1`.
            Its layers must sit directly in the graph (no nested models).
        calibration_data: None, or arrays / batches / a `tf.data.Dataset` of
            training inputs: activation ranges then start at the min/max the
            float model reaches on them (`calibrate_ranges`) instead of tfmot's
            [-6, 6], which only a long fine-tune moves. Defaults to None.

    Returns:
        A new tf_keras model with the same weights, wrapped for QAT. Compile and
        fit it as usual.

    Raises:
        ValueError: tfaudio is not running on tf_keras (set
            `TF_USE_LEGACY_KERAS=1` before importing tensorflow), the model is
            subclassed, or it nests a model (e.g. a keras.applications backbone);
            the message names the layer.

    Example:
    >>> # TF_USE_LEGACY_KERAS=1 python ...
    >>> model = tfaudio.models.build("sincnet", 10, sample_rate=8000)
    >>> qat = quantize_aware(model, calibration_data=train_waveforms[:512])
    >>> qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> qat.fit(train_ds, epochs=2)
    >>> qat_to_tflite(qat, "model_int8.tflite")
    """
    require_tf_keras(model)
    tfmot = _tfmot()
    functional = as_functional(model)
    if not functional.built:
        raise ValueError(f"The model must be built (have inputs) before quantization. Received: model={model.name!r}")
    with tfmot.quantization.keras.quantize_scope(custom_objects()):
        annotated = annotate(functional)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning)
            try:
                qat = tfmot.quantization.keras.quantize_apply(annotated)
            except (RuntimeError, ValueError, TypeError) as e:
                raise ValueError(
                    f"tfmot could not wrap model {model.name!r} for quantization-aware training: {e}"
                ) from e
    if leading_peak_normalization(qat) is not None:
        # tfmot quantizes the raw input with one range for every clip; a leading
        # PeakNormalization is better served by a float input, normalised first and
        # then quantized to [-1, 1] (what `to_tflite` and `TFLiteModel` do for int8).
        qat = _without_input_quantizer(qat)
    if calibration_data is not None:
        calibrate_ranges(qat, model, calibration_data)
    return qat


def _without_input_quantizer(qat):
    """`qat` with tfmot's input QuantizeLayer replaced by a pass-through one (other layers shared)."""
    from tensorflow_model_optimization.python.core.quantization.keras.quantize_layer import QuantizeLayer

    def clone(layer):
        if isinstance(layer, QuantizeLayer) and layer.input is qat.inputs[0]:
            return QuantizeLayer(quantizer=None, name=layer.name)
        return layer

    with quantize_scope():
        return keras.models.clone_model(qat, clone_function=clone)


def quantize_scope():
    """`tfmot.quantization.keras.quantize_scope` with tfaudio's configs and layers, to load saved QAT models.

    Save QAT models as HDF5 (`qat.save("qat.h5")`): tfmot 0.8.1's QuantizeLayer
    does not reload from the `.keras` format (variable count mismatch, also for a
    model quantized with plain `tfmot.quantization.keras.quantize_model`).

    Returns:
        A context manager.

    Example:
    >>> with quantize_scope():
    ...     qat = keras.models.load_model("qat.h5")
    """
    tfmot = _tfmot()
    return tfmot.quantization.keras.quantize_scope(custom_objects())


def qat_to_tflite(model, path, batch_size=None, metadata=None):
    """Converts a trained quantization-aware model to full-int8 TFLite, builtin ops only.

    `tfaudio.export.to_tflite(model, path, quantize="int8", quantization_aware=True)`:
    the one conversion path, with the ranges of the fake-quant nodes learned in
    training instead of a representative dataset. Inputs and outputs stay float32.

    Args:
        model: a model returned by `quantize_aware` (trained).
        path: str. Where the `.tflite` file is written.
        batch_size: int or None. None keeps the batch dimension dynamic.
        metadata: dict or None. Stored under "tfaudio" as `to_tflite` does.

    Returns:
        `path`.

    Example:
    >>> qat_to_tflite(qat, "model_int8.tflite")
    >>> tfaudio.export.TFLiteModel("model_int8.tflite")(waveforms)
    """
    from tfaudio.export.tflite import to_tflite

    return to_tflite(
        model, path, quantize="int8", batch_size=batch_size, metadata=metadata, quantization_aware=True
    )
