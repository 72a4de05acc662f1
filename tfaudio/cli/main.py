"""The `tfaudio` command: train, evaluate, export, bench, and `run` (all four in a row)."""

import argparse
import importlib
import os
import sys

# name -> module in tfaudio.cli with HELP, add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "train": "tfaudio.cli.train",
    "evaluate": "tfaudio.cli.evaluate",
    "export": "tfaudio.cli.export",
    "bench": "tfaudio.cli.bench",
    "run": "tfaudio.cli.run",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfaudio",
        description="Audio classification with Keras: train, evaluate, export to TFLite/SavedModel, benchmark.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    return args._module.run(args)


if __name__ == "__main__":
    sys.exit(main())
