"""The Keras that tfaudio layers and models are built with.

Keras 3 by default. With `TF_USE_LEGACY_KERAS=1` (the path that
`tensorflow-model-optimization` needs for quantization-aware training and pruning),
the same layer code runs on `tf_keras` (Keras 2). Layers therefore use TF ops in
`call`, keyword arguments in `add_weight`, and nothing from `keras.ops`.
"""

import os

USE_LEGACY_KERAS = os.environ.get("TF_USE_LEGACY_KERAS", "0").lower() in ("1", "true", "yes")

if USE_LEGACY_KERAS:
    import tf_keras as keras  # noqa: F401
else:
    import keras  # noqa: F401


def register_serializable(cls):
    """Registers `cls` under the package name "tfaudio" for `.keras` saving."""
    return keras.saving.register_keras_serializable(package="tfaudio")(cls)
