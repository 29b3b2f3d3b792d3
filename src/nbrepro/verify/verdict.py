"""The one policy from what happened to a notebook's cells to a verdict, for every face.

* :func:`cell_execution_failure`: whether one executed cell's own run failed (an exception it was
  not marked to raise, a timeout, a dead kernel) — shared by verification and runs;
* :func:`notebook_verdict`: a verification's verdict (``reproduced`` / ``not-reproduced`` /
  ``could-not-run``) and its one-line reason, from the judged cells;
* :func:`run_verdict`: a versioned run's verdict (``succeeded`` / ``failed``), from the same
  execution statuses;
* :func:`job_state`: the state a verification or run job ends in, from its verdict;
* :func:`status_verdict`: the live verdict the server's status (and so the panel and the status
  bar) shows for a notebook: static findings, changed inputs, environment drift, the current
  kernel session's executions and the latest verification, combined in one place.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..cell_names import cell_label

#: Notebook verdicts of a verification.
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not-reproduced"
COULD_NOT_RUN = "could-not-run"
#: Verdicts of a versioned run.
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"

#: Cell statuses of a report, with their meaning (also in docs/verify.md).
CELL_REPORT_STATUSES = {
    "ok": "outputs match the baseline (and every run)",
    "mismatch": "outputs differ from the baseline",
    "nondeterministic": "outputs differ between fresh runs",
    "error": "the cell raised an exception it was not marked to raise",
    "ignored": "executed, outputs not compared (marker, tag, lax mode, injected parameters, or "
    "no stored outputs because the cell never ran)",
    "skipped": "not executed (skip-execution tag or NBVAL_SKIP)",
    "timeout": "stopped by the per-cell or the whole-notebook timeout",
    "kernel-died": "the kernel died while executing this cell",
    "not-run": "not executed because an earlier cell stopped the run",
}
#: Cell statuses that make a notebook fail.
FAILING_CELL_STATUSES = frozenset(
    {"mismatch", "nondeterministic", "error", "timeout", "kernel-died", "not-run"}
)

#: Job states; the last five are final.
JOB_QUEUED, JOB_RUNNING = "queued", "running"
JOB_SUCCEEDED, JOB_FAILED, JOB_ERROR, JOB_CANCELLED, JOB_TIMEOUT = (
    "succeeded",
    "failed",
    "error",
    "cancelled",
    "timeout",
)
FINAL_JOB_STATES = frozenset({JOB_SUCCEEDED, JOB_FAILED, JOB_ERROR, JOB_CANCELLED, JOB_TIMEOUT})
#: The job state interrupted jobs are reported in after the server restarted.
JOB_INTERRUPTED = "interrupted"

#: Levels of the live verdict, from best to worst, and their labels.
LEVEL_OK, LEVEL_WARNING, LEVEL_ERROR = "ok", "warning", "error"
_LEVEL_RANK = {LEVEL_OK: 0, LEVEL_WARNING: 1, LEVEL_ERROR: 2}
LABEL_REPRODUCED = "Reproduced"
LABEL_LOOKS = "Looks reproducible"
LABEL_AT_RISK = "At risk"
LABEL_NOT = "Not reproducible"

#: The panel's kind of each static-check rule (by stable rule id).
RULE_KINDS = {
    "NBR101": "out-of-order",
    "NBR102": "never-run",
    "NBR103": "hidden-state",
    "NBR104": "hidden-state",
    "NBR201": "use-before-def",
    "NBR202": "hidden-state",
    "NBR203": "hidden-state",
    "NBR301": "stale",
}


class ExecutionFacts(Protocol):
    """What a run of the engine says of how it ended (:class:`ExecutionResult` fits)."""

    kernel_died_at: int | None
    timed_out: bool
    notebook_timed_out: bool


class JudgedCell(Protocol):
    """One judged cell (:class:`nbrepro.verify.model.CellReport` fits)."""

    index: int
    id: str
    status: str


class ExecutedCell(Protocol):
    """One executed cell (:class:`nbrepro.execute.engine.CellExecution` fits)."""

    index: int
    cell_id: str
    status: str
    error_name: str | None
    error_value: str | None


def cell_execution_failure(
    status: str, raises_expected: bool, error: str | None = None
) -> str | None:
    """Why a cell's own execution failed (one line), or ``None`` when it did not.

    ``status`` is the engine's (``ok``, ``error``, ``skipped``, ``timeout``, ``kernel-died``,
    ``not-run``); ``raises_expected``: the cell is marked to raise (``raises-exception``,
    ``NBVAL_RAISES_EXCEPTION``); ``error``: ``Name: value`` of the exception.
    """
    if status in ("ok", "skipped"):
        return None
    if status == "error":
        return None if raises_expected else f"raised {error}" if error else "raised an exception"
    if status == "timeout":
        return "timed out"
    if status == "kernel-died":
        return "killed the kernel"
    return "never ran"


#: How a reason says each failing cell status, for one cell and for several.
_FAILING_WORDS = {
    "mismatch": ("differs", "differ"),
    "nondeterministic": ("is nondeterministic", "are nondeterministic"),
    "error": ("raised an error", "raised an error"),
    "not-run": ("did not run", "did not run"),
}


def _failing_counts(counts: Mapping[str, int], total: int) -> str:
    """``2 of 4 code cells differ, 1 raised an error``: the failing statuses in plain words."""
    parts: list[str] = []
    for status, (one, many) in _FAILING_WORDS.items():
        n = counts.get(status, 0)
        if n:
            lead = f"{n} of {total} code cells" if not parts else f"{n}"
            parts.append(f"{lead} {one if n == 1 else many}")
    return ", ".join(parts)


def notebook_verdict(
    cells: Sequence[JudgedCell], runs: Sequence[ExecutionFacts], baseline: str
) -> tuple[str, str]:
    """A verification's verdict and reason from its judged cells and how its runs ended.

    ``baseline`` is ``stored``, ``against`` or ``none`` (determinism only).
    """
    if not runs:
        return REPRODUCED, "no code cells: nothing to execute (reproduced trivially)"
    last = runs[-1]
    run_note = f" in run {len(runs)}" if len(runs) > 1 else ""
    if last.kernel_died_at is not None:
        died = next((c for c in cells if c.index == last.kernel_died_at), None)
        where = cell_label(died.index, died.id) if died is not None else "a cell"
        return COULD_NOT_RUN, f"the kernel died while executing {where}{run_note}"
    if last.timed_out:
        stopped = next((c for c in cells if c.status == "timeout"), None)
        what = "the whole-notebook timeout" if last.notebook_timed_out else "the cell timeout"
        where = f" at {cell_label(stopped.index, stopped.id)}" if stopped is not None else ""
        return COULD_NOT_RUN, f"stopped by {what}{where}{run_note}"
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell.status] = counts.get(cell.status, 0) + 1
    if any(c.status in FAILING_CELL_STATUSES for c in cells):
        return NOT_REPRODUCED, _failing_counts(counts, len(cells))
    checked = counts.get("ok", 0)
    if baseline == "none":
        basis = f"{len(runs)} runs agree"
    else:
        basis = f"match the {baseline} outputs" + (f" in {len(runs)} runs" if len(runs) > 1 else "")
    if checked == 0:
        return REPRODUCED, (
            f"ran top to bottom without error; no stored outputs to compare in "
            f"{len(cells)} code cells"
        )
    return REPRODUCED, f"{checked} of {len(cells)} code cells compared: {basis}"


def run_verdict(
    cells: Iterable[ExecutedCell], raises_expected: Mapping[int, bool], facts: ExecutionFacts
) -> tuple[str, str | None]:
    """A versioned run's verdict and its failure (one line, ``None`` when it succeeded)."""
    for ce in cells:
        error = f"{ce.error_name}: {ce.error_value}" if ce.error_name else None
        failure = cell_execution_failure(ce.status, raises_expected.get(ce.index, False), error)
        if failure is not None and ce.status != "not-run":
            return RUN_FAILED, f"{cell_label(ce.index, ce.cell_id)} {failure}"
    if facts.kernel_died_at is not None:
        return RUN_FAILED, f"the kernel died in {cell_label(facts.kernel_died_at)}"
    if facts.timed_out:
        return RUN_FAILED, "the notebook timed out"
    return RUN_SUCCEEDED, None


