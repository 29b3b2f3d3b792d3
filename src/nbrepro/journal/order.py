"""A lineage's executions against the notebook's cell order: did the session run in order?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .store import Execution


@dataclass
class OrderReport:
    """How a lineage's executions relate to the notebook's top-to-bottom order.

    ``in_order`` is true when every execution ran a cell below the previous one (re-running the
    same cell twice in a row is reported in ``reruns`` but keeps the order). ``out_of_order``
    lists each execution that went back up: ``{"seq", "cell_id", "index", "after_cell_id",
    "after_index"}``. ``skipped`` lists code cells above the lowest cell run that never ran;
    ``unknown`` lists executed cell ids that are no longer in the notebook (or carried no id).
    """

    in_order: bool = True
    out_of_order: list[dict[str, Any]] = field(default_factory=list)
    reruns: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str | None] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "in_order": self.in_order,
            "out_of_order": self.out_of_order,
            "reruns": self.reruns,
            "skipped": self.skipped,
            "unknown": self.unknown,
        }


def execution_order(executions: Sequence[Execution], cell_ids: Sequence[str | None]) -> OrderReport:
    """Compare executions with the notebook's code cells (``cell_ids``, top to bottom)."""
    index_of = {cid: i for i, cid in enumerate(cell_ids) if cid}
    report = OrderReport()
    last: tuple[int, str | None] | None = None
    ran: set[int] = set()
    for ex in executions:
        index = index_of.get(ex.cell_id) if ex.cell_id else None
        if index is None:
            report.unknown.append(ex.cell_id)
            continue
        ran.add(index)
        if last is not None:
            entry = {
                "seq": ex.seq,
                "cell_id": ex.cell_id,
                "index": index,
                "after_cell_id": last[1],
                "after_index": last[0],
            }
            if index < last[0]:
                report.out_of_order.append(entry)
            elif index == last[0]:
                report.reruns.append(entry)
        last = (index, ex.cell_id)
    if ran:
        top = max(ran)
        report.skipped = [
            {"cell_id": cell_ids[i], "index": i} for i in range(top) if i not in ran and cell_ids[i]
        ]
    report.in_order = not report.out_of_order
    return report
