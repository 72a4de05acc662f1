"""StreamingRunner: drives a streaming `.tflite` file one hop at a time with LiteRT alone (no TensorFlow)."""

import os

import numpy as np

from tfaudio.runtime.metadata import read_metadata

FORMAT = "tfaudio.streaming/1"


def _quantize(x, details):
    scale, zero_point = details["quantization"]
    if details["dtype"] in (np.int8, np.int16, np.uint8) and scale:
        info = np.iinfo(details["dtype"])
        x = np.clip(np.round(np.asarray(x, np.float32) / scale + zero_point), info.min, info.max)
    return np.asarray(x).astype(details["dtype"])


def _dequantize(y, details):
    scale, zero_point = details["quantization"]
    if details["dtype"] in (np.int8, np.int16, np.uint8) and scale:
        return (y.astype(np.float32) - zero_point) * scale
    return y.astype(np.float32)


class StreamingRunner:
    """Runs a streaming `.tflite` file (from `to_streaming_tflite`) hop by hop.

    External-state files get their `new_state_NNN` outputs fed back as
    `state_NNN` inputs (requantized when an int8 file gives the two different
    scales); internal-state files keep the state in the interpreter's resource
    variables and are reset through their "reset" signature.

    Args:
        model: str path or bytes of the `.tflite` file.
        num_threads: int. Interpreter threads. Defaults to 1.

    Attributes:
        hop_samples, window_samples, lookahead_samples, sample_rate: ints from
            the file's metadata.
        labels: list of str or None.
        state: "external" or "internal".

    Example:
    >>> runner = StreamingRunner("kws_stream.tflite")
    >>> logits = runner.step(audio[:runner.hop_samples])  # float32 [classes]
    """

    def __init__(self, model, num_threads=1):
        from ai_edge_litert.interpreter import Interpreter

        if isinstance(model, (bytes, bytearray)):
            self.interpreter = Interpreter(model_content=bytes(model), num_threads=num_threads)
        else:
            if not os.path.isfile(model):
                raise ValueError(f"No streaming .tflite model at this path. Received: model={model!r}")
            self.interpreter = Interpreter(model_path=str(model), num_threads=num_threads)
        metadata = read_metadata(model)
        info = metadata.get("streaming")
        if not info or info.get("format") != FORMAT:
            raise ValueError(
                f"{model if not isinstance(model, (bytes, bytearray)) else 'The model'} is not a tfaudio streaming "
                "model (no 'streaming' metadata); export one with tfaudio.streaming.to_streaming_tflite or "
                "`tfaudio export --streaming`."
            )
        self.metadata = metadata
        self.labels = metadata.get("labels")
        self.state = info["state"]
        self.quantize = info.get("quantize")
        self.sample_rate = int(info["sample_rate"])
        self.hop_samples = int(info["hop_samples"])
        self.window_samples = int(info["window_samples"])
        self.lookahead_samples = int(info["lookahead_samples"])
        self.num_classes = int(info["num_classes"])
        signatures = self.interpreter.get_signature_list()
        key = "step" if "step" in signatures else next(iter(signatures))
        self._step = self.interpreter.get_signature_runner(key)
        self._inputs = self._step.get_input_details()
        self._outputs = self._step.get_output_details()
        self._reset = self.interpreter.get_signature_runner("reset") if "reset" in signatures else None
        self._state_names = sorted(n for n in self._inputs if n.startswith("state_"))
        if len(self._state_names) != (info["num_states"] if self.state == "external" else 0):
            raise ValueError(f"The model's state inputs {self._state_names} do not match its metadata {info}.")
        # Tensors set and read by index through the signature's own interpreter wrapper (what
        # `SignatureRunner.__call__` does, minus its per-call resize and allocation of every input,
        # a large share of a 20 ms hop); the public `Interpreter.set_tensor` / `invoke` refuse to run
        # while a signature runner exists.
        self._wrapper = getattr(self._step, "_interpreter_wrapper", None)
        self._subgraph = getattr(self._step, "_subgraph_index", None)
        self._direct = self._wrapper is not None and self._subgraph is not None
        if self._direct:
            self._wrapper.AllocateTensors(self._subgraph)
        self._feedback = []  # (output index, input index, output details, input details or None if same)
        for name in self._state_names:
            src, dst = self._outputs["new_" + name], self._inputs[name]
            same = src["dtype"] == dst["dtype"] and src["quantization"] == dst["quantization"]
            self._feedback.append((src["index"], dst["index"], src, None if same else dst))
        self.reset()

    def reset(self):
        """Starts a new stream: zero states."""
        self._states = [
            _quantize(np.zeros(self._inputs[name]["shape"], np.float32), self._inputs[name])
            for name in self._state_names
        ]
        if self._reset is not None:
            self._reset(keep=np.zeros([1], np.float32))

    def step(self, hop):
        """One hop `[hop_samples]` (float32 in [-1, 1]) -> logits `[classes]` (float32)."""
        hop = np.asarray(hop, np.float32).reshape(1, -1)
        if hop.shape[1] != self.hop_samples:
            raise ValueError(f"A hop must have {self.hop_samples} samples. Received: {hop.shape[1]}")
        audio = _quantize(hop, self._inputs["audio"])
        if not self._direct:
            outputs = self._step(audio=audio, **dict(zip(self._state_names, self._states)))
            new = [outputs["new_" + name] for name in self._state_names]
            logits = outputs["logits"]
        else:
            wrapper, subgraph = self._wrapper, self._subgraph
            wrapper.SetTensor(self._inputs["audio"]["index"], audio, subgraph)
            for (_, index, _, _), value in zip(self._feedback, self._states):
                wrapper.SetTensor(index, value, subgraph)
            wrapper.Invoke(subgraph)
            new = [wrapper.GetTensor(index, subgraph) for index, _, _, _ in self._feedback]
            logits = wrapper.GetTensor(self._outputs["logits"]["index"], subgraph)
        for k, (_, _, src, dst) in enumerate(self._feedback):
            if dst is not None:  # an int8 file whose output and input scales differ
                new[k] = _quantize(_dequantize(new[k], src), dst)
        self._states = new
        return _dequantize(logits, self._outputs["logits"])[0]

    def invoke(self):
        """Runs the step once more on the tensors already set (the model alone, for latency measurements)."""
        if self._direct:
            self._wrapper.Invoke(self._subgraph)
        else:
            self._step(audio=np.zeros(self._inputs["audio"]["shape"], self._inputs["audio"]["dtype"]),
                       **dict(zip(self._state_names, self._states)))  # fmt: skip
