"""What tfmot needs before it wraps a model: tfaudio on tf_keras, tfmot installed, a flat functional graph."""

from tfaudio.backend import USE_LEGACY_KERAS, keras

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


def tfmot():
    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "Quantization-aware training and pruning need tensorflow-model-optimization and tf-keras: "
            "pip install 'tfaudio[optimize]'"
        ) from e
    return tfmot
