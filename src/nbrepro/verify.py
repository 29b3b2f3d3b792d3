"""``nbrepro verify``: prove that notebooks reproduce their stored outputs.

Each notebook is re-executed top to bottom in a fresh kernel (:mod:`nbrepro.execute.engine`),
optionally with papermill parameters (:mod:`nbrepro.execute.parameters`), and every code cell's
new outputs are compared, after normalisation, with a baseline (:mod:`nbrepro.compare`): the
outputs stored in the notebook, or those of another executed copy (``against``). With
``runs > 1`` the notebook is executed several times and cells whose outputs differ between fresh
runs are reported as ``nondeterministic``, distinct from a ``mismatch`` with the baseline.

The input notebook is never modified. Problems with the input (unreadable or invalid notebook,
unknown kernel, parameters that do not fit the stored outputs) are raised as
:class:`~nbrepro.errors.NbreproError` by :func:`prepare_notebook` before anything runs, so a
command over many notebooks fails fast with exit code 2.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .cell_names import cell_label
from .errors import EXIT_FAILED, EXIT_OK, InputError, NbreproError, UsageError
from .notebook_io import iter_notebook_paths, read_notebook, write_notebook

if TYPE_CHECKING:
    from .compare import CompareOptions
    from .diagnose import CellDiagnosis
    from .execute.engine import ExecutionResult
    from .record.drift import DriftReport

#: Version of the JSON report (``schemas/verify-report.schema.json``).
REPORT_SCHEMA_VERSION = 1

#: Notebook verdicts.
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not-reproduced"
COULD_NOT_RUN = "could-not-run"

#: Cell statuses of a report, with their meaning (also in docs/verify.md).
CELL_REPORT_STATUSES = {
    "ok": "outputs match the baseline (and every run)",
    "mismatch": "outputs differ from the baseline",
    "nondeterministic": "outputs differ between fresh runs",
    "error": "the cell raised an exception it was not marked to raise",
    "ignored": "executed, outputs not compared (marker, tag, --lax or injected parameters)",
    "skipped": "not executed (skip-execution tag or NBVAL_SKIP)",
    "timeout": "stopped by the per-cell or the whole-notebook timeout",
    "kernel-died": "the kernel died while executing this cell",
    "not-run": "not executed because an earlier cell stopped the run",
}
#: Cell statuses that make a notebook fail.
FAILING_CELL_STATUSES = frozenset(
    {"mismatch", "nondeterministic", "error", "timeout", "kernel-died", "not-run"}
)

EventCallback = Callable[[dict[str, Any]], None]


@dataclass
class VerifyOptions:
    """What to verify and how; the fields map one to one to ``nbrepro verify``'s options."""

    #: Papermill parameters to inject (see :func:`nbrepro.execute.parameters.parse_parameters`).
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
    #: How the stored outputs were made, when the caller knows it better than the notebook's
    #: ``metadata.nbrepro`` (a stored run: its manifest), in the same shape, and its drift now.
    #: The diagnosis uses them in place of the notebook's own; the caller reports the drift.
    provenance: dict[str, Any] | None = None
    drift: DriftReport | None = None


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
            "evidence": diagnosis.get("evidence", []),
            "causes": diagnosis.get("causes", []),
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict following ``verify-report.schema.json``."""
        return {
            "path": self.path,
            "status": self.status,
            "reproducible": self.reproducible,
            "reason": self.reason,
            "kernel": self.kernel,
            "baseline": self.baseline,
            "against": self.against,
            "parameters": _jsonable(self.parameters),
            "runs": self.runs,
            "duration": round(self.duration, 6),
            "run_durations": [round(d, 6) for d in self.run_durations],
            "counts": self.counts(),
            "warnings": list(self.warnings),
            "drift": self.drift,
            "output_path": self.output_path,
            "cells": [cell.to_dict() for cell in self.cells],
            "diagnosis": self.diagnosis,
            "remedies": _jsonable(self.remedies),
        }


@dataclass
class VerifyReport:
    """The verdicts on every notebook of one ``nbrepro verify`` command."""

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
            out[nb.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``--format json``), following ``verify-report.schema.json``."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "nbrepro_version": __version__,
            "reproducible": self.reproducible,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 6),
            "summary": self.summary(),
            "notebooks": [nb.to_dict() for nb in self.notebooks],
        }


@dataclass
class PreparedNotebook:
    """A notebook read, checked and parameterised, ready to execute."""

    path: Path
    #: The notebook as read (never modified).
    original: dict[str, Any]
    #: The notebook to execute (parameters injected when given).
    nb: dict[str, Any]
    #: The notebook whose outputs are the baseline (``None``: determinism only).
    baseline: dict[str, Any] | None
    kernel: str
    cwd: Path
    warnings: list[str]
    output_path: Path | None = None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _display_path(path: Path) -> str:
    return str(path)


def output_target(path: Path, output_dir: Path) -> Path:
    """Where ``--output`` keeps the executed copy of ``path``: its path relative to the current
    folder when it is under it, else its name."""
    resolved = path.resolve()
    try:
        rel = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        rel = Path(path.name)
    return output_dir / rel


def prepare_notebook(path: Path, options: VerifyOptions) -> PreparedNotebook:
    """Read and check one notebook for verification; raise NbreproError (exit 2) on bad input."""
    from .execute.engine import check_executable, resolve_kernel
    from .execute.parameters import inject_parameters, parameters_differ, stored_parameters

    original = read_notebook(path)
    check_executable(original, str(path))
    warnings: list[str] = []
    has_code = any(c.get("cell_type") == "code" for c in original.get("cells", []))
    kernel = options.kernel or ""
    if has_code or options.parameters:
        try:
            kernel, _spec = resolve_kernel(original, options.kernel)
        except NbreproError as exc:
            raise type(exc)(f"{path}: {exc}") from None
    baseline: dict[str, Any] | None = original
    if options.against is not None:
        baseline = read_notebook(options.against)
        check_executable(baseline, str(options.against))
        ours, theirs = _code_cell_count(original), _code_cell_count(baseline)
        if ours != theirs:
            raise UsageError(
                f"--against {options.against} has {theirs} code cells and {path} has {ours}: "
                "give an executed copy of the same notebook"
            )
    nb = original
    if options.parameters:
        if options.against is None and parameters_differ(original, options.parameters):
            stored = stored_parameters(original)
            made_with = json.dumps(stored, sort_keys=True) if stored else "the notebook's defaults"
            given = json.dumps(_jsonable(options.parameters), sort_keys=True)
            if options.runs < 2:
                raise UsageError(
                    f"{path}: the stored outputs were made with {made_with}, not with the given "
                    f"parameters {given}: pass --against OTHER.ipynb (a copy executed with these "
                    "parameters) or --runs 2 to check determinism only"
                )
            warnings.append(
                f"the stored outputs were made with {made_with}, not with the given parameters "
                f"{given}: checking determinism only (no baseline)"
            )
            baseline = None
        try:
            injected = inject_parameters(original, options.parameters, kernel_name=options.kernel)
        except NbreproError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        nb = injected.nb
        warnings.extend(injected.warnings)
    cwd = options.cwd if options.cwd is not None else path.resolve().parent
    if not Path(cwd).is_dir():
        raise UsageError(f"--cwd {cwd}: not a directory")
    output_path = None
    if options.output_dir is not None:
        output_path = output_target(path, options.output_dir)
        if output_path.resolve() == path.resolve():
            raise UsageError(f"--output {options.output_dir} would overwrite the input {path}")
    return PreparedNotebook(
        path=path,
        original=original,
        nb=nb,
        baseline=baseline,
        kernel=kernel,
        cwd=Path(cwd),
        warnings=warnings,
        output_path=output_path,
    )


def _plain_outputs(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outputs with multi-line strings joined (nbformat stores them as lists of lines)."""
    result = []
    for output in outputs or []:
        out = dict(output)
        if isinstance(out.get("text"), list):
            out["text"] = "".join(out["text"])
        data = out.get("data")
        if isinstance(data, dict):
            out["data"] = {k: "".join(v) if isinstance(v, list) else v for k, v in data.items()}
        if isinstance(out.get("traceback"), str):
            out["traceback"] = out["traceback"].splitlines()
        result.append(out)
    return result


