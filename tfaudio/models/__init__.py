"""Model zoo: `available()` lists the registered names, `build()` makes one."""

from tfaudio.models.registry import available, build, load, register

__all__ = ["available", "build", "load", "register"]
