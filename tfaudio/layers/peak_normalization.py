"""PeakNormalization: scales each example so that its largest absolute sample is 1."""

import tensorflow as tf

from tfaudio.backend import keras, register_serializable
from tfaudio.runtime.normalization import peak_normalize  # noqa: F401  (the NumPy twin, re-exported)


@register_serializable
class PeakNormalization(keras.layers.Layer):
    """Divides each example by its peak absolute value, so that models see every clip at full scale.

    `y = x / max(max(|x|), floor)`, the maximum taken over all axes but the
    batch axis. The layer has no weights and is idempotent: a clip that already
    peaks at 1 passes through unchanged.

    As the first layer of a raw-waveform model it makes the model independent
    of the recording level, and it is what lets such a model run in full int8:
    an int8 input has 256 levels for every clip, so a clip peaking at 0.05 would
    keep about 13 of them unless it is normalised *before* it is quantised.
    `tfaudio.export.to_tflite` therefore records a leading `PeakNormalization`
    in the TFLite file's metadata, calibrates on normalised clips, and
    `tfaudio.export.TFLiteModel` normalises inputs before quantising them. On a
    device, do the same: divide by the peak, then quantise.

    Args:
        floor: float > 0. Peaks below `floor` are divided by `floor` instead,
            so near-silence is amplified at most `1 / floor` times (and all-zero
            input stays zero). Defaults to 1e-3 (-60 dBFS).
        **kwargs: base layer arguments (`name`, `dtype`).

    Input shape:
        `(batch, ...)`, e.g. waveforms `(batch, samples)`.

    Output shape:
        Same as the input.

    Example:
    >>> layer = PeakNormalization()
    >>> layer(tf.constant([[0.1, -0.2, 0.05]])).numpy()
    array([[ 0.5 , -1.  ,  0.25]], dtype=float32)
    """

    def __init__(self, floor=1e-3, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(floor, (int, float)) or isinstance(floor, bool) or not floor > 0:
            raise ValueError(f"`floor` must be a positive number. Received: floor={floor!r}")
        self.floor = float(floor)

    def call(self, inputs):
        axes = list(range(1, len(inputs.shape)))
        peak = tf.reduce_max(tf.abs(inputs), axis=axes, keepdims=True)
        return inputs / tf.maximum(peak, tf.cast(self.floor, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"floor": self.floor})
        return config


def leading_peak_normalization(model):
    """The `PeakNormalization` layer applied to `model`'s single input, or None.

    Directly, or as a quantization-aware model has it: wrapped (tfmot's
    `QuantizeWrapper` and pruning wrappers keep the layer in `.layer`) and
    after tfmot's input `QuantizeLayer` (matched by class name: tfmot is an
    optional dependency). Layers may be shared with other models
    (`quantize_aware` re-wraps the graph), so every call of a layer is checked.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        return None
    sources = {id(inputs[0])}
    for layer in model.layers:
        if type(layer).__name__ == "QuantizeLayer" and _called_on(layer, sources):
            sources |= {id(t) for node in layer._inbound_nodes for t in tf.nest.flatten(node.output_tensors)}
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)
        if isinstance(inner, PeakNormalization) and _called_on(layer, sources):
            return inner
    return None


def _called_on(layer, tensor_ids):
    return any(id(t) in tensor_ids for node in layer._inbound_nodes for t in tf.nest.flatten(node.input_tensors))
