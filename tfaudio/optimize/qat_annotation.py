"""Which QuantizeConfig each layer of a model gets for quantization-aware training (the graph walk)."""

import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.optimize.quantize_configs import quantize_configs
from tfaudio.optimize.tf_keras_models import tfmot as _tfmot


def _consumers(layer):
    return [node.outbound_layer for node in layer._outbound_nodes]


def _producers(layer):
    return [inbound for node in layer._inbound_nodes for inbound in tf.nest.flatten(node.inbound_layers)]


def _linear(layer):
    activation = getattr(layer, "activation", None)
    return activation is None or getattr(activation, "__name__", "") == "linear"


def _fusable_relu(layer):
    """A ReLU that TFLite fuses into the preceding conv/dense (ReLU, ReLU6; not leaky)."""
    if not isinstance(layer, keras.layers.ReLU):
        return False
    max_value = None if layer.max_value is None else float(layer.max_value)
    return float(layer.negative_slope) == 0.0 and float(layer.threshold) == 0.0 and max_value in (None, 6.0)


def _folds_into(layer, next_layer):
    """`layer`'s only consumer is the batch norm `next_layer`, which TFLite folds into `layer`'s kernel."""
    from tfaudio.layers.sinc_conv1d import SincConv1D

    # SincConv1D's polyphase layout ends in a RESHAPE (and SLICE) after its CONV_2D, which
    # keeps the converter from folding a following batch norm: it is quantized as it stands.
    del SincConv1D
    kernel_layer = isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D)) and _linear(layer)
    return (
        kernel_layer
        and isinstance(next_layer, keras.layers.BatchNormalization)
        and _consumers(layer) == [next_layer]
        and len(_producers(next_layer)) == 1
    )


def _config_for(layer, supported):
    """The QuantizeConfig tfaudio gives `layer`, or None for tfmot's default 8-bit one."""
    from tfaudio.layers.peak_normalization import PeakNormalization
    from tfaudio.layers.sinc_conv1d import SincConv1D

    output_config, noop_config, kernel_config, unit_config = quantize_configs()
    consumers = _consumers(layer)
    folded = len(consumers) == 1 and _folds_into(layer, consumers[0])
    if folded:
        # Kernel and output left float: the converter folds the batch norm into the
        # kernel, then quantizes the folded kernel per channel itself. Fake-quantizing
        # the kernel before the batch norm keeps the converter from folding
        # (measured: float CONV_2D / FULLY_CONNECTED and batch norm in the .tflite).
        return noop_config()
    if isinstance(layer, SincConv1D):
        return output_config()
    if isinstance(layer, keras.layers.BatchNormalization):
        producers = _producers(layer)
        if len(producers) == 1 and isinstance(producers[0], (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            return None  # tfmot's own Conv2D + BatchNormalization (+ ReLU) recipe
        if len(producers) == 1 and _folds_into(producers[0], layer) and len(consumers) == 1:
            nxt = consumers[0]
            if _fusable_relu(nxt) and supported(nxt):
                # conv -> batch norm -> ReLU/ReLU6: one fused int8 op; the ReLU quantizes the output.
                return noop_config()
        return output_config()
    if supported(layer):
        return None
    if isinstance(layer, PeakNormalization):
        return unit_config()
    if isinstance(layer, keras.layers.Conv1D) and not isinstance(layer, keras.layers.SeparableConv1D):
        return kernel_config()
    if isinstance(layer, (keras.layers.MaxPooling1D, keras.layers.InputLayer)):
        return noop_config()
    if isinstance(layer, keras.layers.Lambda):
        raise ValueError(
            f"Quantization-aware training cannot see inside Lambda layers; replace layer {layer.name!r} "
            f"with a registered layer class. Received: layer={layer.name!r}"
        )
    # tfaudio's own layers (PeakNormalization, LogMelSpectrogram, SincNetAbs, ...) and
    # standard layers without an 8-bit recipe (LayerNormalization, ...): computed in
    # float during training, output quantized.
    return output_config()


def annotate(functional):
    """A clone of `functional` with every layer annotated for `quantize_apply`, weights copied."""
    tfmot = _tfmot()
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry,
    )

    registry = default_8bit_quantize_registry.Default8BitQuantizeRegistry()
    annotate = tfmot.quantization.keras.quantize_annotate_layer

    def clone(layer):
        config = _config_for(layer, registry.supports)
        fresh = layer.__class__.from_config(layer.get_config())
        return annotate(fresh) if config is None else annotate(fresh, quantize_config=config)

    annotated = keras.models.clone_model(functional, clone_function=clone)
    annotated.set_weights(functional.get_weights())
    return annotated
