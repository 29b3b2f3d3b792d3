"""The ``nbrepro`` command line: a thin layer over the core.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds an argparse
parser and sets ``func`` to a callable ``(args) -> int``. Modules import only ``argparse`` at
module level and import the core inside ``func``, so ``nbrepro --help`` stays fast.

Errors are translated here, once: any :class:`nbrepro.errors.NbreproError` becomes a one-line
``nbrepro: error: ...`` on stderr and its exit code; Ctrl-C exits 130; a closed output pipe
(``nbrepro runs list | head``) exits 141 quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from .. import __version__
from ..errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, NbreproError

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("verify", "check", "env", "run", "runs")


class _Parser(argparse.ArgumentParser):
    """argparse with nbrepro's exit code for usage errors (2, as argparse already uses)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"nbrepro: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser (all subcommands)."""
    parser = _Parser(
        prog="nbrepro",
        description="Make notebook reproducibility visible while you work and provable in CI.",
    )
    parser.add_argument("--version", action="version", version=f"nbrepro {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``, letting options stand between paths as pytest and ruff do
    (``nbrepro verify a.ipynb -j 2 b.ipynb``): argparse alone stops the paths at the first
    option, so what it leaves over is parsed again by the subcommand's parser in intermixed mode.
    """
    args, extras = parser.parse_known_args(argv)
    command = getattr(args, "command", None)
    if not extras or command is None:
        return args
    subparser = _subparsers(parser)[command]
    try:
        intermixed = subparser.parse_intermixed_args(argv[argv.index(command) + 1 :])
    except TypeError:  # a subcommand with actions of its own (env, runs): no intermixing
        return parser.parse_args(argv)
    intermixed.command = command
    return intermixed


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser`` by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    from ..startup import skip_unused_optional_imports

    skip_unused_optional_imports()
    parser = build_parser()
    from .spec_args import expand_flags_without_value

    args = _parse(parser, expand_flags_without_value(sys.argv[1:] if argv is None else argv))
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = int(func(args))
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at interpreter exit
        return code
    except BrokenPipeError:
        # Whoever read the output stopped reading: nothing to report. Point stdout at devnull
        # so that the interpreter's own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except NbreproError as exc:
        from ..textsafe import printable

        print(f"nbrepro: error: {printable(exc.message_for('cli'))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("nbrepro: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
