"""Exception types raised by tfaudio."""


class AudioError(ValueError):
    """Bad audio input: the message names the file (or argument) and the reason."""
