"""Execution-order rules (NBR1xx): they read only execution counts and outputs.

They apply to notebooks of every kernel language. When the notebook carries recorded provenance
with the real execution history, the gap rule names what ran in the missing executions.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping

from .cells import CodeCell, has_code
from .findings import Finding, make_finding

# JupyterLab writes menu paths with a right-pointing angle quote, as the panel does.
_RERUN_FIX = (
    "Restart the kernel and run all cells from the top (Kernel › Restart Kernel and Run All "  # noqa: RUF001
    "Cells), then save."
)


def _longest_increasing(cells: list[CodeCell]) -> set[int]:
    """Positions (in ``cells``) of a longest strictly increasing run of execution counts.

    Among equally long runs, the one ending lowest is kept, so the cell flagged is the one run
    last (with counts 1, 4, 3 from re-running cell 2 after cell 3, cell 2 is flagged).
    """
    tails: list[int] = []  # per run length, the smallest tail of a run found so far
    tail_pos: list[int] = []
    previous: list[int] = [-1] * len(cells)
    for pos, cell in enumerate(cells):
        count = cell.count or 0
        k = bisect_left(tails, count)
        if k == len(tails):
            tails.append(count)
            tail_pos.append(pos)
        else:
            tails[k] = count
            tail_pos[k] = pos
        previous[pos] = tail_pos[k - 1] if k else -1
    keep: set[int] = set()
    pos = tail_pos[-1] if tail_pos else -1
    while pos >= 0:
        keep.add(pos)
        pos = previous[pos]
    return keep


def out_of_order(cells: list[CodeCell]) -> list[Finding]:
    """NBR101: executed cells whose counts break the top-to-bottom increase.

    The cells flagged are the fewest whose removal leaves the counts increasing (the complement
    of a longest increasing subsequence), so one cell run late does not flag all below it.
    """
    executed = [cell for cell in cells if cell.count is not None]
    keep = _longest_increasing(executed)
    findings = []
    for pos, cell in enumerate(executed):
        if pos in keep:
            continue
        count = cell.count or 0
        above = [c for c in executed[:pos] if (c.count or 0) >= count]
        below = [c for c in executed[pos + 1 :] if (c.count or 0) <= count]
        twin = next((c for c in executed if c is not cell and c.count == cell.count), None)
        if twin is not None:
            # A count repeats across kernel sessions (or in a copied cell): neither ran "before"
            # the other, so say that rather than an order the counts cannot show.
            where = "above" if twin.index < cell.index else "below"
            other = twin
            message = (
                f"{cell.label()} and {twin.label()} {where} it both show In [{count}]: the "
                "kernel restarted between their runs (or a cell was copied with its outputs), "
                "so the notebook was not run top to bottom in one session"
            )
        elif above:
            other = max(above, key=lambda c: c.count or 0)
            message = (
                f"{cell.label()} ran as In [{count}], before {other.label()} above it "
                f"(In [{other.count}]): the notebook was not run top to bottom"
            )
        else:
            other = min(below, key=lambda c: c.count or 0)
            message = (
                f"{cell.label()} ran as In [{count}], after {other.label()} below it "
                f"(In [{other.count}]): the notebook was not run top to bottom"
            )
        findings.append(
            make_finding(
                "NBR101", cell.index, cell.id, message, _RERUN_FIX, related_cells=[other.index]
            )
        )
    return findings


def never_executed(cells: list[CodeCell]) -> list[Finding]:
    """NBR102: code cells never run while others were (empty and comment-only cells aside)."""
    if not any(cell.count is not None for cell in cells):
        return []
    findings = []
    for cell in cells:
        if cell.count is not None or cell.has_outputs or "skip-execution" in cell.tags:
            continue
        if not has_code(cell.source):
            continue
        findings.append(
            make_finding(
                "NBR102",
                cell.index,
                cell.id,
                f"{cell.label()} was never executed although other cells were: the saved "
                "outputs do not show what a full run does",
                "Run all cells from the top, or delete the cell if it is not needed.",
            )
        )
    return findings


def output_without_count(cells: list[CodeCell]) -> list[Finding]:
    """NBR103: outputs that no execution count ties to a run."""
    return [
        make_finding(
            "NBR103",
            cell.index,
            cell.id,
            f"{cell.label()} has outputs but no execution count: they cannot be tied to a run "
            "(counts stripped, or outputs kept from an earlier session)",
            "Re-run the notebook from the top so outputs and counts match, or clear the "
            "cell's outputs.",
        )
        for cell in cells
        if cell.count is None and cell.has_outputs
    ]


def _describe_missing(
    missing: range,
    history: Mapping[int, str | None],
    present: Mapping[str, CodeCell],
) -> str:
    """What ran in the missing executions, from recorded provenance (empty when unknown)."""
    if not history or any(count not in history for count in missing):
        return ""
    parts = []
    for count in missing:
        cell_id = history[count]
        cell = present.get(cell_id) if cell_id else None
        if cell_id is None:
            parts.append(f"In [{count}] was code sent without a cell id (a console?)")
        elif cell is None:
            parts.append(f"In [{count}] was a cell deleted since")
        elif cell.count == count:
            return ""  # inconsistent history: stay silent
        else:
            parts.append(f"In [{count}] was {cell.label()}, run again later")
    if len(parts) > 3:
        deleted = sum(part.endswith("deleted since") for part in parts)
        unknown = sum("without a cell id" in part for part in parts)
        said = [f"{deleted} of them were cells deleted since"] if deleted else []
        said += [f"{unknown} were code sent without a cell id"] if unknown else []
        return f"; what ran: {', '.join(said)}" if said else ""
    return "; what ran: " + ", ".join(parts)


def execution_gaps(
    cells: list[CodeCell], history: Mapping[int, str | None] | None = None
) -> list[Finding]:
    """NBR104: executions missing from the counter (re-runs, cleared or deleted cells).

    ``history`` maps an execution count to the cell id that ran it, from recorded provenance;
    with it the message names what ran, otherwise it says what may have happened.
    """
    executed = sorted(
        (cell for cell in cells if cell.count is not None), key=lambda c: c.count or 0
    )
    present = {cell.id: cell for cell in cells if cell.id}
    findings = []
    previous: CodeCell | None = None
    for cell in executed:
        count = cell.count or 0
        low = (previous.count or 0) + 1 if previous else 1
        if count > low:
            missing = range(low, count)
            span = f"In [{low}]" if count - low == 1 else f"In [{low}] to In [{count - 1}]"
            where = (
                f"between In [{previous.count}] ({previous.label()}) and In [{count}]"
                if previous
                else f"before In [{count}], the first count in the notebook"
            )
            detail = _describe_missing(missing, history or {}, present)
            findings.append(
                make_finding(
                    "NBR104",
                    cell.index,
                    cell.id,
                    f"{span} ran code whose outputs are not in the notebook ({where}): "
                    f"the kernel may hold what that code made, and no cell here shows it{detail}",
                    _RERUN_FIX,
                    related_cells=[previous.index] if previous else [],
                )
            )
        previous = cell if previous is None or count > (previous.count or 0) else previous
    return findings


def execution_findings(
    cells: list[CodeCell],
    active: Collection[str],
    history: Mapping[int, str | None] | None = None,
) -> list[Finding]:
    """All active execution-order findings."""
    findings: list[Finding] = []
    if "NBR101" in active:
        findings += out_of_order(cells)
    if "NBR102" in active:
        findings += never_executed(cells)
    if "NBR103" in active:
        findings += output_without_count(cells)
    if "NBR104" in active:
        findings += execution_gaps(cells, history)
    return findings
