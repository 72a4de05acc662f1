"""The `tfaudio` command: train, evaluate, export, bench, and `run` (all four in a row).

Building the parser imports no TensorFlow: sub-command modules keep TensorFlow imports inside
functions, and a sub-command's arguments are added only when that command is parsed (`train`
needs TensorFlow for its choices). So `tfaudio bench model.tflite` runs with LiteRT alone, and on
the `tfaudio-runtime` install (no TensorFlow) the other commands stop with an error saying so.
"""

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

from tfaudio.errors import UserError

# name -> module in tfaudio.cli with HELP, add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "train": "tfaudio.cli.train",
    "evaluate": "tfaudio.cli.evaluate",
    "export": "tfaudio.cli.export",
    "predict": "tfaudio.cli.predict",
    "bench": "tfaudio.cli.bench",
    "run": "tfaudio.cli.run",
    "download": "tfaudio.cli.download",
    "detect": "tfaudio.cli.detect",
}


# Top-level modules of the full install that the tfaudio-runtime distribution does not pull.
FULL_INSTALL_MODULES = ("tensorflow", "keras", "tf_keras", "tensorboard")


def _needs_full_install(command, error):
    """SystemExit for a command that imported TensorFlow (or Keras) on an install without it."""
    if error.name is None or error.name.split(".")[0] not in FULL_INSTALL_MODULES:
        raise error
    return SystemExit(
        f"error: `tfaudio {command}` needs {error.name}, which is not installed (the tfaudio-runtime "
        "install runs .tflite models only: bench, and evaluate/predict/detect on .tflite files). "
        "Install the full package for this command: pip install tfaudio"
    )


class _LazySubParsers(argparse._SubParsersAction):
    """Sub-parsers whose arguments are added when their command is seen on the command line."""

    def __call__(self, parser, namespace, values, option_string=None):
        sub = self._name_parser_map.get(values[0])
        module = getattr(sub, "_tfaudio_module", None)
        if module is not None:
            sub._tfaudio_module = None
            try:
                module.add_arguments(sub)
            except ModuleNotFoundError as e:
                raise _needs_full_install(values[0], e) from e
        super().__call__(parser, namespace, values, option_string)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfaudio",
        description="Audio classification with Keras: train, evaluate, export to TFLite/SavedModel, benchmark.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=_LazySubParsers)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p._tfaudio_module = module
        p.set_defaults(_module=module)
    return parser


# Exit status of a user error, as argparse uses for bad flags.
USAGE_ERROR = 2


# TensorFlow start-up lines printed while it is imported, before any log level applies.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IW]\d{4} \S+ +\d+ \S+:\d+\] "  # absl info/warning lines (cudart_stub, ...)
    r"|E\d{4} .*(Unable to register cu(DNN|FFT|BLAS) factory|failed call to cuInit)"
    r"|.*oneDNN custom operations are on)"
)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Imports `tensorflow` with fd 2 sent to a file, then replays all but its start-up noise."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once, and let the other finders locate it
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def quiet_exec_module(module):
                with _filtered_stderr():
                    exec_module(module)
                    module.config.list_physical_devices()  # CUDA probing (cuInit) happens here

            spec.loader.exec_module = quiet_exec_module
        return spec


@contextlib.contextmanager
def _filtered_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines(True)
            kept = [line for line in lines if not _TF_NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def _quiet_tensorflow():
    """Keeps TensorFlow's start-up lines (CUDA probing, absl's "All log messages before
    absl::InitializeLog()", oneDNN) off the terminal; TFAUDIO_TF_LOGS=1 shows them."""
    if os.environ.get("TFAUDIO_TF_LOGS"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def _user_error_message(error):
    """The one-line message for an error caused by the user's input, or None for a bug."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, ValueError):  # AudioError and the library's "Received: x=..." checks
        return str(error)
    if isinstance(error, OSError):  # missing/unreadable files, a full disk
        if error.filename is not None and error.strerror and str(error.filename) not in error.strerror:
            return f"{error.filename}: {error.strerror}"
        return error.strerror or str(error)
    # tf.errors.OpError (a dataset stopped by a bad file), matched by name: no TensorFlow import.
    if any(cls.__name__ == "OpError" for cls in type(error).__mro__):
        return getattr(error, "message", str(error))
    return None


def main(argv=None):
    """Runs one sub-command; returns its exit status.

    Errors of the user (bad files, specs, flags, a model of the wrong kind) end as one
    `error: ...` line on stderr and status 2 (TFAUDIO_TRACEBACK=1 shows the traceback);
    anything else is a bug and keeps its traceback.
    """
    _quiet_tensorflow()
    try:
        args = build_parser().parse_args(argv)
        try:
            return args._module.run(args)
        except ModuleNotFoundError as e:
            raise _needs_full_install(args.command, e) from e
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:
        if isinstance(e.code, str):  # raise SystemExit("error: ...") in a sub-command
            print(e.code if e.code.startswith("error:") else f"error: {e.code}", file=sys.stderr)
            return USAGE_ERROR
        raise
    except Exception as e:
        message = _user_error_message(e)
        if message is None or os.environ.get("TFAUDIO_TRACEBACK"):
            raise
        print(f"error: {message.strip()}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
