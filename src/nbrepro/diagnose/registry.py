"""The registry of cause rules: one function per cause, run in the order they are declared.

A rule is a generator over the facts of one failing cell
(:class:`~nbrepro.diagnose.cell_facts.FailingCell`): it yields a
:class:`~nbrepro.diagnose.causes.Cause` (with its evidence and, when there is an obvious one,
its one-line remedy) for every claim it makes, and a ``str`` for every check it made that is
worth listing under ``checked`` (the evidence of ``unknown``). It yields nothing when its cause
does not apply. Rules are registered with :func:`rule` in priority order: claims of equal
strength keep that order, and ``checked`` lists the checks in that order. A ``fallback`` rule
runs after all the others, and only when none of them claimed a cause.

::

    @rule("timeout", statuses={"timeout", "not-run"})
    def timeout(cell: FailingCell) -> Claims:
        # the cell ran past the timeout, or never ran because of it
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from .causes import CAUSES, Cause, CellDiagnosis
from .cell_facts import FailingCell
from .facts import FAILING

#: What a rule yields: claims, and lines for ``checked``.
Claims = Iterator[Cause | str]
CauseCheck = Callable[[FailingCell], Claims]

#: Statuses a rule applies to unless it says otherwise: every failing status but ``not-run``
#: (a cell that never ran is explained by what stopped the run, nothing else).
RAN = FAILING - {"not-run"}


@dataclass(frozen=True)
class CauseRule:
    """One registered rule: the cause it claims, its function and the statuses it applies to."""

    cause: str
    check: CauseCheck
    statuses: frozenset[str]
    #: Runs after every other rule, only when none claimed a cause.
    fallback: bool = False

    @property
    def name(self) -> str:
        """The function's name."""
        return self.check.__name__

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        lines = (self.check.__doc__ or "").strip().splitlines()
        return lines[0] if lines else ""


#: Every rule, in priority order (filled by :func:`rule` when :mod:`.rules` is imported).
RULES: list[CauseRule] = []


def rule(
    cause: str, *, statuses: Collection[str] = RAN, fallback: bool = False
) -> Callable[[CauseCheck], CauseCheck]:
    """Register the decorated function as the rule claiming ``cause`` (a :data:`CAUSES` id)."""
    if cause not in CAUSES:
        raise ValueError(f"unknown cause id {cause!r}")
    unknown = set(statuses) - FAILING
    if unknown:
        raise ValueError(f"rule for {cause}: unknown statuses {sorted(unknown)}")

    def register(check: CauseCheck) -> CauseCheck:
        RULES.append(CauseRule(cause, check, frozenset(statuses), fallback))
        return check

    return register


def run_rules(cell: FailingCell, rules: list[CauseRule] | None = None) -> CellDiagnosis:
    """Run every rule (default :data:`RULES`) over one failing cell: its diagnosis."""
    if rules is None:
        from . import rules as _declared  # noqa: F401  (registers the rules on first use)

        rules = RULES
    outcome = cell.outcome
    diagnosis = CellDiagnosis(outcome.index, outcome.id)
    diagnosis.checked += cell.observed()
    ordered = [r for r in rules if not r.fallback] + [r for r in rules if r.fallback]
    for entry in ordered:
        if outcome.status not in entry.statuses or (entry.fallback and diagnosis.causes):
            continue
        for item in entry.check(cell):
            if isinstance(item, Cause):
                diagnosis.add(item)
            else:
                diagnosis.checked.append(item)
    diagnosis.root = cell.root
    diagnosis.finish()
    return diagnosis
