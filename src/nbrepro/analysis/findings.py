"""Findings of the static check and the registry of rules that produce them.

Rule ids are stable: ``NBR1xx`` execution order (every kernel language), ``NBR2xx`` dataflow
(Python), ``NBR3xx`` recorded provenance. ``docs/check.md`` documents each rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import UsageError

ERROR = "error"
WARNING = "warning"
INFO = "info"
#: Severities from most to least severe.
SEVERITIES = (ERROR, WARNING, INFO)


class Rule(NamedTuple):
    """A rule's name, severity and one-line summary."""

    name: str
    severity: str
    summary: str


#: Every rule: id -> (name, severity, summary).
RULES: Mapping[str, Rule] = {
    "NBR101": Rule(
        "out-of-order",
        WARNING,
        "Execution counts of executed code cells do not increase from top to bottom.",
    ),
    "NBR102": Rule(
        "never-executed",
        WARNING,
        "A code cell was never executed although other cells were.",
    ),
    "NBR103": Rule(
        "output-without-count",
        WARNING,
        "A code cell has outputs but no execution count.",
    ),
    "NBR104": Rule(
        "execution-gap",
        INFO,
        "Executions are missing from the counter: cells were re-run, cleared or deleted.",
    ),
    "NBR201": Rule(
        "defined-below",
        ERROR,
        "A name is used before any cell above defines it, but a cell below does.",
    ),
    "NBR202": Rule(
        "undefined-name",
        WARNING,
        "A name is used but no cell of the notebook defines it (hidden state).",
    ),
    "NBR203": Rule(
        "used-after-del",
        ERROR,
        "A name is used after a cell above deleted it with `del`.",
    ),
    "NBR301": Rule(
        "stale-output",
        WARNING,
        "A cell's outputs came from a different version of its source (recorded provenance).",
    ),
}

#: Rules that apply to notebooks of any kernel language.
LANGUAGE_NEUTRAL_RULES = frozenset(rule for rule in RULES if rule.startswith("NBR1"))
_BY_NAME = {rule.name: rule_id for rule_id, rule in RULES.items()}


@dataclass(frozen=True)
class Finding:
    """One problem found in a notebook.

    ``cell_index`` is 0-based; ``line`` and ``column`` are 1-based within the cell's source, or
    ``None`` when the finding is about the whole cell. Messages number cells from 1, as a reader
    counts them. ``related_cells`` are the 0-based indices of other cells the finding names.
    """

    rule: str
    name: str
    severity: str
    cell_index: int
    cell_id: str | None
    line: int | None
    column: int | None
    message: str
    fix: str
    related_cells: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with stable keys."""
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "fix": self.fix,
            "related_cells": list(self.related_cells),
        }

    def sort_key(self) -> tuple[int, int, int, str]:
        """Order findings by cell, then position, then rule."""
        return (self.cell_index, self.line or 0, self.column or 0, self.rule)


def make_finding(
    rule: str,
    cell_index: int,
    cell_id: str | None,
    message: str,
    fix: str,
    *,
    line: int | None = None,
    column: int | None = None,
    related_cells: Iterable[int] = (),
) -> Finding:
    """Build a finding of ``rule``, filling in its name and severity from :data:`RULES`."""
    spec = RULES[rule]
    return Finding(
        rule=rule,
        name=spec.name,
        severity=spec.severity,
        cell_index=cell_index,
        cell_id=cell_id,
        line=line,
        column=column,
        message=message,
        fix=fix,
        related_cells=tuple(related_cells),
    )


def _expand(selector: str, what: str) -> set[str]:
    """Rule ids matched by one selector: an id, an id prefix (``NBR2``), a name or ``ALL``."""
    token = selector.strip()
    if not token:
        return set()
    upper = token.upper()
    if upper == "ALL":
        return set(RULES)
    if token.lower() in _BY_NAME:
        return {_BY_NAME[token.lower()]}
    matched = {rule for rule in RULES if rule.startswith(upper)}
    if not matched or not upper.startswith("NBR"):
        known = ", ".join(f"{rule} ({spec.name})" for rule, spec in RULES.items())
        raise UsageError(f"{what}: unknown rule {token!r} (known rules: {known})")
    return matched


def select_rules(
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> frozenset[str]:
    """The rule ids active for ``select``/``ignore`` (ids, prefixes, names or ``ALL``).

    ``select`` of ``None`` means every rule. Raises :class:`~nbrepro.errors.UsageError` naming
    an unknown rule.
    """
    active: set[str] = set(RULES)
    if select is not None:
        active = set()
        for selector in _split(select):
            active |= _expand(selector, "select")
    for selector in _split(ignore or ()):
        active -= _expand(selector, "ignore")
    return frozenset(active)


def _split(selectors: Iterable[str] | str) -> list[str]:
    """Accept ``["NBR101", "NBR2"]`` as well as ``"NBR101,NBR2"``."""
    items = [selectors] if isinstance(selectors, str) else list(selectors)
    out: list[str] = []
    for item in items:
        out.extend(part for part in str(item).split(",") if part.strip())
    return out
