"""A runner for `.tflite` models on the `ai_edge_litert` interpreter (no TensorFlow import)."""

import os

import numpy as np

from tfaudio.runtime.metadata import read_metadata
from tfaudio.runtime.normalization import peak_normalize


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
