"""Model zoo: `available()` lists the registered names, `build()` makes one; `Backbone` and `Task` are their bases."""

from tfaudio.models.registry import available, build, load, register


def __getattr__(name):
    # The base classes import Keras (TensorFlow); load them on first use.
    if name in ("Backbone", "Task"):
        from tfaudio.models.backbone import Backbone
        from tfaudio.models.task import Task

        return {"Backbone": Backbone, "Task": Task}[name]
    raise AttributeError(f"module 'tfaudio.models' has no attribute {name!r}")


__all__ = ["Backbone", "Task", "available", "build", "load", "register"]
