"""`_worker.py train` that SIGKILLs itself at a chosen point of the run (not a test module).

TFAUDIO_TEST_KILL="POINT:N" kills the process at the N-th (1-based) time POINT is reached:
  backup_weights   inside the backup write, the new weights half-written to their temporary file
  backup_metadata  after the backup's weights file is complete, before the metadata naming it
  checkpoint       inside the checkpoints/last.keras write, the temporary file complete, not renamed
  final            inside the final model.keras write, the temporary file complete, not renamed
"""

import contextlib
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.training import _worker  # noqa: E402


def _install(point, count):
    from tfaudio.training import callbacks, trainer

    calls = {"n": 0}

    def due():
        calls["n"] += 1
        return calls["n"] == count

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point in ("backup_weights", "backup_metadata"):
        original_save_weights = callbacks.keras.Model.save_weights
        original_write_json = callbacks.write_json

        def save_weights(model, path, *args, **kwargs):
            original_save_weights(model, path, *args, **kwargs)
            if point == "backup_weights" and ".tmp-" in path and due():
                with open(path, "r+b") as f:  # as if the write had stopped half-way
                    f.truncate(os.path.getsize(path) // 2)
                die()

        def write_json(path, value):
            if point == "backup_metadata" and path.endswith("training_metadata.json") and due():
                die()
            return original_write_json(path, value)

        callbacks.keras.Model.save_weights = save_weights
        callbacks.write_json = write_json
    elif point in ("checkpoint", "final"):
        module, name = (callbacks, "last.keras") if point == "checkpoint" else (trainer, "model.keras")
        original = module.atomic_path

        @contextlib.contextmanager
        def atomic_path(path):
            with original(path) as tmp:
                yield tmp
                if path.endswith(name) and due():
                    die()

        module.atomic_path = atomic_path
    else:
        raise ValueError(f"unknown kill point {point!r}")


if __name__ == "__main__":
    kill = os.environ.get("TFAUDIO_TEST_KILL")
    if kill:
        point, _, count = kill.partition(":")
        _install(point, int(count or 1))
    _worker.main()
