"""Judging one verification: pairing executed cells with the baseline and one status per cell.

The notebook's verdict from these statuses is :func:`nbrepro.verify.verdict.notebook_verdict`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..optionspec import mention
from .model import CellReport, VerifyOptions
from .prepare import is_injected
from .verdict import CELL_REPORT_STATUSES

if TYPE_CHECKING:
    from ..compare import CompareOptions, OutputComparison
    from ..execute.engine import CellExecution, ExecutionResult


def plain_outputs(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
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
            if c.get("cell_type") == "code" and is_injected(c) == injected
        ]
        execd = [
            (i, c)
            for i, c in enumerate(executed.get("cells", []))
            if c.get("cell_type") == "code" and is_injected(c) == injected
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


def _never_ran(cell: dict[str, Any]) -> bool:
    """Whether a stored cell was saved without ever running (no count, no outputs)."""
    return cell.get("execution_count") is None and not cell.get("outputs")


#: The last executed notebook judged on this thread and whether it uses nbval's markers (the
#: cells of one notebook are judged one after the other: checked once, not once per cell).
_LAST = threading.local()


def _uses_markers(run: ExecutionResult, check: Callable[[dict[str, Any]], bool]) -> bool:
    last = getattr(_LAST, "value", None)
    if last is not None and last[0]() is run:
        return bool(last[1])
    found = check(run.nb)
    _LAST.value = (weakref.ref(run), found)
    return found


def _stored_error(
    stored: list[dict[str, Any]], entry: CellExecution, options: CompareOptions
) -> bool:
    """Whether the stored outputs show the error ``entry`` raised (same name, same value after
    normalisation)."""
    from ..compare import normalize_outputs

    raised = normalize_outputs(
        [
            {
                "output_type": "error",
                "ename": entry.error_name or "",
                "evalue": entry.error_value or "",
                "traceback": [],
            }
        ],
        options,
    )[0]
    return any(
        o.get("output_type") == "error"
        and o.get("ename") == raised["ename"]
        and o.get("evalue") == raised["evalue"]
        for o in normalize_outputs(stored, options)
    )


def judge_cell(
    index: int,
    cell: dict[str, Any],
    runs: Sequence[ExecutionResult],
    baseline_cell: dict[str, Any] | None,
    has_baseline: bool,
    options: VerifyOptions,
    compare_options: CompareOptions,
) -> CellReport:
    """Decide one code cell's status from every run and the baseline.

    A cell that raises fails unless it is marked to raise, or its stored outputs show the same
    exception (name and value): a deliberate error that recurs identically is reproduced, as
    papermill's, nbclient's and nbmake's own tests expect. Under nbval's rules
    (``compare_options.nbval_compat``, or a notebook that uses nbval's markers, then with
    nbrepro's normalisers too) the stored error does not excuse it, outputs compare as nbval
    compares them, and a stored cell that never ran is not compared (it fails when it has
    outputs). Otherwise a stored cell that never ran has nothing to compare.
    """
    from ..compare import cell_policy, compare_outputs
    from ..compare.nbval import compare_nbval, unrun_problem, uses_nbval_markers

    policy = cell_policy(cell)
    nbval = compare_options.nbval_compat or _uses_markers(runs[0], uses_nbval_markers)

    def compare(
        expected: list[dict[str, Any]], got: list[dict[str, Any]], opts: CompareOptions
    ) -> OutputComparison:
        if not nbval:
            return compare_outputs(expected, got, opts)
        return compare_nbval(expected, got, opts, normalize=not opts.nbval_compat)

    stored = plain_outputs(baseline_cell.get("outputs", [])) if baseline_cell is not None else []
    execs: list[CellExecution | None] = [
        next((c for c in run.cells if c.index == index), None) for run in runs
    ]
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
    several = len(execs) > 1
    for number, entry in enumerate(execs, start=1):
        if entry is not None and entry.status in ("timeout", "kernel-died", "not-run"):
            where = f" (run {number})" if several else ""
            report.status = entry.status
            report.error_name, report.error_value = entry.error_name, entry.error_value
            report.summary = (entry.error_value or CELL_REPORT_STATUSES[entry.status]) + where
            return report
    if first.status == "skipped":
        report.status, report.summary = "skipped", "not executed (skip marker or tag)"
        return report

    actual = plain_outputs(runs[0].nb["cells"][index].get("outputs", []))
    if policy.raises_exception:
        if any(e is not None and e.status != "error" for e in execs):
            report.status = "mismatch"
            report.summary = "marked to raise an exception, but none was raised"
            return report
    else:
        for number, entry in enumerate(execs, start=1):
            if entry is None or entry.status != "error":
                continue
            if not nbval and _stored_error(stored, entry, compare_options):
                report.summary = (
                    f"raised the stored error again: {entry.error_name}: {entry.error_value}"
                )
                continue
            where = f" (run {number})" if several else ""
            report.status = "error"
            report.error_name, report.error_value = entry.error_name, entry.error_value
            report.summary = f"{entry.error_name}: {entry.error_value}{where}"
            return report

    if policy.ignore_output or (options.lax and not policy.check_output):
        report.status = "ignored"
        report.summary = (
            f"outputs not compared ({mention('lax')})"
            if not policy.ignore_output
            else "outputs not compared"
        )
        return report

    for number, run in enumerate(runs[1:], start=2):
        other = plain_outputs(run.nb["cells"][index].get("outputs", []))
        comparison = compare(actual, other, compare_options)
        if not comparison.equal:
            report.status = "nondeterministic"
            report.summary = f"outputs differ between run 1 and run {number}: {comparison.summary}"
            report.determinism_diff = comparison.diff
            break

    if not has_baseline:
        return report
    if baseline_cell is None:
        if report.status == "ok":
            if is_injected(cell):
                report.status = "ignored"
                report.summary = "parameters injected by nbrepro (no stored counterpart)"
            else:
                report.status = "mismatch"
                report.summary = "no counterpart in the baseline notebook"
        return report
    if nbval:
        problem = unrun_problem(baseline_cell)
        if problem is not None:
            if report.status == "ok":
                report.status = "mismatch" if problem else "ignored"
                report.summary = problem or "not compared: the stored cell never ran (nbval)"
            return report
    elif _never_ran(baseline_cell) and actual:
        if report.status == "ok":
            report.status = "ignored"
            report.summary = "no stored outputs: the cell never ran before the notebook was saved"
        return report
    comparison = compare(stored, actual, compare_options)
    tolerated = [d for d in comparison.details if d.startswith("library drift tolerated")]
    if comparison.equal and tolerated and report.status == "ok":
        report.summary = tolerated[0]
    if not comparison.equal:
        report.diff = comparison.diff
        if report.status == "ok":
            report.status = "mismatch"
            report.summary = comparison.summary
    return report
