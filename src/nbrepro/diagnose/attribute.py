"""Cause attribution: for each cell that did not reproduce, say why, with evidence.

The inputs are what ``nbrepro verify`` already has: the notebook (with its recorded provenance,
``metadata.nbrepro``), each failing cell's outcome (status, error, runs), the drift report of
the recorded environment and inputs, how many fresh runs were made and what the baseline was.
From them the facts are built once per notebook (:mod:`nbrepro.diagnose.facts`: one ``ast``
pass over the code cells, the cached dataflow facts of :mod:`nbrepro.analysis`, the recorded
journal) and once per failing cell (:mod:`nbrepro.diagnose.cell_facts`); then every cause rule
of the registry (:mod:`nbrepro.diagnose.rules`, one function per cause, in priority order) reads
them. It runs only when a cell failed, so reproducible notebooks pay nothing.

Every claim carries its evidence; a cell for which nothing was found gets ``unknown`` with the
list of what was checked. Nothing here executes code or reads files other than the notebook's
recorded inputs (already hashed by the drift check).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..cell_names import cell_label, cell_numbers
from . import rules as _rules  # noqa: F401  (registers the cause rules, in priority order)
from .causes import CellDiagnosis
from .cell_facts import failing_cell
from .facts import FAILING, CellOutcome, notebook_facts
from .registry import run_rules

if TYPE_CHECKING:
    from ..record.drift import DriftReport

__all__ = ["FAILING", "CellOutcome", "NotebookDiagnosis", "diagnose_notebook", "summary_line"]


@dataclass
class NotebookDiagnosis:
    """The diagnosis of one notebook: per failing cell, and one line for the whole notebook."""

    cells: dict[int, CellDiagnosis] = field(default_factory=dict)
    #: ``not reproducible: cell 7 reads data/train.csv, which changed since it ran``.
    summary: str = ""
    #: Mechanical remedies (``--suggest``), see :mod:`nbrepro.diagnose.remedies`.
    remedies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (cells keyed by index as strings)."""
        return {
            "summary": self.summary,
            "cells": {str(i): d.to_dict() for i, d in sorted(self.cells.items())},
            "remedies": list(self.remedies),
        }


def diagnose_notebook(
    nb: dict[str, Any],
    outcomes: Sequence[CellOutcome],
    *,
    drift: DriftReport | None = None,
    runs: int = 1,
    baseline: str = "stored",
    kernel_env: Mapping[str, str] | None = None,
    status: str = "not-reproduced",
    provenance: Mapping[str, Any] | None = None,
) -> NotebookDiagnosis:
    """Diagnose every failing cell of one verified notebook.

    ``outcomes`` are verify's cell reports (any objects with the :class:`CellOutcome` fields);
    ``drift`` the drift check of the recorded provenance (``None``: not checked); ``runs`` the
    number of fresh runs made; ``baseline`` ``stored``, ``against`` or ``none`` (recorded
    provenance describes the stored outputs only); ``kernel_env`` the environment the kernel ran
    with (default: this process's); ``status`` the notebook's verdict (for the summary line);
    ``provenance`` what is known of how the stored outputs were made, in the shape of
    ``metadata.nbrepro``, when it is not the notebook's own (a stored run: its manifest, see
    :func:`nbrepro.runs.reproduce.run_provenance`); ``drift`` is then the drift of that.
    """
    failing = [o for o in outcomes if o.status in FAILING]
    result = NotebookDiagnosis()
    if not failing:
        return result
    env = dict(os.environ if kernel_env is None else kernel_env)
    book = notebook_facts(nb, drift, runs, baseline, env, provenance)
    for outcome in sorted(failing, key=lambda o: o.index):
        cell = failing_cell(book, outcome, outcomes, result.cells)
        result.cells[outcome.index] = run_rules(cell)
    result.summary = summary_line(result, status)
    return result


def summary_line(diagnosis: NotebookDiagnosis, status: str) -> str:
    """One line for the notebook: its strongest root cause, the cells that failed because of it,
    and how many other cells failed on their own account.

    Consequences (cells whose :attr:`~CellDiagnosis.root` is another failing cell) are not
    counted as separate problems: they are listed after the root cell they follow from.
    """
    if not diagnosis.cells:
        return ""
    roots = [d for d in diagnosis.cells.values() if d.root is None] or list(
        diagnosis.cells.values()
    )
    lead = min(roots, key=lambda d: (d.cause.id == "unknown", -d.cause.strength, d.index))
    head = "could not run" if status == "could-not-run" else "not reproducible"
    follow = sorted(i for i, d in diagnosis.cells.items() if _root_of(diagnosis, d) == lead.index)
    follow = [i for i in follow if i != lead.index]
    parts = []
    if follow:
        shown = cell_numbers(follow[:5]) + (", ..." if len(follow) > 5 else "")
        word = "cell" if len(follow) == 1 else "cells"
        parts.append(f"{word} {shown} failed because of it")
    others = len(roots) - 1
    if others:
        parts.append(f"and {others} more cell{'s' if others != 1 else ''}")
    more = f" ({'; '.join(parts)})" if parts else ""
    return f"{head}: {cell_label(lead.index)} {lead.cause.summary}{more}"


def _root_of(diagnosis: NotebookDiagnosis, cell: CellDiagnosis) -> int:
    """The index of the cell at the end of ``cell``'s chain of consequences."""
    seen = {cell.index}
    while cell.root is not None and cell.root not in seen and cell.root in diagnosis.cells:
        seen.add(cell.root)
        cell = diagnosis.cells[cell.root]
    return cell.index
