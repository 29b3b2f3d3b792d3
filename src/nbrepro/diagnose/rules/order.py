"""Cause rules about where the names a cell used came from: ``execution-order`` and
``hidden-state`` (from the recorded journal or, without one, from the cell's ``NameError``)."""

from __future__ import annotations

from ...cell_names import cell_label
from .. import evidence as ev
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell, NameOrigin
from ..cell_remedies import order_remedy
from ..registry import Claims, rule


def _findings(cell: FailingCell, name: str) -> list[Evidence]:
    """``nbrepro check``'s findings about ``name`` in this cell."""
    out = []
    for finding in cell.notebook.findings().get(cell.outcome.index, []):
        if f"`{name}`" in finding.message or f"'{name}'" in finding.message:
            message = f"nbrepro check {finding.rule} ({finding.name}) about `{name}`"
            out.append(Evidence("check-finding", message, finding.to_dict()))
    return out


def _ran_elsewhere(cell: FailingCell, origin: NameOrigin) -> Cause:
    code, name, entry = cell.notebook.code, origin.name, origin.entry or {}
    assert cell.code is not None and origin.source is not None
    source, top = code[origin.source].index, origin.top
    where = "below it" if origin.source > cell.code.pos else "above it"
    then = (
        f"top to bottom it comes from {cell_label(code[top].index)}"
        if top is not None
        else "top to bottom no cell above defines it"
    )
    journal = Evidence(
        "journal",
        f"`{name}` was last defined by {cell_label(source)} (In [{entry.get('execution_count')}]) "
        f"before this cell ran (In [{origin.used_at}])",
        {
            "name": name,
            "defined_by": source,
            "defined_at": entry.get("execution_count"),
            "used_at": origin.used_at,
            "top_down_definer": code[top].index if top is not None else None,
        },
    )
    return Cause(
        "execution-order",
        f"used `{name}` from {cell_label(source)} ({where}) when it ran; {then}",
        STRENGTH["journal"],
        [journal, *_findings(cell, name)],
        remedy=order_remedy(source, cell.outcome.index, origin.source > cell.code.pos),
    )


@rule("execution-order")
def execution_order(cell: FailingCell) -> Claims:
    """A name the cell used came from another cell than the one defining it above."""
    if cell.code is None:
        return
    for origin in cell.origins:
        if origin.kind == "ran-elsewhere":
            yield _ran_elsewhere(cell, origin)
        elif origin.kind == "defined-below":
            o = cell.outcome
            yield Cause(
                "execution-order",
                f"uses `{origin.name}`, which only {cell_label(origin.below[0])} (below it) "
                "defines",
                STRENGTH["static-finding"],
                [ev.error(o.error_name, o.error_value), *_findings(cell, origin.name)],
                remedy=f"move {cell_label(origin.below[0])} above {cell_label(o.index)} "
                f"(it defines `{origin.name}`)",
            )
    if cell.journal_position is None:
        if cell.notebook.provenance is not None:
            yield "execution history: no recorded journal for this cell's last run"
    elif not cell.origins:
        yield "execution history: every name it uses came from the cell that defines it above"


@rule("hidden-state")
def hidden_state(cell: FailingCell) -> Claims:
    """The cell used a name that no cell above defines any more."""
    if cell.code is None:
        return
    o, book = cell.outcome, cell.notebook
    for origin in cell.origins:
        name = origin.name
        remedy = (
            f"move {cell_label(origin.below[0])} above {cell_label(o.index)} (it defines `{name}`)"
            if origin.below
            else f"define `{name}` in a cell, or restart the kernel and run all to check"
        )
        if origin.kind == "undefined":
            yield Cause(
                "hidden-state",
                f"uses `{name}`, which no cell of the notebook defines",
                STRENGTH["static-finding"],
                [ev.error(o.error_name, o.error_value), *_findings(cell, name)],
                remedy=remedy,
            )
        if origin.kind != "ghost":
            continue
        ghost = origin.entry or {}
        gid = str(ghost.get("cell_id"))
        what = (
            f"the cell with id {gid}, deleted since"
            if gid in book.deleted
            else f"code run outside the notebook's cells ({gid})"
        )
        defined = (
            f"only {cell_label(origin.below[0])}, below it, defines it"
            if origin.below
            else "no cell of the notebook defines it"
        )
        journal = Evidence(
            "journal",
            f"{what} ran (In [{ghost.get('execution_count')}]) before this cell ran "
            f"(In [{origin.used_at}]); {defined}",
            {
                "name": name,
                "ran": gid,
                "ran_at": ghost.get("execution_count"),
                "used_at": origin.used_at,
                "deleted": gid in book.deleted,
            },
        )
        evidence = [journal, *_findings(cell, name)]
        if origin.failed:
            evidence.insert(0, ev.error(o.error_name, o.error_value))
        yield Cause(
            "hidden-state",
            f"uses `{name}` ({defined}); it came from {what}",
            STRENGTH["journal"],
            evidence,
            remedy=remedy,
        )
