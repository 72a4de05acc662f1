"""Registers every tfaudio layer and model with Keras once Keras is imported, so Keras' own `load_model` finds them.

`import tfaudio` does not import TensorFlow. When Keras is already loaded it
registers at once; otherwise it leaves a one-shot import hook that registers
right after Keras (or tf_keras under TF_USE_LEGACY_KERAS=1) finishes importing.
"""

import importlib
import os
import sys
import warnings

# Importing these registers every serializable tfaudio class (model families via the registry).
_MODULES = ("tfaudio.layers", "tfaudio.models.registry", "tfaudio.training.schedules")

_registered = False


def keras_module_name():
    """The Keras tfaudio builds on: "tf_keras" under TF_USE_LEGACY_KERAS=1, else "keras"."""
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "0").lower() in ("1", "true", "yes")
    return "tf_keras" if legacy else "keras"


def register_all():
    """Imports every module that defines a serializable tfaudio class (idempotent)."""
    global _registered
    if _registered:
        return
    _registered = True
    for name in _MODULES:
        importlib.import_module(name)
    importlib.import_module("tfaudio.models.registry").load_all()


def _register_quietly():
    try:
        register_all()
    except Exception as e:  # a broken optional import must not break `import keras`
        warnings.warn(f"tfaudio could not register its classes with Keras: {e!r}", stacklevel=2)


class _RegisterAfterImport:
    """A `sys.meta_path` finder: finds `module` with the other finders, and registers tfaudio once it has executed."""

    def __init__(self, module):
        self.module = module

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.module:
            return None
        import importlib.util

        sys.meta_path.remove(self)  # one shot; also keeps the lookup below from recursing
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_quietly()

        spec.loader.exec_module = exec_then_register
        return spec


def install():
    """Registers now when Keras is loaded, else once it is imported."""
    module = keras_module_name()
    if module in sys.modules:
        _register_quietly()
    elif not any(isinstance(f, _RegisterAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterImport(module))
