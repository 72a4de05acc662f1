"""A runner for `.tflite` models on the `ai_edge_litert` interpreter (no TensorFlow import)."""

import os
import threading

import numpy as np

from tfaudio.runtime.metadata import model_bytes, read_metadata
from tfaudio.runtime.normalization import peak_normalize


def tflite_op_names(model):
    """Sorted op names of a `.tflite` model (path or bytes), read without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    interpreter = Interpreter(**kwargs, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


class _Session:
    """One interpreter with its tensor details and current input shape (one thread's)."""

    def __init__(self, content, num_threads):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=content, num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self._details()
        self.shape = None

    def _details(self):
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def resize(self, shape):
        if self.shape != shape:
            self.interpreter.resize_tensor_input(self.input["index"], shape)
            self.interpreter.allocate_tensors()
            self._details()
            self.shape = shape


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

    Thread-safe: each calling thread gets its own interpreter (created on its first call,
    from the flatbuffer read once), so one `TFLiteModel` serves many threads at once.

    Example:
    >>> runner = TFLiteModel("model.tflite")
    >>> logits = runner(waveforms)  # float32 [batch, samples] -> float32 [batch, classes]
    """

    def __init__(self, model, num_threads=1):
        self._model = model
        if not isinstance(model, (bytes, bytearray)) and not os.path.isfile(model):
            raise ValueError(f"No TFLite model at this path. Received: model={model!r}")
        self._content = model_bytes(model)
        self._num_threads = num_threads
        # One interpreter per calling thread: a LiteRT interpreter holds its tensors between
        # set_tensor/invoke/get_tensor and must not be shared ("There is at least 1 reference to
        # internal data"). Threads then run in parallel (benchmarks/serving_load.py measures it).
        self._local = threading.local()
        try:
            self._session()  # fail here, in the constructor, on a bad flatbuffer
        except (ValueError, RuntimeError) as e:
            source = "the given bytes" if isinstance(model, (bytes, bytearray)) else model
            raise ValueError(f"{source}: not a valid TFLite model ({e})") from e
        self.metadata = read_metadata(self._content)
        normalization = self.metadata.get("input_normalization")
        if normalization is not None and normalization.get("type") != "peak":
            raise ValueError(f"Unknown input_normalization in the model's metadata. Received: {normalization!r}")
        self._peak_floor = None if normalization is None else float(normalization["floor"])

    def _session(self):
        """This thread's `_Session`, created on its first call."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session(self._content, self._num_threads)
        return session

    @property
    def interpreter(self):
        """The calling thread's `ai_edge_litert` Interpreter."""
        return self._session().interpreter

    @property
    def input_shape(self):
        return tuple(int(d) for d in self._session().input["shape_signature"])

    @property
    def input_dtype(self):
        return self._session().input["dtype"]

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
        session = self._session()
        expected = tuple(int(d) for d in session.input["shape_signature"])
        if x.ndim != len(expected) or any(e not in (-1, s) for e, s in zip(expected, x.shape)):
            raise ValueError(f"Input shape {x.shape} does not match the model's input {expected}.")
        session.resize(x.shape)
        if self._peak_floor is not None:
            x = peak_normalize(x, self._peak_floor)
        interpreter = session.interpreter
        interpreter.set_tensor(session.input["index"], self._quantize(x, session.input))
        interpreter.invoke()
        return self._dequantize(interpreter.get_tensor(session.output["index"]), session.output)

    def predict(self, x, batch_size=32):
        """Runs `x` in batches of at most `batch_size` (1 for fixed-batch models)."""
        x = np.asarray(x, dtype=np.float32)
        if self.input_shape[0] != -1:
            batch_size = self.input_shape[0]
        return np.concatenate([self(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
