"""Argument types and option groups shared by several subcommands (verify, run, runs).

Options of the core are declared once in :mod:`nbrepro.optionspec` tables and reach argparse
through :mod:`nbrepro.cli.spec_args`; the few types here (for options a face declares itself)
refuse the same values: numbers must be finite, as the tables require. Only argparse and math
are imported here, like every CLI module, so ``nbrepro --help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
from typing import Any


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def seconds(text: str) -> float:
    """argparse type: a positive, finite number of seconds (not ``inf`` or ``nan``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def tolerance(text: str) -> float:
    """argparse type: a finite number that is zero or positive (not ``inf`` or ``nan``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or positive: {text!r}")
    return value


def add_parameter_options(parser: argparse.ArgumentParser) -> None:
    """Add papermill's parameter options (``-p``, ``-r``, ``-f``, ``-y``) as a group."""
    params = parser.add_argument_group("papermill parameters (papermill's semantics)")
    params.add_argument(
        "-p",
        "--parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter, typed as papermill types it (True/False/None, int, float, else str)",
    )
    params.add_argument(
        "-r",
        "--parameters-raw",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter read as a raw string",
    )
    params.add_argument(
        "-f",
        "--parameters-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a YAML file of parameters",
    )
    params.add_argument(
        "-y",
        "--parameters-yaml",
        action="append",
        default=[],
        metavar="YAML",
        help="parameters as YAML text",
    )


def parameters_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The parameters given by :func:`add_parameter_options`' options, parsed as papermill does."""
    from ..errors import InputError
    from ..execute.parameters import parse_parameters

    try:
        return parse_parameters(
            p=[(name, value) for name, value in args.parameters],
            r=[(name, value) for name, value in args.parameters_raw],
            files=args.parameters_file,
            yamls=args.parameters_yaml,
        )
    except RecursionError:  # YAML nested thousands deep: PyYAML's composer recurses per level
        raise InputError("parameters (-f/-y): YAML nested too deeply") from None
