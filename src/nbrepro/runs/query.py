"""Filtering and sorting runs by parameter and metric: ``runs list --where 'threshold>18'
--sort accuracy``.

A condition is ``NAME OP VALUE`` with ``OP`` one of ``==`` (or ``=``), ``!=``, ``<``, ``<=``,
``>``, ``>=``. ``NAME`` is a parameter or a metric (``params.NAME`` / ``metrics.NAME`` say
which when both exist; a bare name is the parameter first). ``VALUE`` is typed as ``-p`` types
it (``True``/``False``/``None``, int, float, else a string). Numbers compare as numbers;
strings compare only with ``==`` and ``!=``. A run without the name does not match. Several
conditions must all hold. ``--sort NAME`` orders by the value (``-NAME``: descending); runs
without it come last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .metrics import decode_value

_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(==|!=|<=|>=|=|<|>)\s*(.*?)\s*$")
_MISSING = object()


@dataclass(frozen=True)
class Condition:
    """One ``NAME OP VALUE`` condition."""

    name: str
    op: str
    value: Any

    def holds(self, summary: dict[str, Any]) -> bool:
        """Whether the run (its summary: ``parameters``, ``metrics``) satisfies it."""
        found = lookup(summary, self.name)
        if found is _MISSING:
            return False
        a, b = _number(found), _number(self.value)
        if a is not None and b is not None:
            return bool(_OPS[self.op](a, b))
        if self.op in ("==", "!="):
            return (found == self.value) == (self.op == "==")
        return False


_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return decode_value(value)


def lookup(summary: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in a run summary (see the module docstring), or a sentinel."""
    params = summary.get("parameters") or {}
    metrics = summary.get("metrics") or {}
    if name.startswith("params.") and name[7:] in params:
        return params[name[7:]]
    if name.startswith("metrics.") and name[8:] in metrics:
        return metrics[name[8:]]
    if name in params:
        return params[name]
    if name in metrics:
        return metrics[name]
    return _MISSING


def parse_condition(text: str) -> Condition:
    """Parse ``NAME OP VALUE``; raises a one-line :class:`UsageError`."""
    from ..execute.parameters import resolve_type

    match = _CONDITION.match(text)
    if match is None or not match.group(3) or match.group(3)[0] in "<>=!":
        raise UsageError(
            f"--where {text!r}: expected NAME OP VALUE, e.g. 'threshold>18' "
            "(OP: ==, !=, <, <=, >, >=)"
        )
    name, op, raw = match.groups()
    return Condition(name, "==" if op == "=" else op, resolve_type(raw))


def select_runs(
    summaries: Iterable[dict[str, Any]], where: Sequence[str] = (), sort: str | None = None
) -> list[dict[str, Any]]:
    """The summaries that satisfy every ``where`` condition, ordered by ``sort``."""
    conditions = [parse_condition(text) for text in where]
    chosen = [s for s in summaries if all(c.holds(s) for c in conditions)]
    if not sort:
        return chosen
    descending = sort.startswith("-")
    key = sort[1:] if descending else sort

    def order(summary: dict[str, Any]) -> tuple[int, float, str]:
        value = lookup(summary, key)
        number = _number(value) if value is not _MISSING else None
        if number is None:
            return (1, 0.0, "" if value is _MISSING else str(value))
        return (0, -number if descending else number, "")

    return sorted(chosen, key=order)
