"""Judging one verification: pairing executed cells with the baseline and one status per cell.

The notebook's verdict from these statuses is :func:`nbrepro.verify.verdict.notebook_verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..optionspec import mention
from .model import CellReport, VerifyOptions
from .prepare import is_injected
from .verdict import CELL_REPORT_STATUSES

if TYPE_CHECKING:
    from ..compare import CompareOptions
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

    A cell that raises fails unless it is marked to raise (as in nbval, even when the stored
    outputs show the same exception); a stored cell that never ran has nothing to compare.
    """
    from ..compare import cell_policy, compare_outputs

    policy = cell_policy(cell)
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
        comparison = compare_outputs(actual, other, compare_options)
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
    if _never_ran(baseline_cell) and actual:
        if report.status == "ok":
            report.status = "ignored"
            report.summary = "no stored outputs: the cell never ran before the notebook was saved"
        return report
    expected = plain_outputs(baseline_cell.get("outputs", []))
    comparison = compare_outputs(expected, actual, compare_options)
    if not comparison.equal:
        report.diff = comparison.diff
        if report.status == "ok":
            report.status = "mismatch"
            report.summary = comparison.summary
    return report
