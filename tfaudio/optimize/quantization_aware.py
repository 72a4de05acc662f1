"""Quantization-aware training (QAT) of tfaudio models with tensorflow-model-optimization, on tf_keras."""

import functools
import warnings

import tensorflow as tf

from tfaudio.atomic import write_bytes
from tfaudio.backend import USE_LEGACY_KERAS, keras
from tfaudio.ops.stft import builtin_ops_only

_LEGACY_HINT = (
    "Quantization-aware training needs tf_keras (tensorflow-model-optimization does not support "
    "Keras 3): set TF_USE_LEGACY_KERAS=1 before importing tensorflow or tfaudio, e.g. "
    "`TF_USE_LEGACY_KERAS=1 python train.py`, and install `tfaudio[optimize]`."
)


def require_tf_keras(model=None, what="Quantization-aware training"):
    """Raises ValueError unless tfaudio runs on tf_keras and `model` (if given) is a tf_keras model."""
    hint = _LEGACY_HINT.replace("Quantization-aware training", what)
    if not USE_LEGACY_KERAS:
        raise ValueError(f"{hint} Received: TF_USE_LEGACY_KERAS unset (tfaudio runs on Keras 3).")
    if model is not None and not isinstance(model, keras.Model):
        raise ValueError(f"{hint} Received: model of type {type(model).__module__}.{type(model).__name__}.")


def as_functional(model, what="Quantization-aware training"):
    """`model` as a plain tf_keras functional model sharing its layers (tfmot clones only those).

    Raises ValueError naming the first nested sub-model (tfmot cannot wrap a model inside a model).
    """
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise ValueError(
                f"{what} cannot handle nested models: layer {layer.name!r} of model {model.name!r} is "
                f"itself a model ({type(layer).__name__}), e.g. a keras.applications backbone. "
                f"Build the model flat (layers directly in one functional graph). Received: layer={layer.name!r}"
            )
    if isinstance(model, keras.Sequential):
        return model
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(
            f"{what} needs a functional or Sequential model (a graph of layers), not a subclassed model "
            f"with its own `call`. Received: model={model.name!r} of type {type(model).__name__}"
        )
    if type(model) is keras.Model or type(model).__name__ == "Functional":
        return model
    # A keras-hub style subclass (SincNet, ...) whose __init__ built a functional graph:
    # tfmot's clone_model would rebuild it from its config, so re-wrap the same graph.
    return keras.Model(model.inputs, model.outputs, name=model.name)


def _tfmot():
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "Quantization-aware training and pruning need tensorflow-model-optimization and tf-keras: "
            "pip install 'tfaudio[optimize]'"
        ) from e
    return tfmot


@functools.lru_cache(maxsize=None)
def _quantize_configs():
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


def _custom_objects():
    """Everything `quantize_scope` must know to clone/deserialize the annotated model."""
    import tfaudio.layers as layers_module
    from tfaudio.models.sincnet import SincNetAbs

    output_config, noop_config, kernel_config, unit_config = _quantize_configs()
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

    kernel_layer = isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D, SincConv1D)) and _linear(layer)
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

    output_config, noop_config, kernel_config, unit_config = _quantize_configs()
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


def _annotate(functional):
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


_RANGE_SUFFIXES = ("output_min", "output_max", "post_activation_min", "post_activation_max")


def _batches(data, batch_size=32):
    """Float32 input batches from an array, an iterable of arrays or `(x, y)` pairs, or a tf.data.Dataset."""
    if isinstance(data, (list, tuple)) or hasattr(data, "shape"):
        import numpy as np

        array = np.asarray(data, np.float32)
        for start in range(0, len(array), batch_size):
            yield array[start : start + batch_size]
        return
    for item in data:
        if isinstance(item, (tuple, list)):
            item = item[0]
        yield item


