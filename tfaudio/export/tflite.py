"""Conversion of Keras models to TFLite with builtin ops only (the runner is `tfaudio.runtime.TFLiteModel`)."""

import re
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfaudio.atomic import write_bytes
from tfaudio.export.tflite_metadata import write_metadata
from tfaudio.layers.peak_normalization import leading_peak_normalization
from tfaudio.ops.stft import builtin_ops_only
# The runner moved to tfaudio.runtime (no TensorFlow); these names stay importable from here.
from tfaudio.runtime import TFLiteModel, tflite_op_names  # noqa: F401
from tfaudio.runtime.normalization import peak_normalize

QUANTIZE_MODES = (None, "dynamic", "float16", "int8", "int16x8")


def _serving_function(model, batch_size):
    spec = []
    for inp in model.inputs:
        shape = [batch_size] + list(inp.shape[1:])
        spec.append(tf.TensorSpec(shape, tf.float32, name=inp.name.split(":")[0]))

    @tf.function(input_signature=spec)
    def serve(*args):
        out = model(args[0] if len(args) == 1 else list(args), training=False)
        return tf.cast(out, tf.float32)

    return serve


def _representative_dataset(data, model, limit, prepare=None):
    """Yields single-example float32 batches from arrays, iterables or a `tf.data.Dataset`.

    `prepare` maps each batch as a runner would before quantising it.
    """

    def gen():
        count = 0
        for item in data:
            if isinstance(item, (tuple, list)) and len(model.inputs) == 1:
                item = item[0]  # (x, y) pairs from a training dataset
            x = np.asarray(item, dtype=np.float32)
            if x.ndim == len(model.inputs[0].shape) - 1:
                x = x[None]
            if prepare is not None:
                x = prepare(x)
            for row in x:
                yield [row[None]]
                count += 1
                if count >= limit:
                    return

    return gen


def _offending_ops(message):
    # TF op names are CamelCase (`tf.MatrixDeterminant`); lower-case hits are attributes.
    return sorted({op for op in re.findall(r"tf\.(\w+)", message) if op[0].isupper()})


def to_tflite(
    model,
    path,
    quantize=None,
    representative_data=None,
    batch_size=None,
    int8_io=False,
    max_representative_examples=200,
    metadata=None,
):
    """Converts a Keras model to a `.tflite` file that uses TFLite builtin ops only.

    Args:
        model: keras.Model. Its inputs are float32.
        path: str. Where the `.tflite` file is written.
        quantize: None (float32), "dynamic" (int8 weights), "float16" (float16
            weights), "int8" (full integer: weights and activations, needs
            `representative_data`) or "int16x8" (int16 activations, int8 weights).
        representative_data: arrays, an iterable of arrays or `(x, y)` pairs, or a
            `tf.data.Dataset` of them; used to calibrate "int8" and "int16x8".
        batch_size: int or None. None keeps the batch dimension dynamic.
        int8_io: bool. With "int8", make the model's input and output int8
            tensors too (otherwise they stay float32, with quantize/dequantize at
            the edges). Defaults to False.
        max_representative_examples: int. Calibration examples used at most.
        metadata: dict or None. JSON-serialisable facts stored in the file
            under "tfaudio" (e.g. labels, sample rate); `TFLiteModel.metadata`
            reads them back. A model whose input goes straight into a
            `PeakNormalization` layer also gets `"input_normalization"`: its
            calibration clips are peak-normalised, and `TFLiteModel` normalises
            inputs before quantising them, which full int8 needs to keep quiet
            clips' resolution.

    Returns:
        `path`.

    Raises:
        ValueError: bad arguments, or a model that needs ops outside the TFLite
            builtins (the message names them).
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"`quantize` must be one of {QUANTIZE_MODES}. Received: quantize={quantize!r}")
    if quantize in ("int8", "int16x8") and representative_data is None:
        raise ValueError(f"quantize={quantize!r} needs `representative_data` for calibration. Received: None")
    if int8_io and quantize != "int8":
        raise ValueError(f"`int8_io=True` needs quantize='int8'. Received: quantize={quantize!r}")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict or None. Received: metadata={metadata!r}")
    metadata = dict(metadata or {})
    prepare = None
    normalization = leading_peak_normalization(model)
    if normalization is not None:
        metadata["input_normalization"] = {"type": "peak", "floor": normalization.floor}
        prepare = lambda x: peak_normalize(x, normalization.floor)  # noqa: E731

    # Keras 3 variables are not frozen by the converter on their own (it leaves
    # READ_VARIABLE ops behind), so fold them into constants first.
    # Traced inside builtin_ops_only(): spectrogram layers take their DFT path, not the FFT.
    with builtin_ops_only():
        concrete = _serving_function(model, batch_size).get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize in ("int8", "int16x8"):
        converter.representative_dataset = _representative_dataset(
            representative_data, model, max_representative_examples, prepare
        )
    if quantize == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    if quantize == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    try:
        with warnings.catch_warnings():
            # Emitted for every calibrated model with float I/O; it means nothing to users.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            flatbuffer = converter.convert()
    except Exception as e:  # the converter raises ConverterError and friends
        ops = _offending_ops(str(e))
        raise ValueError(
            f"Model {model.name!r} cannot be converted to TFLite with builtin ops only "
            f"(quantize={quantize!r}). Offending ops: {', '.join(ops) or 'see below'}.\n{e}"
        ) from e

    if metadata:
        flatbuffer = write_metadata(flatbuffer, metadata)
    write_bytes(path, flatbuffer)
    return path
