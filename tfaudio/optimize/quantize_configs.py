"""The tfmot `QuantizeConfig`s tfaudio gives layers tfmot's 8-bit scheme does not cover, and the scope that loads them."""

import functools

from tfaudio.backend import keras
from tfaudio.optimize.tf_keras_models import tfmot as _tfmot


@functools.lru_cache(maxsize=None)
def quantize_configs():
    """The QuantizeConfig classes tfaudio uses (defined on first use: tfmot is an optional dependency)."""
    tfmot = _tfmot()
    quantizers = tfmot.quantization.keras.quantizers

    def activation_quantizer():
        return quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)

    class OutputQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Quantizes a layer's output only; its weights (if any) stay float during training.

        Used for tfaudio's own layers, e.g. `SincConv1D`, whose kernel is computed from
        `low_hz`/`band_hz` in `call` (there is no `kernel` weight to fake-quantize): the
        TFLite converter quantizes the frozen kernel per channel at conversion time, and
        the fake-quantized output gives the converter the activation range.
        """

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [activation_quantizer()]

        def get_config(self):
            return {}

    class PassThroughQuantizeConfig(OutputQuantizeConfig):
        """Leaves a layer unquantized (max pooling, a conv feeding a batch norm).

        Not named NoOpQuantizeConfig: that is tfmot's own class, which `quantize_scope` must still find.
        """

        def get_output_quantizers(self, layer):
            return []

    class UnitRangeQuantizeConfig(OutputQuantizeConfig):
        """Output known to lie in [-1, 1] (`PeakNormalization`): a fixed int8 range, nothing to learn."""

        def get_output_quantizers(self, layer):
            return [quantizers.FixedQuantizer(num_bits=8, init_min=-1.0, init_max=1.0, narrow_range=False)]

    class KernelQuantizeConfig(OutputQuantizeConfig):
        """`Conv1D`: int8 kernel (one scale per tensor), quantized output."""

        def __init__(self):
            # Per tensor: tfmot's per-channel fake quantization takes only 2-D/4-D
            # tensors, and a per-channel [width, in, out] kernel expanded to 4-D is
            # then transposed by the converter, which rejects the mismatched axis.
            self._weight_quantizer = quantizers.LastValueQuantizer(
                num_bits=8, per_axis=False, symmetric=True, narrow_range=True
            )

        def get_weights_and_quantizers(self, layer):
            return [(layer.kernel, self._weight_quantizer)]

        def set_quantize_weights(self, layer, quantize_weights):
            (layer.kernel,) = quantize_weights

    return OutputQuantizeConfig, PassThroughQuantizeConfig, KernelQuantizeConfig, UnitRangeQuantizeConfig


def custom_objects():
    """Everything `quantize_scope` must know to clone/deserialize the annotated model."""
    import tfaudio.layers as layers_module
    from tfaudio.models.sincnet import SincNetAbs

    output_config, noop_config, kernel_config, unit_config = quantize_configs()
    objects = {
        "UnitRangeQuantizeConfig": unit_config,
        "OutputQuantizeConfig": output_config,
        "PassThroughQuantizeConfig": noop_config,
        "KernelQuantizeConfig": kernel_config,
        "SincNetAbs": SincNetAbs,
    }
    for name in getattr(layers_module, "__all__", dir(layers_module)):
        obj = getattr(layers_module, name, None)
        if isinstance(obj, type) and issubclass(obj, keras.layers.Layer):
            objects[name] = obj
    return objects
