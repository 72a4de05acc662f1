"""Atomic writes: every file or folder tfaudio writes appears whole under its name, or not at all.

Each output is written to a hidden temporary name in the destination folder and renamed over
the destination only once complete (`os.replace`, atomic on POSIX file systems). A SIGKILL, a
crash or a full disk while writing leaves the earlier file untouched (plus, after a SIGKILL, a
`.NAME.tmp-PID-*` leftover, removed by the next write of the same name once PID is gone).

Example:
    >>> write_json("run/metrics.json", {"accuracy": 0.97})
    >>> with atomic_path("run/model.keras") as tmp:  # the suffix is kept: Keras needs ".keras"
    ...     model.save(tmp)
"""

import contextlib
import errno
import json
import os
import secrets
import shutil

_TMP = ".tmp-"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def _clean_leftovers(folder, name):
    """Removes temporaries of `name` left by killed writers (their PID no longer runs)."""
    prefix = f".{name}{_TMP}"
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if entry.startswith(prefix):
            pid = entry[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                _remove(os.path.join(folder, entry))


# Write failures TensorFlow reports as its own errors (SavedModel variables), told by their text.
_TF_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EIO)


def _write_error(error, path):
    """The OSError of a failed write, naming the destination rather than the temporary; else None."""
    if isinstance(error, OSError) and error.errno is not None:
        return OSError(error.errno, f"cannot write {path}: {os.strerror(error.errno)}", path)
    if any(cls.__name__ == "OpError" for cls in type(error).__mro__):  # tf.errors.*, no TF import
        for code in _TF_WRITE_ERRNOS:
            if os.strerror(code) in str(error):
                return OSError(code, f"cannot write {path}: {os.strerror(code)}", path)
    return None


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it to `path` when the block succeeds.

    Works for files and for folders (a SavedModel): write whatever you like at the yielded
    path. On success it replaces `path` (an existing folder is moved aside first, then deleted);
    on any error the temporary is deleted and `path` is untouched. An `OSError` (disk full,
    permissions, ...) is raised again naming `path`: "cannot write PATH: No space left on device".

    Args:
        path: str or path-like. The destination. Its folder is created if missing.
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    _clean_leftovers(folder, name)
    # The whole suffix stays at the end: Keras checks ".keras" and ".weights.h5".
    suffix = "." + name.lstrip(".").partition(".")[2] if "." in name.lstrip(".") else ""
    tmp = os.path.join(folder, f".{name}{_TMP}{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    try:
        yield tmp
        if not os.path.lexists(tmp):
            raise FileNotFoundError(errno.ENOENT, f"nothing was written for {path}", tmp)
        if os.path.isdir(tmp):
            _replace_folder(tmp, path)
        else:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())  # the data reaches the disk before the name does
            os.replace(tmp, path)
    except BaseException as e:
        _remove(tmp)
        named = _write_error(e, path)
        if named is not None:
            raise named from e
        raise


def _replace_folder(tmp, path):
    if not os.path.lexists(path):
        os.replace(tmp, path)
        return
    # Two renames: a crash between them leaves the earlier folder complete under `old`.
    old = f"{tmp}-old"
    os.replace(path, old)
    os.replace(tmp, path)
    _remove(old)


def write_bytes(path, data):
    """Writes `data` to `path` atomically; returns `path`."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path


def write_text(path, text):
    """Writes the str `text` (UTF-8) to `path` atomically; returns `path`."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, value):
    """Writes `value` as indented, key-sorted JSON (with a final newline) atomically; returns `path`."""
    return write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")
