"""Cause rules read off the outcome itself: the run stopped, or the error names the cause.

``kernel-died`` and ``timeout`` (the cell itself, or a cell that never ran after it),
``missing-module``, ``missing-file``, and ``upstream-failed`` (a ``NameError`` for a name whose
definer above failed in this run: a consequence, pointing at its root cell).
"""

from __future__ import annotations

from ...cell_names import cell_label
from ...optionspec import mention
from .. import evidence as ev
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell
from ..cell_remedies import install_remedy
from ..registry import Claims, rule

_STOPPED = {"kernel-died": "the kernel died there", "timeout": "it ran past the timeout"}


def _stopped(cell: FailingCell, status: str) -> Claims:
    """The cell itself died or timed out; or it never ran because an earlier cell did."""
    o = cell.outcome
    if o.status == status:
        observed = Evidence(
            "run",
            f"{o.status} while executing (run statuses: {', '.join(o.run_statuses)})",
            {"status": o.status, "run_statuses": list(o.run_statuses), "detail": o.summary},
        )
        if status == "kernel-died":
            summary = "killed the kernel"
            remedy = "find what kills the kernel here (memory, a native crash), then run all"
        else:
            summary = f"ran past the timeout ({o.summary})" if o.summary else "ran past the timeout"
            remedy = f"make the cell faster or raise the timeout ({mention('timeout')})"
        yield Cause(status, summary, STRENGTH["observed"], [observed], remedy=remedy)
        yield f"run: {o.status}"
        return
    stopper = cell.stopper
    if o.status != "not-run" or stopper is None or stopper.status != status:
        return
    what = "the kernel died at" if status == "kernel-died" else "a timeout stopped"
    yield Cause(
        status,
        f"never ran: {what} {cell_label(stopper.index)}",
        STRENGTH["observed"],
        [
            Evidence(
                "run",
                f"not executed: {what} {cell_label(stopper.index, stopper.id)}",
                {"stopped_at": stopper.index, "status": stopper.status},
            )
        ],
        remedy=f"fix {cell_label(stopper.index)} first ({_STOPPED[status]})",
    )
    yield f"run: not executed ({what} {cell_label(stopper.index)})"


@rule("kernel-died", statuses={"kernel-died", "not-run"})
def kernel_died(cell: FailingCell) -> Claims:
    """The kernel died while executing the cell, or before the cell ran."""
    yield from _stopped(cell, "kernel-died")


@rule("timeout", statuses={"timeout", "not-run"})
def timeout(cell: FailingCell) -> Claims:
    """The cell ran past the timeout, or never ran because of it."""
    yield from _stopped(cell, "timeout")


# -- what the error names -------------------------------------------------------------------


@rule("missing-module", statuses={"error"})
def missing_module(cell: FailingCell) -> Claims:
    """``ModuleNotFoundError``: with the recorded version when the recorded environment had it."""
    module = cell.missing_module
    if module is None:
        return
    book = cell.notebook
    top = module.split(".")[0]
    evidence = [ev.error(cell.outcome.error_name, cell.outcome.error_value)]
    packages = book.recorded_environment.get("packages")
    recorded, pin = "", None
    if isinstance(packages, dict):
        for pkg, version in packages.items():
            if ev.canonical(pkg) == ev.canonical(top):
                recorded, pin = f" (recorded: {pkg} {version})", (pkg, version)
                details = {"name": pkg, "recorded": version, "current": None}
                message = f"the recorded environment had {pkg} {version}"
                evidence.append(Evidence("package", message, details))
    if book.env is not None:
        for name, version in book.env.removed.items():
            if ev.canonical(name) == ev.canonical(top) and not recorded:
                recorded, pin = f" (recorded: {name} {version})", (name, version)
    evidence += [ev.changed_input(item) for item in cell.explained_inputs]
    yield Cause(
        "missing-module",
        f"imports {module}, which is not installed{recorded}",
        STRENGTH["error"],
        evidence,
        remedy=install_remedy(top, pin),
    )


@rule("missing-file", statuses={"error"})
def missing_file(cell: FailingCell) -> Claims:
    """``FileNotFoundError``: with the recorded hash when the file was a recorded input."""
    if cell.error_kind != "file":
        return
    evidence = [ev.error(cell.outcome.error_name, cell.outcome.error_value)]
    evidence += [ev.changed_input(item) for item in cell.explained_inputs]
    note = ", which it read when the notebook ran" if cell.explained_inputs else ""
    path = cell.missing_path
    if cell.explained_inputs:
        remedy = f"restore {path}"
    elif path is not None:
        remedy = f"create {path} or fix the path the cell opens"
    else:
        remedy = "restore the file the cell opens or fix its path"
    yield Cause(
        "missing-file",
        f"opens {path or 'a file'}, which does not exist{note}",
        STRENGTH["error"],
        evidence,
        remedy=remedy,
    )


@rule("upstream-failed", statuses={"error"})
def upstream_failed(cell: FailingCell) -> Claims:
    """``NameError`` for a name whose nearest definer above failed in this run."""
    up = cell.upstream
    if up is None:
        if cell.upstream_note is not None:
            yield cell.upstream_note
        return
    o, definer, failed = cell.outcome, up.definer, up.failed
    how = f"defines `{up.name}`"
    evidence = [
        ev.error(o.error_name, o.error_value),
        Evidence(
            "dataflow",
            f"{cell_label(definer.index)} {how} and failed first: "
            f"{failed.error_name}: {failed.error_value}",
            {
                "name": up.name,
                "defined_by": definer.index,
                "defined_by_id": definer.id,
                "error_name": failed.error_name,
                "error_value": failed.error_value,
            },
        ),
    ]
    if up.parent is not None and up.parent.root is not None:
        evidence += [e for e in up.parent.cause.evidence if e.kind == "dataflow"]
    root = up.root_diagnosis
    root_summary = root.cause.summary if root is not None else "failed"
    evidence.append(
        Evidence(
            "upstream",
            f"root cause: {cell_label(up.root)} {root_summary}",
            {
                "root_cell": up.root,
                "root_cell_id": up.root_id,
                "root_cause": root.cause.id if root is not None else None,
            },
        )
    )
    via = f"{cell_label(definer.index)} ({how}) failed"
    if up.root != definer.index:
        via += f" because {cell_label(up.root)} did"
    first = f"fix {cell_label(up.root)} first"
    yield Cause(
        "upstream-failed",
        f"fails because {via}; root cause: {cell_label(up.root)} {root_summary}",
        STRENGTH["error"],
        evidence,
        remedy=f"{first}: {root.remedy}" if root is not None and root.remedy else first,
    )
