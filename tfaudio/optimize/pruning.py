"""Magnitude pruning of tfaudio models with tensorflow-model-optimization, on tf_keras."""

from tfaudio.backend import keras
from tfaudio.optimize.tf_keras_models import as_functional, require_tf_keras
from tfaudio.optimize.tf_keras_models import tfmot as _tfmot


def _prunable(layer):
    """Dense and convolution layers (their `kernel` is pruned); everything else is left as it is.

    SincConv1D (two cut-off weights per filter), normalisations and tfaudio's other
    layers are not wrapped.
    """
    layers = keras.layers
    kinds = (layers.Dense, layers.Conv1D, layers.Conv2D, layers.DepthwiseConv2D)
    return isinstance(layer, kinds + (layers.SeparableConv1D, layers.SeparableConv2D))


def prune(model, target_sparsity=0.5, begin_step=0, end_step=1000, initial_sparsity=0.0, frequency=100):
    """Wraps the Dense and convolution layers of a tf_keras model for magnitude pruning.

    tfmot's `prune_low_magnitude` with a `PolynomialDecay` schedule from
    `initial_sparsity` at `begin_step` to `target_sparsity` at `end_step`. Only
    Dense/Conv kernels are pruned; tfaudio's own layers (`SincConv1D`, whose
    filters are two numbers each, `PeakNormalization`, ...) and normalisation
    layers stay as they are. Fit with `tfmot.sparsity.keras.UpdatePruningStep()`
    in the callbacks, then call `strip_pruning` before saving or exporting.

    Args:
        model: tf_keras functional or Sequential model (built under
            `TF_USE_LEGACY_KERAS=1`), without nested models.
        target_sparsity: float in [0, 1). Fraction of each pruned kernel set to
            zero at `end_step`. Defaults to 0.5.
        begin_step: int. Training step at which pruning starts. Defaults to 0.
        end_step: int. Step at which `target_sparsity` is reached. Defaults to 1000.
        initial_sparsity: float. Sparsity at `begin_step`. Defaults to 0.0.
        frequency: int. Masks are updated every `frequency` steps. Defaults to 100.

    Returns:
        A new tf_keras model with the same weights, Dense/Conv layers wrapped.

    Raises:
        ValueError: bad arguments, tfaudio not running on tf_keras, a nested or
            subclassed model, or a model without any Dense/Conv layer.

    Example:
    >>> pruned = prune(model, target_sparsity=0.5, end_step=steps_per_epoch * 4)
    >>> pruned.compile("adam", loss)
    >>> pruned.fit(ds, epochs=5, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    >>> tfaudio.export.to_tflite(strip_pruning(pruned), "pruned.tflite")
    """
    require_tf_keras(model, what="Pruning")
    if not 0.0 <= initial_sparsity <= target_sparsity < 1.0:
        raise ValueError(
            "Sparsities must satisfy 0 <= initial_sparsity <= target_sparsity < 1. "
            f"Received: initial_sparsity={initial_sparsity}, target_sparsity={target_sparsity}"
        )
    if not (isinstance(begin_step, int) and isinstance(end_step, int) and 0 <= begin_step < end_step):
        raise ValueError(
            "Steps must be ints with 0 <= begin_step < end_step. "
            f"Received: begin_step={begin_step}, end_step={end_step}"
        )
    if not isinstance(frequency, int) or frequency < 1:
        raise ValueError(f"`frequency` must be a positive int. Received: frequency={frequency!r}")
    tfmot = _tfmot()
    functional = as_functional(model, what="Pruning")
    if not any(_prunable(layer) for layer in functional.layers):
        raise ValueError(f"Model {model.name!r} has no Dense or Conv layer to prune. Received: model={model.name!r}")
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=initial_sparsity,
        final_sparsity=target_sparsity,
        begin_step=begin_step,
        end_step=end_step,
        frequency=frequency,
    )

    def clone(layer):
        fresh = layer.__class__.from_config(layer.get_config())
        if _prunable(layer):
            return tfmot.sparsity.keras.prune_low_magnitude(fresh, pruning_schedule=schedule)
        return fresh

    pruned = keras.models.clone_model(functional, clone_function=clone)
    originals = {layer.name: layer for layer in functional.layers}
    for layer in pruned.layers:
        inner = getattr(layer, "layer", layer)  # the layer inside a pruning wrapper
        if inner.weights:
            inner.set_weights(originals[inner.name].get_weights())
    return pruned


def strip_pruning(model):
    """Removes the pruning wrappers, keeping the pruned (zeroed) kernels: a plain tf_keras model to export.

    Args:
        model: a model returned by `prune` (usually after fitting).

    Returns:
        A tf_keras functional model with the original layer types.

    Example:
    >>> final = strip_pruning(pruned)
    >>> tfaudio.export.to_tflite(final, "model.tflite")
    """
    require_tf_keras(model, what="Pruning")
    return _tfmot().sparsity.keras.strip_pruning(model)
