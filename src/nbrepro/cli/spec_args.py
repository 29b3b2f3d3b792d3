"""argparse options generated from an :class:`~nbrepro.optionspec.OptionTable`.

A subcommand calls :func:`add_spec_arguments` to get one flag per option its table offers on
the command line, with the type, bounds and help of the declaration, and
:func:`values_from_args` to turn the parsed namespace back into validated option values. The
command line never re-declares an option's type or bounds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from ..optionspec import CLI, OptionError, OptionSpec, OptionTable, parse_face_values


def _argparse_type(spec: OptionSpec) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = spec.parse_text(text)
        except OptionError as exc:
            # argparse adds "argument --flag:"; keep only the problem.
            raise argparse.ArgumentTypeError(exc.raw.split(": ", 1)[-1]) from None
        return value[0] if spec.kind == "paths" else value

    convert.__name__ = spec.kind
    return convert


def add_spec_arguments(
    parser: argparse.ArgumentParser,
    table: OptionTable,
    *,
    skip: Sequence[str] = (),
    groups: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add ``table``'s command-line options to ``parser`` in argument groups named by each
    option's ``group``; return the groups (so the caller can add options of its own)."""
    made: dict[str, Any] = dict(groups or {})
    for spec in table.for_face(CLI):
        if spec.name in skip:
            continue
        group = made.get(spec.group)
        if group is None:
            group = made[spec.group] = parser.add_argument_group(spec.group)
        kwargs: dict[str, Any] = {"dest": spec.name, "help": spec.help}
        if spec.kind == "bool":
            kwargs.update(action="store_true", default=None)
        elif spec.kind == "paths":
            kwargs.update(action="append", type=_argparse_type(spec), default=None)
        else:
            kwargs.update(type=_argparse_type(spec), default=None)
            if spec.kind == "choice":
                kwargs["choices"] = list(spec.choices)
            if spec.const is not None and spec.flag:
                # Its value only as --flag=VALUE; the flag alone means the const (never taking
                # the next word, a notebook's path, as its value).
                FLAGS_WITH_CONST[spec.flag] = str(spec.const)
                kwargs["help"] += f"; {spec.flag} alone: {spec.const}"
        if spec.metavar and spec.kind != "bool":
            kwargs["metavar"] = spec.metavar
        if spec.default not in (None, (), False) and spec.kind != "bool":
            kwargs["help"] += f" (default: {spec.default})"
        group.add_argument(*spec.cli, **kwargs)
    return made


#: Flags whose value is optional (``--rebuild-env`` alone means ``--rebuild-env=require``):
#: flag -> the value it stands for alone; filled as the parsers are built.
FLAGS_WITH_CONST: dict[str, str] = {}


def expand_flags_without_value(argv: Sequence[str]) -> list[str]:
    """``argv`` with each flag of :data:`FLAGS_WITH_CONST` given alone written out with its
    value (``--rebuild-env`` → ``--rebuild-env=require``); everything after ``--`` untouched."""
    out: list[str] = []
    for i, token in enumerate(argv):
        if token == "--":
            return out + list(argv[i:])
        const = FLAGS_WITH_CONST.get(token)
        out.append(f"{token}={const}" if const is not None else token)
    return out


def values_from_args(
    args: argparse.Namespace, table: OptionTable, *, skip: Sequence[str] = ()
) -> dict[str, Any]:
    """The validated values of ``table``'s options from parsed arguments (defaults for the
    options not given)."""
    raw = {
        spec.name: getattr(args, spec.name, None)
        for spec in table.for_face(CLI)
        if spec.name not in skip
    }
    return parse_face_values(table, raw, CLI, skip=skip)
