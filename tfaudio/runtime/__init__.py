"""Running exported `.tflite` models with LiteRT alone: this package never imports TensorFlow.

A Raspberry Pi or an app's build machine installs `ai-edge-litert`, NumPy and soundfile, not
TensorFlow; everything here (the runner, the metadata reader, the input normalisation the
runner applies) works there. `tfaudio.io` (audio loading) and `tfaudio.bench` (latency) are
TensorFlow-free as well.
"""

from tfaudio.runtime.metadata import METADATA_NAME, read_metadata
from tfaudio.runtime.normalization import peak_normalize
from tfaudio.runtime.tflite_model import TFLiteModel, tflite_op_names

__all__ = ["METADATA_NAME", "TFLiteModel", "peak_normalize", "read_metadata", "tflite_op_names"]
