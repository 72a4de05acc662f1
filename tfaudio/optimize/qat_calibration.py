"""Starting a quantization-aware model's activation ranges at the float model's min/max on data."""

import tensorflow as tf

from tfaudio.backend import keras
from tfaudio.optimize.tf_keras_models import as_functional


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
