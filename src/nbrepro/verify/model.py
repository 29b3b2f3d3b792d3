"""What a verification is asked (:class:`VerifyOptions`) and what it answers (the reports).

The reports are the one answer every face renders: the command line (text, JSON, JUnit), the
pytest plugin, the server's jobs and the panel. Their JSON form follows
``schemas/verify-report.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import EXIT_FAILED, EXIT_OK
from .verdict import COULD_NOT_RUN, NOT_REPRODUCED, REPRODUCED

if TYPE_CHECKING:
    from ..compare import CompareOptions
    from ..diagnose import CellDiagnosis
    from ..record.drift import DriftReport

#: Version of the JSON report (``schemas/verify-report.schema.json``).
REPORT_SCHEMA_VERSION = 1


@dataclass
class VerifyOptions:
    """What to verify and how: built from :data:`nbrepro.verify.options.VERIFY_OPTIONS` values
    by :func:`~nbrepro.verify.options.verify_options_from_values` (every face), or directly by
    an embedding caller."""

    #: Papermill parameters to inject (JSON values; names checked against the kernel language).
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Kernel name overriding the notebook's kernelspec.
    kernel: str | None = None
    #: Working directory of the kernel (default: the notebook's folder).
    cwd: Path | None = None
    #: Another executed copy to compare with instead of the stored outputs.
    against: Path | None = None
    #: How many times to execute (> 1 checks determinism).
    runs: int = 1
    #: Per-cell timeout in seconds (``None``: none).
    timeout: float | None = None
    #: Whole-notebook timeout in seconds (``None``: none).
    notebook_timeout: float | None = None
    #: Comparison options (tolerances, sanitizers, stderr); ``None``: defaults.
    compare: CompareOptions | None = None
    #: Folder where the executed notebooks are kept (``None``: not kept).
    output_dir: Path | None = None
    #: Compare only cells marked ``NBVAL_CHECK_OUTPUT``/``nbrepro-check-output`` (nbval's lax mode).
    lax: bool = False
    #: Extra environment variables for the kernel.
    env: Mapping[str, str] | None = None
    #: Report environment drift and changed inputs when the notebook carries provenance.
    check_drift: bool = True
    #: Say why each failing cell did not reproduce (``nbrepro.diagnose``; failing cells only).
    diagnose: bool = True
    #: Add mechanical remedies (cell order, seed line, pinned environment) to the report.
    suggest: bool = False
    #: How many notebooks to verify at once (each in its own kernel).
    jobs: int = 1
    #: Where the executions run: ``local`` or ``dask`` (:mod:`nbrepro.executors`).
    executor: str = "local"
    #: The Dask scheduler's address (``None``: ``$DASK_SCHEDULER_ADDRESS``, the configuration
    #: or a LocalCluster).
    scheduler: str | None = None
    #: Send each Dask task the notebook's input files (and ``include`` globs) instead of
    #: relying on a filesystem the workers share (:mod:`nbrepro.executors.shipping`).
    ship_inputs: bool = False
    include: tuple[str, ...] = ()
    #: How the stored outputs were made, when the caller knows it better than the notebook's
    #: ``metadata.nbrepro`` (a stored run: its manifest), in the same shape, and its drift now.
    #: The diagnosis uses them in place of the notebook's own; the caller reports the drift.
    provenance: dict[str, Any] | None = None
    drift: DriftReport | None = None
    #: Verify in a rebuilt copy of the recorded environment: ``off``, ``require``, ``prefer``
    #: (:mod:`nbrepro.envbuild.rebuild`).
    rebuild_env: str = "off"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (anything else as its ``str``)."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class CellReport:
    """The verdict on one code cell."""

    index: int
    id: str
    status: str
    #: One line saying what happened (empty for ``ok``).
    summary: str = ""
    #: Readable difference with the baseline (unified diff for text, a summary otherwise).
    diff: str = ""
    #: Difference between the first run and the run that disagreed (``nondeterministic``).
    determinism_diff: str = ""
    #: Execution time in seconds of the first run.
    duration: float = 0.0
    #: Execution status per run (``ok``, ``error``, ``skipped``, ...).
    run_statuses: list[str] = field(default_factory=list)
    error_name: str | None = None
    error_value: str | None = None
    #: Why the cell did not reproduce (failing cells of a diagnosed notebook only).
    diagnosis: CellDiagnosis | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict following ``verify-report.schema.json``."""
        diagnosis = self.diagnosis.to_dict() if self.diagnosis is not None else {}
        causes = diagnosis.get("causes") or []
        cause_summary = diagnosis.get("cause_summary")
        if cause_summary is None and causes:
            cause_summary = causes[0].get("summary")
        return {
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "diff": self.diff,
            "determinism_diff": self.determinism_diff,
            "duration": round(self.duration, 6),
            "run_statuses": list(self.run_statuses),
            "error_name": self.error_name,
            "error_value": self.error_value,
            "cause": diagnosis.get("cause"),
            "cause_summary": cause_summary,
            "evidence": diagnosis.get("evidence", []),
            "remedy": diagnosis.get("remedy"),
            "causes": causes,
            "checked": diagnosis.get("checked", []),
        }