def calibrate_ranges(qat, model, data, max_examples=512):
    """Sets `qat`'s activation ranges to the min/max that float `model` reaches on `data`.

    tfmot starts every activation range at [-6, 6] and moves it with an
    exponential moving average (decay 0.999), so a short QAT fine-tune (a few
    hundred steps) keeps ranges far from the data: clipped log-mel values, half
    the levels of a ReLU6 output unused. This starts them where post-training
    calibration would; training then refines them as usual.

    Args:
        qat: the model `quantize_aware(model)` returned.
        model: the float tf_keras model it was made from.
        data: arrays `[examples, ...]`, an iterable of batches or `(x, y)`
            pairs, or a `tf.data.Dataset` of them.
        max_examples: int. Examples used at most. Defaults to 512.

    Returns:
        Dict from layer name to the `(min, max)` set.
    """
    functional = as_functional(model)
    targets = {}
    for layer in qat.layers:
        inner = getattr(layer, "layer", None)
        ranges = [w for w in layer.non_trainable_weights if w.name.split("/")[-1].split(":")[0] in _RANGE_SUFFIXES]
        if inner is not None and ranges and len(ranges[0].shape) == 0:
            targets[inner.name] = ranges
    if not targets:
        return {}
    names = sorted(targets)
    probe = keras.Model(functional.inputs, [functional.get_layer(name).output for name in names])
    low = {name: 0.0 for name in names}  # TFLite needs 0 inside every range
    high = {name: 0.0 for name in names}
    seen = 0
    for batch in _batches(data):
        batch = batch[: max_examples - seen]
        outputs = probe(batch, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, out in zip(names, outputs):
            low[name] = min(low[name], float(tf.reduce_min(out)))
            high[name] = max(high[name], float(tf.reduce_max(out)))
        seen += int(batch.shape[0])
        if seen >= max_examples:
            break
    if seen == 0:
        raise ValueError("`calibration_data` yielded no examples. Received: an empty dataset")
    for name in names:
        for weight in targets[name]:
            weight.assign(low[name] if weight.name.split(":")[0].endswith("_min") else high[name])
    return {name: (low[name], high[name]) for name in names}


def quantize_aware(model, calibration_data=None):
    """Wraps a tf_keras model for quantization-aware training (fake int8 weights and activations).

    tensorflow-model-optimization's default 8-bit scheme handles Dense, Conv2D,
    ReLU, pooling, ...; tfaudio adds `QuantizeConfig`s for what it does not cover:

    - A `Conv1D`/`Dense`/`SincConv1D` followed only by a `BatchNormalization`
      (SincNet's blocks): no fake-quant between the two, so the TFLite converter
      folds the batch norm into the kernel and quantizes the folded kernel per
      channel; the batch norm's output is quantized, or, when a ReLU/ReLU6
      follows, the ReLU's (conv + batch norm + ReLU6 become one int8 CONV_2D).
      Such kernels are not fake-quantized during training (only activations):
      a fake-quantized kernel before the batch norm stops the converter from
      folding (measured: float CONV_2D/FULLY_CONNECTED in the file).
    - Other `Conv1D`s: int8 kernel (one scale per tensor; tfmot's per-channel
      fake quantization takes only 2-D/4-D tensors), quantized output.
    - `SincConv1D` computes its kernel from its `low_hz`/`band_hz` weights, so
      there is no `kernel` weight to fake-quantize: its OUTPUT is quantized and
      the converter quantizes the frozen kernel per channel.
    - `PeakNormalization`: output quantized on the fixed range [-1, 1], and the
      model input is left float (tfmot would quantize raw waveforms with one
      range for all clips, the problem peak normalisation exists to avoid).
    - Other tfaudio layers (`LogMelSpectrogram`, `SincNetAbs`, ...) and standard
      layers without an 8-bit recipe (`LayerNormalization`, ...): computed in
      float, output quantized. In TFLite their inner ops stay float (between a
      DEQUANTIZE and a QUANTIZE): for SincNet that is the peak normalisation
      and the layer norm before the dense layers.
    - `MaxPooling1D`: not quantized (max keeps its input's int8 scale).

    Convert the trained model with `qat_to_tflite` (the fake-quant ranges are
    used; no representative dataset).

    Args:
        model: tf_keras functional or Sequential model, e.g.
            `tfaudio.models.build("sincnet", ...)` built under `TF_USE_LEGACY_KERAS=1`.
            Its layers must sit directly in the graph (no nested models).
        calibration_data: None, or arrays / batches / a `tf.data.Dataset` of
            training inputs: activation ranges then start at the min/max the
            float model reaches on them (`calibrate_ranges`) instead of tfmot's
            [-6, 6], which only a long fine-tune moves. Defaults to None.

    Returns:
        A new tf_keras model with the same weights, wrapped for QAT. Compile and
        fit it as usual.

    Raises:
        ValueError: tfaudio is not running on tf_keras (set
            `TF_USE_LEGACY_KERAS=1` before importing tensorflow), the model is
            subclassed, or it nests a model (e.g. a keras.applications backbone);
            the message names the layer.

    Example:
    >>> # TF_USE_LEGACY_KERAS=1 python ...
    >>> model = tfaudio.models.build("sincnet", 10, sample_rate=8000)
    >>> qat = quantize_aware(model, calibration_data=train_waveforms[:512])
    >>> qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> qat.fit(train_ds, epochs=2)
    >>> qat_to_tflite(qat, "model_int8.tflite")
    """
    require_tf_keras(model)
    tfmot = _tfmot()
    functional = as_functional(model)
    if not functional.built:
        raise ValueError(f"The model must be built (have inputs) before quantization. Received: model={model.name!r}")
    with tfmot.quantization.keras.quantize_scope(_custom_objects()):
        annotated = _annotate(functional)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning)
            try:
                qat = tfmot.quantization.keras.quantize_apply(annotated)
            except (RuntimeError, ValueError, TypeError) as e:
                raise ValueError(
                    f"tfmot could not wrap model {model.name!r} for quantization-aware training: {e}"
                ) from e
    if _leading_peak_normalization(qat) is not None:
        # tfmot quantizes the raw input with one range for every clip; a leading
        # PeakNormalization is better served by a float input, normalised first and
        # then quantized to [-1, 1] (what `to_tflite` and `TFLiteModel` do for int8).
        qat = _without_input_quantizer(qat)
    if calibration_data is not None:
        calibrate_ranges(qat, model, calibration_data)
    return qat