def job_state(verdict: str | None) -> str:
    """The final state of a job whose result has ``verdict`` (a notebook's or a run's status;
    ``None``: the job produced no result)."""
    if verdict in (REPRODUCED, RUN_SUCCEEDED):
        return JOB_SUCCEEDED
    if verdict in (NOT_REPRODUCED, COULD_NOT_RUN, RUN_FAILED):
        return JOB_FAILED
    return JOB_ERROR


# -- the live verdict of the server's status -----------------------------------------------
def _reason(kind: str, severity: str, text: str, cell_ids: Iterable[str] = ()) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "text": text, "cell_ids": list(cell_ids)}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _journal_reasons(journal: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    current = (journal or {}).get("current")
    if not isinstance(current, dict):
        return []
    reasons = []
    ooo = (current.get("order") or {}).get("out_of_order") or []
    if ooo:
        reasons.append(
            _reason(
                "out-of-order",
                LEVEL_WARNING,
                "cells ran out of order in the current kernel session "
                f"({_plural(len(ooo), 'time')})",
            )
        )
    latest: dict[str, dict[str, Any]] = {}
    for ex in current.get("executions") or []:
        cid = ex.get("cell_id") if isinstance(ex, dict) else None
        if isinstance(cid, str):
            latest[cid] = ex
    failed = [cid for cid, ex in latest.items() if ex.get("status") == "error"]
    if failed:
        reasons.append(
            _reason(
                "execution-error",
                LEVEL_ERROR,
                f"{_plural(len(failed), 'cell')} raised an error when last run in the current "
                "kernel session",
                failed,
            )
        )
    return reasons


def _finding_reasons(findings: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    reasons = []
    by_kind: dict[tuple[str, str], list[str]] = {}
    for finding in findings or []:
        severity = str(finding.get("severity") or "info")
        kind = RULE_KINDS.get(str(finding.get("rule")), "static")
        ids = by_kind.setdefault((kind, severity), [])
        if isinstance(finding.get("cell_id"), str):
            ids.append(finding["cell_id"])
    for (kind, severity), ids in by_kind.items():
        if severity not in (LEVEL_ERROR, LEVEL_WARNING):
            continue
        n = max(len(ids), 1)
        reasons.append(
            _reason(
                kind,
                severity,
                f"{_plural(n, 'finding')} of the static check ({kind.replace('-', ' ')})",
                ids,
            )
        )
    return reasons


def _major(version: Any) -> str:
    return str(version or "").split(".")[0]


def _minor(version: Any) -> str:
    return ".".join(str(version or "").split(".")[:2])


def _drift_reasons(drift: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not drift:
        return []
    reasons = []
    changed = [
        i
        for i in drift.get("inputs") or []
        if isinstance(i, dict) and i.get("status") in ("changed", "missing")
    ]
    if changed:
        names = ", ".join(str(i.get("path")) for i in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        ids = [
            str(c.get("id"))
            for i in changed
            for c in i.get("cells") or []
            if isinstance(c, dict) and c.get("id")
        ]
        reasons.append(
            _reason(
                "changed-input",
                LEVEL_ERROR,
                f"input changed or missing since it was read: {names}{more}",
                ids,
            )
        )
    env = drift.get("environment")
    if isinstance(env, dict) and env.get("drift"):
        reasons.append(_environment_reason(env))
    return reasons


def _environment_reason(env: Mapping[str, Any]) -> dict[str, Any]:
    """Environment drift: an error when Python's minor version or a package's major version
    changed (results are likely to change), else a warning."""
    parts = []
    for change in env.get("python") or []:
        if (
            isinstance(change, dict)
            and change.get("name") == "version"
            and _minor(change.get("recorded")) != _minor(change.get("current"))
        ):
            parts.append(f"Python changed from {change['recorded']} to {change['current']}")
    changed = (env.get("packages") or {}).get("changed") or []
    majors = [
        c
        for c in changed
        if isinstance(c, dict)
        and c.get("recorded")
        and c.get("current")
        and _major(c["recorded"]) != _major(c["current"])
    ]
    for change in majors[:3]:
        parts.append(
            f"{change.get('name')} changed from {change['recorded']} to {change['current']}"
        )
    if len(majors) > 3:
        parts.append(f"{_plural(len(majors) - 3, 'other major upgrade')}")
    if parts:
        return _reason("env-drift", LEVEL_ERROR, "; ".join(parts))
    return _reason("env-drift", LEVEL_WARNING, "the environment changed since recording")


def _verification_reason(verification: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not verification or verification.get("stale"):
        return None
    status = verification.get("status")
    summary = str(verification.get("summary") or "")
    ids = [str(i) for i in verification.get("failing_cell_ids") or []]
    if status == NOT_REPRODUCED:
        return _reason(
            "verification",
            LEVEL_ERROR,
            f"the latest verification did not reproduce: {summary}",
            ids,
        )
    if status == COULD_NOT_RUN:
        return _reason(
            "verification", LEVEL_ERROR, f"the latest verification could not run: {summary}", ids
        )
    return None


def verification_fact(
    report: Mapping[str, Any] | None,
    digest: str,
    *,
    job_id: str | None = None,
    state: str | None = None,
    finished: str | None = None,
) -> dict[str, Any] | None:
    """What the status verdict needs of the latest verification of a notebook: its verdict,
    reason, the failing cells, and whether it is ``stale`` (the notebook's code changed since:
    its ``source_digest`` differs from ``digest``). ``report``: one notebook's report
    (``NotebookReport.to_dict()``); ``None`` when there is no finished verification."""
    if not isinstance(report, Mapping) or report.get("status") is None:
        return None
    failing = [
        str(c.get("id"))
        for c in report.get("cells") or []
        if isinstance(c, Mapping) and c.get("status") in FAILING_CELL_STATUSES
    ]
    recorded = report.get("source_digest")
    return {
        "job_id": job_id,
        "state": state,
        "finished": finished,
        "status": report.get("status"),
        "summary": str(report.get("reason") or ""),
        "diagnosis": str(report.get("diagnosis") or ""),
        "failing_cell_ids": failing,
        "stale": bool(recorded) and recorded != digest,
    }


def status_verdict(
    journal: Mapping[str, Any] | None,
    findings: Sequence[Mapping[str, Any]] | None,
    drift: Mapping[str, Any] | None,
    verification: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The live verdict of a notebook (``docs/openapi.yaml``, ``Verdict``).

    ``error`` when a cell's latest execution in the current kernel session raised, when the
    latest verification (not stale) did not reproduce, when an input changed or is missing, or
    for error findings; ``warning`` for out-of-order runs, warning findings and environment
    drift (a Python minor or a package major version change is an ``error``); else ``ok``,
    labelled "Reproduced" when the latest verification reproduced and is not stale.
    """
    reasons = _journal_reasons(journal) + _finding_reasons(findings) + _drift_reasons(drift)
    verified = _verification_reason(verification)
    if verified is not None:
        reasons.append(verified)
    reasons.sort(key=lambda r: -_LEVEL_RANK.get(r["severity"], 0))
    level = LEVEL_OK
    for reason in reasons:
        if _LEVEL_RANK.get(reason["severity"], 0) > _LEVEL_RANK[level]:
            level = reason["severity"]
    reproduced = (
        verification is not None
        and verification.get("status") == REPRODUCED
        and not verification.get("stale")
    )
    if level == LEVEL_ERROR:
        label = LABEL_NOT
    elif level == LEVEL_WARNING:
        label = LABEL_AT_RISK
    else:
        label = LABEL_REPRODUCED if reproduced else LABEL_LOOKS
    if reasons:
        summary = reasons[0]["text"] + (
            f" (and {_plural(len(reasons) - 1, 'other problem')})" if len(reasons) > 1 else ""
        )
    elif reproduced:
        summary = "the latest verification reproduced every compared cell"
    else:
        summary = "no problem found"
    return {
        "level": level,
        "label": label,
        "summary": summary,
        "reasons": reasons,
        "verification": dict(verification) if verification is not None else None,
    }