@dataclass
class NotebookReport:
    """The verdict on one notebook."""

    path: str
    status: str
    #: One line explaining the verdict.
    reason: str = ""
    kernel: str | None = None
    #: ``stored`` (the notebook's outputs), ``against`` or ``none`` (determinism only).
    baseline: str = "stored"
    against: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    runs: int = 1
    #: Wall time of the whole verification in seconds; per-run execution times beside it.
    duration: float = 0.0
    run_durations: list[float] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Environment drift and changed inputs from recorded provenance (``None``: no provenance).
    drift: dict[str, Any] | None = None
    #: Where the executed notebook was kept (``--output``).
    output_path: str | None = None
    kernel_stderr: str = ""
    #: One line naming the strongest cause found (empty when reproduced or not diagnosed).
    diagnosis: str = ""
    #: Mechanical remedies (``suggest``), see :func:`nbrepro.diagnose.suggest_remedies`.
    remedies: list[dict[str, Any]] = field(default_factory=list)
    #: Content hash of the notebook's code (``sha256:``), so a result can tell it went stale.
    source_digest: str = ""

    @property
    def reproducible(self) -> bool:
        """Whether the notebook reproduced."""
        return self.status == REPRODUCED

    def counts(self) -> dict[str, int]:
        """Number of cells per status."""
        out: dict[str, int] = {}
        for cell in self.cells:
            out[cell.status] = out.get(cell.status, 0) + 1
        return out

    def to_dict(self, face: str = "plain") -> dict[str, Any]:
        """A JSON-ready dict following ``verify-report.schema.json``, option mentions in its
        texts rendered for ``face``."""
        from ..optionspec import render_json

        return render_json(self._dict(), face)  # type: ignore[no-any-return]

    def _dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "reproducible": self.reproducible,
            "reason": self.reason,
            "kernel": self.kernel,
            "baseline": self.baseline,
            "against": self.against,
            "parameters": jsonable(self.parameters),
            "runs": self.runs,
            "duration": round(self.duration, 6),
            "run_durations": [round(d, 6) for d in self.run_durations],
            "counts": self.counts(),
            "warnings": list(self.warnings),
            "drift": self.drift,
            "output_path": self.output_path,
            "cells": [cell.to_dict() for cell in self.cells],
            "diagnosis": self.diagnosis,
            "remedies": jsonable(self.remedies),
            "source_digest": self.source_digest,
        }


@dataclass
class VerifyReport:
    """The verdicts on every notebook of one verification."""

    notebooks: list[NotebookReport]
    duration: float = 0.0

    @property
    def reproducible(self) -> bool:
        """Whether every notebook reproduced."""
        return all(nb.reproducible for nb in self.notebooks)

    @property
    def exit_code(self) -> int:
        """0 when every notebook reproduced, else 1."""
        return EXIT_OK if self.reproducible else EXIT_FAILED

    def summary(self) -> dict[str, int]:
        """Number of notebooks per verdict."""
        out = {REPRODUCED: 0, NOT_REPRODUCED: 0, COULD_NOT_RUN: 0}
        for nb in self.notebooks:
            out[nb.status] = out.get(nb.status, 0) + 1
        return out

    def to_dict(self, face: str = "plain") -> dict[str, Any]:
        """The JSON report, following ``verify-report.schema.json`` (option mentions rendered
        for ``face``)."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "nbrepro_version": __version__,
            "reproducible": self.reproducible,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 6),
            "summary": self.summary(),
            "notebooks": [nb.to_dict(face) for nb in self.notebooks],
        }
