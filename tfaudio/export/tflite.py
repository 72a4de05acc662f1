"""Conversion of Keras models to TFLite with builtin ops only, and a runner for the result."""

import os
import re
import warnings

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfaudio.export.tflite_metadata import read_metadata, write_metadata
from tfaudio.layers.peak_normalization import leading_peak_normalization, peak_normalize

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
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as f:
        f.write(flatbuffer)
    return path


def tflite_op_names(model):
    """Sorted op names of a `.tflite` model (path or bytes), read without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    interpreter = Interpreter(**kwargs, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


class TFLiteModel:
    """Runs a `.tflite` model with `ai_edge_litert`, one call per batch.

    Args:
        model: str path or bytes of a `.tflite` flatbuffer.
        num_threads: int. Interpreter threads. Defaults to 1.

    Attributes:
        metadata: dict. What `to_tflite` stored in the file under "tfaudio"
            (`{}` for other files). With `"input_normalization"` set, every
            input is peak-normalised before it is quantised, as the model was
            calibrated.

    Example:
    >>> runner = TFLiteModel("model.tflite")
    >>> logits = runner(waveforms)  # float32 [batch, samples] -> float32 [batch, classes]
    """

    def __init__(self, model, num_threads=1):
        from ai_edge_litert.interpreter import Interpreter

        self._model = model
        if isinstance(model, (bytes, bytearray)):
            self.interpreter = Interpreter(model_content=bytes(model), num_threads=num_threads)
        else:
            if not os.path.isfile(model):
                raise ValueError(f"No TFLite model at this path. Received: model={model!r}")
            self.interpreter = Interpreter(model_path=str(model), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self._shape = None
        self.metadata = read_metadata(model)
        normalization = self.metadata.get("input_normalization")
        if normalization is not None and normalization.get("type") != "peak":
            raise ValueError(f"Unknown input_normalization in the model's metadata. Received: {normalization!r}")
        self._peak_floor = None if normalization is None else float(normalization["floor"])

    @property
    def input_shape(self):
        return tuple(int(d) for d in self._input["shape_signature"])

    @property
    def input_dtype(self):
        return self._input["dtype"]

    def op_names(self):
        """Names of the ops in the graph: builtins by their TFLite name, others as custom."""
        return tflite_op_names(self._model)

    def _quantize(self, x, details):
        scale, zero_point = details["quantization"]
        if details["dtype"] in (np.int8, np.int16, np.uint8) and scale:
            info = np.iinfo(details["dtype"])
            x = np.clip(np.round(x / scale + zero_point), info.min, info.max)
        return x.astype(details["dtype"])

    def _dequantize(self, y, details):
        scale, zero_point = details["quantization"]
        if details["dtype"] in (np.int8, np.int16, np.uint8) and scale:
            return (y.astype(np.float32) - zero_point) * scale
        return y.astype(np.float32)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float32)
        expected = self.input_shape
        if x.ndim != len(expected) or any(e not in (-1, s) for e, s in zip(expected, x.shape)):
            raise ValueError(f"Input shape {x.shape} does not match the model's input {expected}.")
        if self._shape != x.shape:
            self.interpreter.resize_tensor_input(self._input["index"], x.shape)
            self.interpreter.allocate_tensors()
            self._input = self.interpreter.get_input_details()[0]
            self._output = self.interpreter.get_output_details()[0]
            self._shape = x.shape
        if self._peak_floor is not None:
            x = peak_normalize(x, self._peak_floor)
        self.interpreter.set_tensor(self._input["index"], self._quantize(x, self._input))
        self.interpreter.invoke()
        return self._dequantize(self.interpreter.get_tensor(self._output["index"]), self._output)

    def predict(self, x, batch_size=32):
        """Runs `x` in batches of at most `batch_size` (1 for fixed-batch models)."""
        x = np.asarray(x, dtype=np.float32)
        if self.input_shape[0] != -1:
            batch_size = self.input_shape[0]
        return np.concatenate([self(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
