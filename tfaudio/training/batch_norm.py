"""Precise BatchNorm: re-estimating every BatchNormalization's moving statistics after training."""

import numpy as np

from tfaudio.backend import keras
from tfaudio.layers.sub_spectral_normalization import SubSpectralNormalization

# Layers with moving statistics updated as `moving * momentum + batch * (1 - momentum)`.
_NORMALIZATIONS = (keras.layers.BatchNormalization, SubSpectralNormalization)


def batch_norm_layers(model):
    """Every `BatchNormalization` (and BC-ResNet's `SubSpectralNormalization`) in `model`, nested sub-models included."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, _NORMALIZATIONS)
    ]


def reestimate_batch_norm(model, data, batches=20):
    """Sets every BatchNormalization's moving statistics to the mean over `batches` training batches.

    With momentum 0.99, a few hundred steps leave the moving averages largely at
    their initial 0/1, so deep BatchNorm networks (DenseNet, ResNet, Inception)
    predict at chance in inference mode after a short run even when training
    accuracy is high. Averaging the batch statistics of the trained network
    ("precise BN", Wu & Johnson 2021, arXiv 2105.07576) fixes the estimate
    without changing any trained weight.

    Args:
        model: keras.Model, trained.
        data: an iterable of batches: arrays `[batch, ...]`, `(x, y)` pairs or a
            `tf.data.Dataset` of them (training data, as the model saw it).
        batches: int. Batches averaged at most.

    Returns:
        The number of layers updated (0: nothing to do, the model is unchanged).
    """
    if batches < 1:
        raise ValueError(f"`batches` must be positive. Received: batches={batches!r}")
    layers = batch_norm_layers(model)
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    try:
        for k, batch in enumerate(data):
            if k >= batches:
                break
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = k / (k + 1)  # the running mean over the batches seen so far
            model(np.asarray(x), training=True)  # eager: each call reads the momentum
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return len(layers)
