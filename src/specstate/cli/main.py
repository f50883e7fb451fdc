"""Entry point of the ``specstate`` command: dispatches to one module per sub-command.

Each command module ``specstate.cli.<name>`` defines ``HELP`` (one line), ``configure(parser)``
(adds its arguments) and ``run(args) -> int``. Errors of bad input
(:class:`specstate.exceptions.SpecstateError`, missing files) become ``error: ...`` on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import logging
import os
import re
import sys

from .._version import __version__
from ..exceptions import SpecstateError

# Order shown in --help; each is a module specstate.cli.<name> (a missing one is an error).
COMMANDS = ("demo", "simulate", "info", "fit", "classify", "changes", "watch", "report")
#: How close a mistyped option or command must be to a real one to be suggested (difflib).
SUGGEST_CUTOFF = 0.6
_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)'")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: as a shell reports a command ended by SIGPIPE (128 + 13)
EXIT_BROKEN_PIPE = 141


def _command_modules():
    for name in COMMANDS:
        yield name, importlib.import_module(f"specstate.cli.{name}")


def _suggestion(word: str, candidates) -> str:
    """``"; did you mean 'X'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=SUGGEST_CUTOFF)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors suggest the closest command (as Python 3.14 does)."""

    def __init__(self, *args, **kwargs):
        if sys.version_info >= (3, 14):
            kwargs.setdefault("suggest_on_error", True)
        super().__init__(*args, **kwargs)

    def error(self, message):
        found = _INVALID_CHOICE.search(message)
        if found and "did you mean" not in message:
            choices = [c for a in self._actions if a.choices for c in a.choices]
            message += _suggestion(found.group(1), choices)
        super().error(message)


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-parser per command."""
    parser = _Parser(
        prog="specstate",
        description="Tell, on the fly, which state a sample is in from its 1-D spectra.",
    )
    parser.add_argument("--version", action="version", version=f"specstate {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parser._commands = {}
    for name, module in _command_modules():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(p)
        p.set_defaults(_run=module.run)
        parser._commands[name] = p
    return parser


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse `argv`; an unknown option is reported with its command's usage and a suggestion.

    Plain :meth:`argparse.ArgumentParser.parse_args` reports options a sub-command does not
    know with the top-level usage; here the sub-command's parser reports them, naming the
    closest option it has (``--ouput`` -> ``--output``).
    """
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = getattr(parser, "_commands", {}).get(getattr(args, "command", None), parser)
        unknown = [e for e in extras if e.startswith("-")] or extras
        hint = _suggestion(unknown[0].split("=", 1)[0], _option_strings(command))
        command.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
    return args


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
    except BrokenPipeError:
        # whoever read our output (`specstate info x | head`) has gone: stop without a
        # traceback, and keep Python's flush at exit from failing on the closed pipe again
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv=None) -> int:
    """Run the ``specstate`` command line with `argv` (default: ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parse_args(parser, argv)
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
