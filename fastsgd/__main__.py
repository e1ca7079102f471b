"""The ``fastsgd`` command line tool (also ``python -m fastsgd``).

Each sub-command lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``; this file only wires them together, importing only the
module of the sub-command that runs.
"""

import argparse
import importlib
import sys

from fastsgd._version import __version__

# sub-command -> (module, one-line help)
COMMANDS = {
    "compare": (
        "fastsgd._experiment.cli",
        "reproduce Wilson & Martinez: on-line vs mini-batch vs full-batch training",
    ),
    "bench": (
        "fastsgd._benchmark",
        "speed table against scikit-learn (and PyTorch when installed)",
    ),
}


def build_parser(command=None):
    """The command line's parser, with the options of sub-command ``command``
    (all of them when None)."""
    parser = argparse.ArgumentParser(
        prog="fastsgd",
        description="Fast on-line, mini-batch and full-batch SGD for MLPs.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(
            name, help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if command in (None, name):
            module = importlib.import_module(module_name)
            sub.description = module.__doc__
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if arg in COMMANDS), "")
    args = build_parser(command).parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
