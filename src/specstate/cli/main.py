"""Entry point of the ``specstate`` command: dispatches to one module per sub-command.

Each command module ``specstate.cli.<name>`` defines ``HELP`` (one line), ``configure(parser)``
(adds its arguments) and ``run(args) -> int``. Errors of bad input
(:class:`specstate.exceptions.SpecstateError`, missing files) become ``error: ...`` on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .._version import __version__
from ..exceptions import SpecstateError

# Order shown in --help.
COMMANDS = ("demo", "simulate", "info", "fit", "classify", "changes", "watch", "report")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _command_modules():
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"specstate.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not present in this build
            if exc.name == f"specstate.cli.{name}":
                continue
            raise
        yield name, module


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="specstate",
        description="Tell, on the fly, which state a sample is in from its 1-D spectra.",
    )
    parser.add_argument("--version", action="version", version=f"specstate {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def run_command(run, args) -> int:
    """Run a command's ``run(args)``, turning bad input into one line and exit status 2."""
    try:
        return int(run(args) or 0)
    except SpecstateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    """Run the ``specstate`` command line with `argv` (default: ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_USAGE
    return run_command(args._run, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
