"""The `tfaudio` command: train, evaluate, export, bench, and `run` (all four in a row).

Building the parser imports no TensorFlow: sub-command modules keep TensorFlow imports inside
functions, and a sub-command's arguments are added only when that command is parsed (`train`
needs TensorFlow for its choices). So `tfaudio bench model.tflite` runs with LiteRT alone.
"""

import argparse
import importlib
import os
import sys

# name -> module in tfaudio.cli with HELP, add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "train": "tfaudio.cli.train",
    "evaluate": "tfaudio.cli.evaluate",
    "export": "tfaudio.cli.export",
    "predict": "tfaudio.cli.predict",
    "bench": "tfaudio.cli.bench",
    "run": "tfaudio.cli.run",
}


class _LazySubParsers(argparse._SubParsersAction):
    """Sub-parsers whose arguments are added when their command is seen on the command line."""

    def __call__(self, parser, namespace, values, option_string=None):
        sub = self._name_parser_map.get(values[0])
        module = getattr(sub, "_tfaudio_module", None)
        if module is not None:
            sub._tfaudio_module = None
            module.add_arguments(sub)
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


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return args._module.run(args)


if __name__ == "__main__":
    sys.exit(main())