def _is_injected(cell: dict[str, Any]) -> bool:
    from .execute.parameters import INJECTED_TAG

    return INJECTED_TAG in ((cell.get("metadata") or {}).get("tags") or [])


def _code_cell_count(nb: dict[str, Any]) -> int:
    """Code cells other than injected parameters (a papermill copy has one more)."""
    return sum(
        1 for c in nb.get("cells", []) if c.get("cell_type") == "code" and not _is_injected(c)
    )


def align_cells(baseline: dict[str, Any], executed: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Pair each code cell of ``executed`` (by index) with its counterpart in ``baseline``.

    By cell id when both sides have the same set of unique ids, else by position among code cells;
    injected-parameters cells pair only with injected-parameters cells.
    """
    pairs: dict[int, dict[str, Any]] = {}
    for injected in (False, True):
        base = [
            c
            for c in baseline.get("cells", [])
            if c.get("cell_type") == "code" and _is_injected(c) == injected
        ]
        execd = [
            (i, c)
            for i, c in enumerate(executed.get("cells", []))
            if c.get("cell_type") == "code" and _is_injected(c) == injected
        ]
        base_ids = [c.get("id") for c in base]
        exec_ids = [c.get("id") for _, c in execd]
        unique = len(set(base_ids)) == len(base_ids) and len(set(exec_ids)) == len(exec_ids)
        if all(base_ids) and unique and set(base_ids) == set(exec_ids):
            by_id = {c["id"]: c for c in base}
            for i, c in execd:
                if c["id"] in by_id:
                    pairs[i] = by_id[c["id"]]
        else:
            for (i, _c), b in zip(execd, base, strict=False):
                pairs[i] = b
    return pairs


def _drift(
    path: Path, nb: dict[str, Any], kernel: str | None, env: Mapping[str, str] | None
) -> DriftReport | None:
    """What changed since ``nb`` was recorded: the environment of the kernel verification runs
    (``kernel``, with ``env`` added), and the input files."""
    from .provenance import get_provenance

    if get_provenance(nb) is None:
        return None
    try:
        from .record.drift import check_drift
    except ImportError:
        return None
    return check_drift(nb, path.resolve().parent, kernel=kernel or None, extra_env=env)


def _diagnose(
    prep: PreparedNotebook,
    report: NotebookReport,
    options: VerifyOptions,
    drift: DriftReport | None,
) -> None:
    """Attach the diagnosis of every failing cell (and remedies with ``suggest``) to ``report``."""
    from .diagnose import diagnose_notebook, suggest_remedies

    kernel_env = dict(os.environ)
    kernel_env.update(options.env or {})
    diagnosis = diagnose_notebook(
        prep.nb,
        report.cells,
        drift=options.drift if options.provenance is not None else drift,
        runs=len(report.run_durations) or options.runs,
        baseline=report.baseline,
        kernel_env=kernel_env,
        status=report.status,
        provenance=options.provenance,
    )
    for cell in report.cells:
        cell.diagnosis = diagnosis.cells.get(cell.index)
    report.diagnosis = diagnosis.summary
    if options.suggest and diagnosis.cells:
        report.remedies = suggest_remedies(prep.nb, diagnosis)


def _judge_cell(
    index: int,
    cell: dict[str, Any],
    runs: Sequence[ExecutionResult],
    baseline_cell: dict[str, Any] | None,
    has_baseline: bool,
    options: VerifyOptions,
    compare_options: CompareOptions,
) -> CellReport:
    """Decide one code cell's status from every run and the baseline."""
    from .compare import cell_policy, compare_outputs

    policy = cell_policy(cell)
    execs = []
    for run in runs:
        entry = next((c for c in run.cells if c.index == index), None)
        execs.append(entry)
    first = execs[0]
    assert first is not None
    report = CellReport(
        index=index,
        id=first.cell_id,
        status="ok",
        duration=first.duration,
        run_statuses=[e.status if e is not None else "not-run" for e in execs],
        error_name=first.error_name,
        error_value=first.error_value,
    )
    for number, entry in enumerate(execs, start=1):
        if entry is not None and entry.status in ("timeout", "kernel-died", "not-run"):
            where = f" (run {number})" if len(execs) > 1 else ""
            report.status = entry.status
            report.error_name, report.error_value = entry.error_name, entry.error_value
            report.summary = (entry.error_value or CELL_REPORT_STATUSES[entry.status]) + where
            return report
    if first.status == "skipped":
        report.status, report.summary = "skipped", "not executed (skip marker or tag)"
        return report

    actual = _plain_outputs(runs[0].nb["cells"][index].get("outputs", []))
    if policy.raises_exception:
        missing = [n for n, e in enumerate(execs, 1) if e is not None and e.status != "error"]
        if missing:
            report.status = "mismatch"
            report.summary = "marked to raise an exception, but none was raised"
            return report
    else:
        for number, entry in enumerate(execs, start=1):
            if entry is not None and entry.status == "error":
                where = f" (run {number})" if len(execs) > 1 else ""
                report.status = "error"
                report.error_name, report.error_value = entry.error_name, entry.error_value
                report.summary = f"{entry.error_name}: {entry.error_value}{where}"
                return report

    ignore = policy.ignore_output or (options.lax and not policy.check_output)
    if ignore:
        report.status = "ignored"
        report.summary = (
            "outputs not compared (--lax)" if not policy.ignore_output else "outputs not compared"
        )
        return report

    for number, run in enumerate(runs[1:], start=2):
        other = _plain_outputs(run.nb["cells"][index].get("outputs", []))
        comparison = compare_outputs(actual, other, compare_options)
        if not comparison.equal:
            report.status = "nondeterministic"
            report.summary = f"outputs differ between run 1 and run {number}: {comparison.summary}"
            report.determinism_diff = comparison.diff
            break

    if has_baseline:
        if baseline_cell is None:
            if _is_injected(cell):
                if report.status == "ok":
                    report.status = "ignored"
                    report.summary = "parameters injected by nbrepro (no stored counterpart)"
                return report
            if report.status == "ok":
                report.status = "mismatch"
                report.summary = "no counterpart in the baseline notebook"
            return report
        expected = _plain_outputs(baseline_cell.get("outputs", []))
        comparison = compare_outputs(expected, actual, compare_options)
        if not comparison.equal:
            report.diff = comparison.diff
            if report.status == "ok":
                report.status = "mismatch"
                report.summary = comparison.summary
    return report


def execute_prepared(
    prep: PreparedNotebook,
    options: VerifyOptions,
    on_event: EventCallback | None = None,
) -> NotebookReport:
    """Execute a prepared notebook ``options.runs`` times and judge every code cell."""
    from .compare import CompareOptions, cell_policy
    from .execute.engine import CellExecution, KernelStartFailed, execute_notebook

    started = time.monotonic()
    name = _display_path(prep.path)
    emit = on_event or (lambda _event: None)
    report = NotebookReport(
        path=name,
        status=REPRODUCED,
        kernel=prep.kernel or None,
        baseline="stored" if prep.baseline is not None else "none",
        against=str(options.against) if options.against is not None else None,
        parameters=dict(options.parameters),
        runs=options.runs,
        warnings=list(prep.warnings),
    )
    if prep.baseline is not None and options.against is not None:
        report.baseline = "against"
    drift = (
        _drift(prep.path, prep.original, prep.kernel, options.env) if options.check_drift else None
    )
    if drift is not None:
        report.drift = drift.to_dict()
        report.warnings.extend(str(line) for line in drift.summary_lines())
    code_cells = [i for i, c in enumerate(prep.nb.get("cells", [])) if c.get("cell_type") == "code"]
    emit({"event": "notebook-started", "notebook": name, "cells": len(code_cells)})

    if not code_cells:
        report.reason = "no code cells: nothing to execute (reproduced trivially)"
        _keep(prep, prep.nb, report)
        report.duration = time.monotonic() - started
        emit(_finished_event(report))
        return report

    skip = [i for i in code_cells if cell_policy(prep.nb["cells"][i]).skip]
    compare_options = options.compare or CompareOptions()
    runs: list[ExecutionResult] = []
    for number in range(1, options.runs + 1):

        def started_cell(index: int, cell_id: str, number: int = number) -> None:
            emit(
                {
                    "event": "cell-started",
                    "notebook": name,
                    "index": index,
                    "id": cell_id,
                    "run": number,
                }
            )

        def finished_cell(entry: CellExecution, number: int = number) -> None:
            emit(
                {
                    "event": "cell-finished",
                    "notebook": name,
                    "index": entry.index,
                    "id": entry.cell_id,
                    "status": entry.status,
                    "duration": round(entry.duration, 6),
                    "run": number,
                }
            )

        try:
            result = execute_notebook(
                prep.nb,
                kernel_name=prep.kernel,
                cwd=prep.cwd,
                timeout=options.timeout,
                notebook_timeout=options.notebook_timeout,
                on_cell=finished_cell,
                on_cell_start=started_cell,
                skip_cells=skip,
                env=options.env,
            )
        except KernelStartFailed as exc:
            report.status = COULD_NOT_RUN
            report.reason = str(exc)
            report.duration = time.monotonic() - started
            emit(_finished_event(report))
            return report
        runs.append(result)
        report.run_durations.append(result.duration)
        if result.kernel_stderr.strip():
            report.kernel_stderr = result.kernel_stderr
        if result.kernel_died_at is not None or result.timed_out:
            break

    pairs = align_cells(prep.baseline, runs[0].nb) if prep.baseline is not None else {}
    for index in code_cells:
        report.cells.append(
            _judge_cell(
                index,
                runs[0].nb["cells"][index],
                runs,
                pairs.get(index),
                prep.baseline is not None,
                options,
                compare_options,
            )
        )
    _verdict(report, runs)
    if options.diagnose and report.status != REPRODUCED:
        _diagnose(prep, report, options, drift)
    _keep(prep, runs[0].nb, report)
    report.duration = time.monotonic() - started
    emit(_finished_event(report))
    return report


def _keep(prep: PreparedNotebook, nb: dict[str, Any], report: NotebookReport) -> None:
    """Write the executed copy where ``--output`` asked; a failed write becomes a warning."""
    if prep.output_path is None:
        return
    try:
        write_notebook(nb, prep.output_path)
    except OSError as exc:
        report.warnings.append(
            f"could not keep the executed notebook at {prep.output_path}: {exc.strerror or exc}"
        )
        return
    report.output_path = str(prep.output_path)


def _verdict(report: NotebookReport, runs: Sequence[ExecutionResult]) -> None:
    last = runs[-1]
    run_note = f" in run {len(runs)}" if len(runs) > 1 else ""
    if last.kernel_died_at is not None:
        died = next(c for c in report.cells if c.index == last.kernel_died_at)
        report.status = COULD_NOT_RUN
        report.reason = (
            f"the kernel died while executing {cell_label(died.index, died.id)}{run_note}"
        )
        return
    if last.timed_out:
        stopped = next((c for c in report.cells if c.status == "timeout"), None)
        what = "the whole-notebook timeout" if last.notebook_timed_out else "the cell timeout"
        where = f" at {cell_label(stopped.index, stopped.id)}" if stopped is not None else ""
        report.status = COULD_NOT_RUN
        report.reason = f"stopped by {what}{where}{run_note}"
        return
    failing = [c for c in report.cells if c.status in FAILING_CELL_STATUSES]
    counts = report.counts()
    if failing:
        report.status = NOT_REPRODUCED
        parts = [
            f"{counts[s]} {s}" for s in ("mismatch", "nondeterministic", "error") if counts.get(s)
        ]
        report.reason = f"{', '.join(parts)} of {len(report.cells)} code cells"
        return
    report.status = REPRODUCED
    checked = counts.get("ok", 0)
    basis = (
        f"{len(runs)} runs agree"
        if report.baseline == "none"
        else f"match the {report.baseline} "
        "outputs" + (f" in {len(runs)} runs" if len(runs) > 1 else "")
    )
    report.reason = f"{checked} of {len(report.cells)} code cells compared: {basis}"


def _finished_event(report: NotebookReport) -> dict[str, Any]:
    return {
        "event": "notebook-finished",
        "notebook": report.path,
        "status": report.status,
        "reproducible": report.reproducible,
        "reason": report.reason,
        "duration": round(report.duration, 6),
    }


def verify_notebook(
    path: Path, options: VerifyOptions, on_event: EventCallback | None = None
) -> NotebookReport:
    """Verify one notebook: prepare it (raising NbreproError on bad input), execute, judge."""
    return execute_prepared(prepare_notebook(Path(path), options), options, on_event)


def ensure_folder(folder: Path, option: str) -> None:
    """Create ``folder`` (and its parents) or raise a one-line InputError naming ``option``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{option} {folder}: not a folder") from None
    except OSError as exc:
        raise InputError(f"{option} {folder}: cannot create it: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise InputError(f"{option} {folder}: not a folder")


def collect_notebooks(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The notebooks named by files and directories (recursive, skipping checkpoint folders)."""
    found = list(iter_notebook_paths(paths))
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def verify_paths(
    paths: Sequence[str | os.PathLike[str]],
    options: VerifyOptions,
    *,
    jobs: int = 1,
    on_event: EventCallback | None = None,
) -> VerifyReport:
    """Verify every notebook named by ``paths``, ``jobs`` at a time (each in its own kernel).

    All notebooks are read and checked before any executes: bad input raises NbreproError.
    """
    started = time.monotonic()
    notebooks = collect_notebooks(paths)
    if not notebooks:
        raise UsageError("no notebooks found in " + ", ".join(str(p) for p in paths))
    if options.against is not None and len(notebooks) > 1:
        raise UsageError("--against compares one notebook; give exactly one notebook")
    if options.runs < 1:
        raise UsageError("--runs must be at least 1")
    prepared = [prepare_notebook(path, options) for path in notebooks]
    targets = [p.output_path.resolve() for p in prepared if p.output_path is not None]
    if len(set(targets)) != len(targets):
        raise UsageError("--output: two notebooks would be kept under the same name")
    if options.output_dir is not None:
        ensure_folder(options.output_dir, "--output")
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    if jobs <= 1 or len(prepared) == 1:
        reports = [execute_prepared(p, options, emit) for p in prepared]
    else:
        from .execute.engine import cancel_running_executions

        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nbrepro-verify") as pool:
            futures = [pool.submit(execute_prepared, p, options, emit) for p in prepared]
            try:
                reports = [future.result() for future in futures]
            except KeyboardInterrupt:
                # Ctrl-C reaches only this thread: stop the others' kernels before leaving.
                for future in futures:
                    future.cancel()
                cancel_running_executions()
                raise
    return VerifyReport(notebooks=reports, duration=time.monotonic() - started)
