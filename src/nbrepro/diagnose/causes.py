"""The causes a diagnosis can name, and the evidence each claim carries.

Cause ids are stable (they appear in JSON reports and in the labelled corpus). A claimed cause
always carries at least one piece of evidence; ``unknown`` carries what was checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Every cause id -> what it means (also in docs/diagnosis.md).
CAUSES: Mapping[str, str] = {
    "code-edited": "the cell (or a cell it uses) was edited after it ran",
    "execution-order": "the stored outputs came from another execution order than top to bottom",
    "hidden-state": "the cell used a name that no cell of the notebook defines any more",
    "input-changed": "a file the cell read (or a cell it uses read) changed since it ran",
    "environment-changed": "packages, Python, platform or a recorded variable differ now",
    "nondeterminism": "the outputs differ between fresh runs (or the code draws unseeded "
    "randomness, reads the clock, makes uuids or shows hash-ordered sets)",
    "external-resource": "the cell depends on the network or on the clock",
    "kernel-died": "the kernel died while executing the cell (or before it ran)",
    "timeout": "the cell ran past the timeout (or never ran because of it)",
    "missing-module": "the cell imports a module that is not installed",
    "missing-file": "the cell opens a file that does not exist",
    "upstream-failed": "the cell failed only because a cell above failed: it uses a name that "
    "cell would have defined (the root cause is that cell's)",
    "library-drift": "the outputs differ only as a newer library release shows them (a "
    "recognised change: numpy 2 scalar reprs, pandas 3 str dtype, matplotlib reprs, ...)",
    "api-removed": "the cell raised an error naming a symbol a newer library release removed "
    "(matplotlib's seaborn-* styles, DataFrame.append, np.float, ...)",
    "timing": "the outputs differ only in measured times (%timeit, %time, elapsed seconds)",
    "ordering": "the outputs show the same items in another order (a set's or dict's order)",
    "rerun-accumulation": "the stored outputs come from running a cell that updates a name "
    "it reads more than once (a gap in the stored execution counts)",
    "unknown": "the evidence does not single out a cause (see what was checked)",
}

#: How strong each kind of evidence is (0-100): causes of a cell are ordered by it.
STRENGTH = {
    "observed": 100,  # what happened in this run: kernel death, timeout
    "removed-api": 96,  # the exception names a symbol a known library release removed
    "error": 95,  # the cell raised an exception that names the cause
    "runs-differ": 90,  # fresh runs disagreed
    "output-change": 88,  # the difference itself is a known kind (drift, times, order)
    "recorded": 85,  # recorded provenance about this cell itself
    "journal": 80,  # the recorded execution journal
    "counts": 75,  # the stored execution counts (a cell re-run before saving)
    "static-finding": 70,  # the static check, without a journal to confirm
    "imported": 70,  # a changed package the cell imports
    "upstream": 60,  # through a name defined by a cell with a recorded cause
    "static-hint": 50,  # a visible source of variation in the code
    "weak": 30,  # a difference the cell's code does not visibly touch
}


@dataclass(frozen=True)
class Evidence:
    """One fact supporting a claim: its kind, a line for people, and the data behind it."""

    kind: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"kind", "message", "details"}``."""
        return {"kind": self.kind, "message": self.message, "details": dict(self.details)}


@dataclass
class Cause:
    """One cause claimed for a cell, with its evidence (never empty)."""

    id: str
    #: Completes "cell N ...": ``reads data/train.csv, which changed since it ran``.
    summary: str
    strength: int
    evidence: list[Evidence] = field(default_factory=list)
    #: One line saying what to do about it, when that is obvious (``None``: it is not).
    remedy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the remedy is the cell's, see :meth:`CellDiagnosis.to_dict`)."""
        return {
            "id": self.id,
            "summary": self.summary,
            "strength": self.strength,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass
class CellDiagnosis:
    """Why one cell did not reproduce: causes, strongest first, and what was checked."""

    index: int
    id: str
    causes: list[Cause] = field(default_factory=list)
    #: Every check made, whatever it found (the evidence of ``unknown``).
    checked: list[str] = field(default_factory=list)
    #: The index of the failing cell this one is a consequence of (``upstream-failed``, or a
    #: cell that never ran because the kernel died or a timeout stopped the run); ``None`` for a
    #: cell that failed on its own account.
    root: int | None = None

    @property
    def cause(self) -> Cause:
        """The strongest cause (``unknown`` when nothing was found)."""
        return self.causes[0]

    @property
    def remedy(self) -> str | None:
        """The one-line remedy of the strongest cause (``None``: no obvious one)."""
        return self.cause.remedy

    @property
    def cause_ids(self) -> list[str]:
        """The ids of every cause, strongest first."""
        return [c.id for c in self.causes]

    def add(self, cause: Cause) -> None:
        """Claim a cause; a second claim of the same id merges into the first."""
        if not cause.evidence:
            raise ValueError(f"cause {cause.id} claimed without evidence")
        if cause.id not in CAUSES:
            raise ValueError(f"unknown cause id {cause.id!r}")
        for existing in self.causes:
            if existing.id == cause.id:
                if cause.strength > existing.strength:
                    existing.strength, existing.summary = cause.strength, cause.summary
                    existing.remedy = cause.remedy or existing.remedy
                    existing.evidence[:0] = [
                        e for e in cause.evidence if e not in existing.evidence
                    ]
                else:
                    existing.remedy = existing.remedy or cause.remedy
                    existing.evidence += [e for e in cause.evidence if e not in existing.evidence]
                return
        self.causes.append(cause)

    def finish(self) -> None:
        """Order causes by strength; claim ``unknown`` (evidence: what was checked) if none."""
        if not self.causes:
            checked = [Evidence("checked", line) for line in self.checked] or [
                Evidence("checked", "nothing could be checked")
            ]
            summary = (
                "did not reproduce, and the evidence does not single out a cause "
                f"({len(checked)} checks, see checked)"
            )
            self.causes.append(Cause("unknown", summary, 0, checked))
        self.causes.sort(key=lambda c: -c.strength)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the strongest cause (``cause``, ``cause_summary``, its ``evidence`` and
        ``remedy``), every cause, and what was checked."""
        return {
            "cause": self.cause.id,
            "cause_summary": self.cause.summary,
            "evidence": [e.to_dict() for e in self.cause.evidence],
            "remedy": self.remedy,
            "causes": [c.to_dict() for c in self.causes],
            "checked": list(self.checked),
        }
