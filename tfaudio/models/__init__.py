"""Model zoo: `available()` lists the registered names, `build()` makes one."""

from tfaudio.models.registry import available, build, register

__all__ = ["available", "build", "register"]
