"""Exception types raised by tfaudio."""


class AudioError(ValueError):
    """Bad audio input: the message names the file (or argument) and the reason."""


class UserError(Exception):
    """A mistake in what the user asked for (a missing file, a bad spec, a model of the wrong kind).

    The `tfaudio` command prints its message as one `error: ...` line and exits with status 2;
    the message names the file or argument.
    """
