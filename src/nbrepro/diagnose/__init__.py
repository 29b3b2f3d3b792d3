"""Diagnosis: for every cell that does not reproduce, say why, with evidence.

::

    from nbrepro.diagnose import diagnose_notebook, CAUSES
    diagnosis = diagnose_notebook(nb, verify_report.cells, drift=drift_report, runs=2)
    diagnosis.summary            # "not reproducible: cell 8 reads data/train.csv, which changed..."
    diagnosis.cells[7].cause.id  # "input-changed" (keyed by 0-based index; text counts from 1)

    from nbrepro.diagnose.remedies import export_environment, suggest_remedies
    from nbrepro.diagnose.hints import notebook_static, cell_hints

``nbrepro verify`` calls :func:`diagnose_notebook` for notebooks with failing cells. It builds
the facts (:mod:`.facts` per notebook and code cell, :mod:`.cell_facts` per failing cell) and runs
the registry of cause rules (:mod:`.registry`, one function per cause in :mod:`.rules`). The
causes, their order and their one-line remedies are documented in ``docs/diagnosis.md``.
"""

from __future__ import annotations

from .attribute import FAILING, CellOutcome, NotebookDiagnosis, diagnose_notebook, summary_line
from .causes import CAUSES, STRENGTH, Cause, CellDiagnosis, Evidence
from .remedies import export_environment, suggest_remedies

__all__ = [
    "CAUSES",
    "FAILING",
    "STRENGTH",
    "Cause",
    "CellDiagnosis",
    "CellOutcome",
    "Evidence",
    "NotebookDiagnosis",
    "diagnose_notebook",
    "export_environment",
    "suggest_remedies",
    "summary_line",
]
