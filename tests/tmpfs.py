"""A tiny tmpfs for full-disk tests (`mount -t tmpfs -o size=...`); skips when mounting is not permitted."""

import contextlib
import os
import subprocess

import pytest


@contextlib.contextmanager
def tiny_tmpfs(folder, size="1m"):
    """Mounts a `size` tmpfs on `folder` for the block, unmounting it afterwards."""
    os.makedirs(folder, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder, leave_bytes):
    """Fills the file system of `folder` until about `leave_bytes` remain free; returns the filler path."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    path = os.path.join(folder, "filler")
    with open(path, "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
    return path
