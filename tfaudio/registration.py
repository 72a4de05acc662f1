"""Registers every tfaudio layer and model with Keras once Keras is loaded, so Keras' own `load_model` finds them.

`import tfaudio` imports no TensorFlow. When Keras (tf_keras under
TF_USE_LEGACY_KERAS=1) is already loaded, it registers at once. Otherwise it
leaves an import hook (a `sys.meta_path` finder) that registers as soon as
Keras has been imported and no tfaudio module is half-way through its own
import (registering earlier would import a half-initialised module); the hook
then removes itself.
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
    for name in _MODULES:
        importlib.import_module(name)
    importlib.import_module("tfaudio.models.registry").load_all()
    _registered = True


def _importing_tfaudio(finished=None):
    """Whether a tfaudio module other than `finished` is still executing its import."""
    for name, module in list(sys.modules.items()):
        if name != finished and (name == "tfaudio" or name.startswith("tfaudio.")):
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                return True
    return False


class _RegistrationHook:
    """Watches the imports of Keras and of tfaudio modules; registers once both conditions hold."""

    def __init__(self, keras_module):
        self.keras_module = keras_module
        self.keras_loaded = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.keras_module and not fullname.startswith("tfaudio."):
            return None
        # The finders after this one find the module (so other hooks, e.g. import blockers, still apply).
        later = sys.meta_path[sys.meta_path.index(self) + 1 :] if self in sys.meta_path else []
        for finder in later:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            self.keras_loaded = self.keras_loaded or fullname == self.keras_module
            if self.keras_loaded and not _importing_tfaudio(finished=fullname):
                uninstall()
                _register_quietly()

        spec.loader.exec_module = exec_then_register
        return spec


def _register_quietly():
    try:
        register_all()
    except Exception as e:  # a broken optional import must not break `import keras`
        warnings.warn(f"tfaudio could not register its classes with Keras: {e!r}", stacklevel=2)


def uninstall():
    """Removes the import hook (registration then happens only through `register_all`)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RegistrationHook)]


def install():
    """Registers now when Keras is loaded, else once it is (called by `import tfaudio`)."""
    module = keras_module_name()
    if module in sys.modules:
        _register_quietly()
    elif not any(isinstance(f, _RegistrationHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegistrationHook(module))