def _without_input_quantizer(qat):
    """`qat` with tfmot's input QuantizeLayer replaced by a pass-through one (other layers shared)."""
    from tensorflow_model_optimization.python.core.quantization.keras.quantize_layer import QuantizeLayer

    def clone(layer):
        if isinstance(layer, QuantizeLayer) and layer.input is qat.inputs[0]:
            return QuantizeLayer(quantizer=None, name=layer.name)
        return layer

    with quantize_scope():
        return keras.models.clone_model(qat, clone_function=clone)


def quantize_scope():
    """`tfmot.quantization.keras.quantize_scope` with tfaudio's configs and layers, to load saved QAT models.

    Save QAT models as HDF5 (`qat.save("qat.h5")`): tfmot 0.8.1's QuantizeLayer
    does not reload from the `.keras` format (variable count mismatch, also for a
    model quantized with plain `tfmot.quantization.keras.quantize_model`).

    Returns:
        A context manager.

    Example:
    >>> with quantize_scope():
    ...     qat = keras.models.load_model("qat.h5")
    """
    tfmot = _tfmot()
    return tfmot.quantization.keras.quantize_scope(_custom_objects())


def qat_to_tflite(model, path, batch_size=None, metadata=None):
    """Converts a quantization-aware model to full-int8 TFLite, builtin ops only.

    As `tfaudio.export.to_tflite` (same serving function, frozen variables,
    `TFLITE_BUILTINS` only, peak-normalisation metadata), but with
    `optimizations=[DEFAULT]` and no representative dataset: the ranges come from
    the fake-quant nodes learned in training. Inputs and outputs stay float32.

    Args:
        model: a model returned by `quantize_aware` (trained).
        path: str. Where the `.tflite` file is written.
        batch_size: int or None. None keeps the batch dimension dynamic.
        metadata: dict or None. Stored under "tfaudio" as `to_tflite` does.

    Returns:
        `path`.

    Raises:
        ValueError: the converter needs ops outside the TFLite builtins.

    Example:
    >>> qat_to_tflite(qat, "model_int8.tflite")
    >>> tfaudio.export.TFLiteModel("model_int8.tflite")(waveforms)
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from tfaudio.export.tflite import _offending_ops, _serving_function
    from tfaudio.export.tflite_metadata import write_metadata

    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict or None. Received: metadata={metadata!r}")
    metadata = dict(metadata or {})
    normalization = _leading_peak_normalization(model)
    if normalization is not None:
        metadata["input_normalization"] = {"type": "peak", "floor": normalization.floor}

    # Traced inside builtin_ops_only(): spectrogram layers take their DFT path, not the FFT.
    with builtin_ops_only():
        concrete = _serving_function(model, batch_size).get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        flatbuffer = converter.convert()
    except Exception as e:  # ConverterError and friends
        ops = _offending_ops(str(e))
        raise ValueError(
            f"Model {model.name!r} cannot be converted to TFLite with builtin ops only (QAT int8). "
            f"Offending ops: {', '.join(ops) or 'see below'}.\n{e}"
        ) from e
    if metadata:
        flatbuffer = write_metadata(flatbuffer, metadata)
    write_bytes(path, flatbuffer)
    return path


def _leading_peak_normalization(model):
    """The PeakNormalization layer (bare or QAT-wrapped) applied to `model`'s single input, or None.

    Directly, or after tfmot's input QuantizeLayer. Layers may be shared with other
    models (`quantize_aware` re-wraps the graph), so every call of a layer is checked.
    """
    from tfaudio.layers.peak_normalization import PeakNormalization

    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        return None
    sources = {id(inputs[0])}
    for layer in model.layers:
        if type(layer).__name__ == "QuantizeLayer" and _called_on(layer, sources):
            sources |= {id(t) for node in layer._inbound_nodes for t in tf.nest.flatten(node.output_tensors)}
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)  # QuantizeWrapper / PruneLowMagnitude keep it in `.layer`
        if isinstance(inner, PeakNormalization) and _called_on(layer, sources):
            return inner
    return None


def _called_on(layer, tensor_ids):
    return any(id(t) in tensor_ids for node in layer._inbound_nodes for t in tf.nest.flatten(node.input_tensors))
