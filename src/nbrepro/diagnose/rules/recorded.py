"""Cause rules read off the recorded provenance: edits, inputs and the environment.

They apply only when the recorded provenance describes the baseline (the stored outputs).
"""

from __future__ import annotations

from .. import evidence as ev
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell
from ..cell_remedies import environment_remedy, rerun_remedy, restore_remedy
from ..env_drift import touched_by
from ..registry import Claims, rule


@rule("code-edited")
def code_edited(cell: FailingCell) -> Claims:
    """The cell, or a cell it uses a name of, was edited after it ran."""
    c, book = cell.code, cell.notebook
    if c is None:
        return
    if book.provenance is None:
        why = (
            "recorded provenance applies to the stored outputs only"
            if book.has_provenance
            else "no recorded provenance"
        )
        yield f"provenance: {why}: edits, inputs, environment and execution history not checked"
        return
    edited = c.edited
    if edited is not None:
        count = edited.get("execution_count")
        ran = f" (In [{count}])" if count is not None else ""
        yield Cause(
            "code-edited",
            f"was edited after it ran{ran}",
            STRENGTH["recorded"],
            [ev.edited(c.index, c.hash, edited)],
            remedy=rerun_remedy(cell.error_name),
        )
        return
    if c.recorded is not None:
        yield "source: unchanged since it ran"
    else:
        yield "source: no recorded execution of this cell"
    taint = c.taint.get("code-edited")
    if taint is not None and taint.inherited and cell.upstream is None:
        yield Cause(
            "code-edited",
            f"uses {taint.summary}",
            STRENGTH["upstream"],
            list(taint.evidence),
            remedy=rerun_remedy(cell.error_name),
        )


@rule("input-changed")
def input_changed(cell: FailingCell) -> Claims:
    """A recorded input the cell (or a cell it uses a name of) read changed or is missing."""
    c, book = cell.code, cell.notebook
    if c is None or book.provenance is None:
        return
    claimed = False
    for item in c.changed_inputs:
        if item.path in cell.explained_paths:
            continue
        claimed = True
        yield Cause(
            "input-changed",
            f"reads {item.path}, which {ev.drift_word(item)}",
            STRENGTH["recorded"],
            [ev.changed_input(item)],
            remedy=restore_remedy(item.path, cell.outcome.status == "error"),
        )
    if not c.changed_inputs:
        read = (c.recorded or {}).get("inputs")
        n = len(read) if isinstance(read, list) else 0
        yield f"inputs: {n} recorded for this cell, none changed"
    taint = c.taint.get("input-changed")
    if not claimed and taint is not None and taint.inherited and cell.upstream is None:
        path = taint.evidence[-1].details.get("path")
        yield Cause(
            "input-changed",
            f"uses {taint.summary}",
            STRENGTH["upstream"],
            list(taint.evidence),
            remedy=restore_remedy(str(path), cell.outcome.status == "error")
            if path
            else rerun_remedy(cell.error_name),
        )


@rule("environment-changed")
def environment_changed(cell: FailingCell) -> Claims:
    """A package the cell imports, a variable that matters to it, or Python changed."""
    c, book = cell.code, cell.notebook
    if c is None or book.provenance is None:
        return
    if cell.upstream is not None:
        yield (
            "environment, upstream edits and inputs: not attributed (the cell stopped at "
            f"`{cell.upstream.name}`, which a failed cell above defines)"
        )
        return
    env = book.env
    if env is None:
        yield "environment: no drift" if book.drift is not None else "environment: not checked"
        return
    touched = touched_by(env, c, cell.missing_module)
    if not touched:
        yield (
            "environment: differs ("
            + "; ".join(env.summary_lines()[:3])
            + "), not in what this cell visibly uses"
        )
        return
    subject, first = touched[0]
    yield Cause(
        "environment-changed",
        f"environment drift suspected: depends on {subject}, which changed since it ran "
        f"({first.message})",
        STRENGTH["imported"],
        [evidence for _, evidence in touched],
        remedy=environment_remedy([evidence for _, evidence in touched]),
    )


@rule("environment-changed", fallback=True)
def environment_drift(cell: FailingCell) -> Claims:
    """Nothing else explains the cell, and the environment changed (weak evidence)."""
    env = cell.notebook.env
    if env is None or cell.upstream is not None:
        return
    lines = [line for line in env.summary_lines() if not line.startswith("platform release")]
    if not lines:
        return
    yield Cause(
        "environment-changed",
        f"did not reproduce, and the environment changed since it ran ({lines[0]}; "
        "not visibly used by this cell)",
        STRENGTH["weak"],
        [Evidence("environment", line) for line in lines],
        remedy=environment_remedy([]),
    )
