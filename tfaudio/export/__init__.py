"""Export to TFLite (builtin ops only) and to SavedModel for TensorFlow Serving."""

from tfaudio.export.saved_model import to_saved_model
from tfaudio.export import calibration  # noqa: F401
from tfaudio.export.tflite import QUANTIZE_MODES, to_tflite
from tfaudio.runtime import TFLiteModel, tflite_op_names

__all__ = ["QUANTIZE_MODES", "TFLiteModel", "tflite_op_names", "to_saved_model", "to_tflite"]
