"""Rules and hints from recorded provenance (``metadata.nbrepro``), when the notebook has it.

NBR301 (stale-output) switches on only for cells the recorder saw run; the execution history
sharpens the hidden-state messages of other rules. Anything inconsistent is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .cells import MAX_COUNT, CodeCell
from .findings import Finding, make_finding


def _has_provenance(nb: dict[str, Any]) -> bool:
    """Cheap test before importing the provenance readers (and hashlib)."""
    metadata = nb.get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("nbrepro"))


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_COUNT
    return value if ok else None


def current_session_history(
    nb: dict[str, Any], cells: Sequence[CodeCell] = ()
) -> dict[int, str | None]:
    """Execution count -> cell id of the kernel session that produced the saved counts.

    Only the last run of increasing counts in the recorded ``executions`` is used (a restart
    starts counting again at 1); counts seen twice are dropped as ambiguous. An execution sent
    without a cell id (a console, a frontend that sends none: ``cell_id_source`` ``derived``)
    maps to the one cell of ``cells`` whose source hashes the same, else to ``None`` (unknown
    code, not a deleted cell).
    """
    if not _has_provenance(nb):
        return {}
    from ..provenance import get_provenance

    prov = get_provenance(nb) or {}
    executions = prov.get("executions")
    if not isinstance(executions, list):
        return {}
    by_hash: dict[str, list[str]] = {}
    if any(isinstance(e, dict) and e.get("cell_id_source") == "derived" for e in executions):
        from ..hashing import source_hash

        for cell in cells:
            if cell.id:
                by_hash.setdefault(source_hash(cell.source), []).append(cell.id)
    segment: list[tuple[int, str | None]] = []
    previous = 0
    for entry in executions:
        if not isinstance(entry, dict):
            continue
        count = _count(entry.get("execution_count"))
        if count is None:
            continue
        if count <= previous:
            segment = []
        previous = count
        cell_id = entry.get("cell_id")
        if entry.get("cell_id_source") == "derived":
            same = by_hash.get(str(entry.get("source_hash")), [])
            cell_id = same[0] if len(same) == 1 else None
        segment.append((count, cell_id if isinstance(cell_id, str) else None))
    return dict(segment)


def deleted_runs(history: dict[int, str | None], cells: Sequence[CodeCell]) -> list[int]:
    """Counts of recorded executions whose cell is no longer in the notebook."""
    present = {cell.id for cell in cells if cell.id}
    return sorted(count for count, cell_id in history.items() if cell_id and cell_id not in present)


def stale_outputs(nb: dict[str, Any], cells: Sequence[CodeCell]) -> list[Finding]:
    """NBR301: cells whose source changed since the recorded execution that made their outputs."""
    if not _has_provenance(nb):
        return []
    from ..hashing import source_hash
    from ..provenance import recorded_cells

    recorded = recorded_cells(nb)
    if not recorded:
        return []

    findings = []
    for cell in cells:
        entry = recorded.get(cell.id) if cell.id else None
        if not isinstance(entry, dict):
            continue
        recorded_hash = entry.get("source_hash")
        if not isinstance(recorded_hash, str) or not (cell.count or cell.has_outputs):
            continue
        recorded_count = _count(entry.get("execution_count"))
        if recorded_count is not None and cell.count is not None and recorded_count != cell.count:
            continue  # the saved outputs are not from the recorded execution: unsure
        if recorded_hash == source_hash(cell.source):
            continue
        ran = f" (In [{recorded_count}])" if recorded_count is not None else ""
        findings.append(
            make_finding(
                "NBR301",
                cell.index,
                cell.id,
                f"{cell.label()} was edited after it ran{ran}: its outputs, and the state it "
                "left in the kernel, came from code that is no longer in the notebook",
                "Re-run the cell (and the cells after it that use what it defines), or undo "
                "the edit.",
            )
        )
    return findings
