"""Streaming keyword spotting: trained windowed models run one hop per call, with state, and a detector.

- `StreamingModel(model)`: the rewrite of a functional Keras classifier (frontend included) into a
  step function `(hop, states) -> (logits, new_states)` whose output equals the model's on the
  window ending at every hop (see `tfaudio.streaming.streaming_model` for the layers that cannot
  stream and why).
- `to_streaming_tflite(stream, path, state="external"|"internal", quantize=None|"dynamic"|"int8")`.
- `StreamingRunner(path)`: runs such a file with LiteRT alone; `Detector`: hops + RecognizeCommands
  smoothing -> `(time_seconds, label, score)` detections; `RecognizeCommands` on its own.

`StreamingRunner`, `Detector` and `RecognizeCommands` import no TensorFlow (a device with only
`ai-edge-litert` runs them); the other names load TensorFlow on first use.
"""

import importlib

_LAZY = {
    "StreamingModel": "tfaudio.streaming.streaming_model",
    "StreamingError": "tfaudio.streaming.streaming_model",
    "register_framewise": "tfaudio.streaming.streaming_model",
    "to_streaming_tflite": "tfaudio.streaming.tflite",
}

from tfaudio.streaming.detector import Detection, Detector  # noqa: E402
from tfaudio.streaming.recognize_commands import RecognizeCommands  # noqa: E402
from tfaudio.streaming.runner import StreamingRunner  # noqa: E402


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfaudio.streaming' has no attribute {name!r}")


__all__ = ["Detection", "Detector", "RecognizeCommands", "StreamingModel", "StreamingError", "StreamingRunner",
           "register_framewise", "to_streaming_tflite"]
