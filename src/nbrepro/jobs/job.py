"""One job (a verification or a run) as the manager knows it: progress from the worker's
events, the answer from its one final event, the executed notebook it kept, its JSON form.

The final state follows :func:`nbrepro.verify.verdict.job_state` of the result's verdict (the
notebook's status, the run's verdict); a ``failed`` event ends the job as ``error`` (``timeout``
when the worker's budget ran out).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..verify.events import EventReader
from ..verify.verdict import (
    FINAL_JOB_STATES,
    JOB_CANCELLED,
    JOB_ERROR,
    JOB_FAILED,
    JOB_INTERRUPTED,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_TIMEOUT,
    job_state,
)
from .request import EXIT_BUDGET, RUN, VERIFY

#: File name of the executed notebook in a run bundle (``nbrepro.runs.store.NOTEBOOK_FILE``).
RUN_NOTEBOOK_FILE = "notebook.ipynb"

#: Job states; the last five are final.
QUEUED, RUNNING = JOB_QUEUED, JOB_RUNNING
SUCCEEDED, FAILED, ERROR, CANCELLED, TIMEOUT = (
    JOB_SUCCEEDED,
    JOB_FAILED,
    JOB_ERROR,
    JOB_CANCELLED,
    JOB_TIMEOUT,
)
FINAL_STATES = FINAL_JOB_STATES
#: The state of a job that a server stopped mid-job left unfinished (from the jobs ledger).
INTERRUPTED = JOB_INTERRUPTED


@dataclass
class Job:
    """One job (a verification or a run) and what is known about it so far.

    ``result`` is the verify report (``VerifyReport.to_dict()``) of a verification, the run's
    summary of a run. ``output_dir`` is where a verification keeps its executed notebook.
    ``command`` is the worker's command line, ``request_path`` its request file and
    ``log_path`` the file its stdout and stderr go to.
    """

    id: str
    notebook: Path
    parameters: dict[str, Any]
    options: dict[str, Any]
    command: list[str]
    events_path: Path
    code_cells: int
    kind: str = VERIFY
    name: str | None = None
    timeout: float | None = None
    output_dir: Path | None = None
    request_path: Path | None = None
    log_path: Path | None = None
    created: float = field(default_factory=time.time)
    state: str = QUEUED
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    result: Any = None
    message: str | None = None
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _cells: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    _reader: EventReader | None = field(default=None, repr=False)
    _current: int | None = field(default=None, repr=False)
    _final: dict[str, Any] | None = field(default=None, repr=False)
    #: The notebook's code cells (``{"index", "id"}``), when known: a job stopped early lists
    #: those that never started.
    cells: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: Bytes of JSON the finished job keeps (its result and parameters).
    retained: int = field(default=0, repr=False)
    #: Whether the result was cut to keep what finished jobs retain bounded.
    trimmed: bool = field(default=False, repr=False)

    @property
    def done(self) -> bool:
        """Whether the job reached a final state (``interrupted`` included)."""
        return self.state in FINAL_STATES or self.state == INTERRUPTED

    @classmethod
    def interrupted(cls, record: dict[str, Any], events_dir: Path) -> Job:
        """A job of the jobs ledger that a server stopped mid-job left unfinished
        (:meth:`nbrepro.jobs.ledger.JobLedger.recover`)."""
        job_id = str(record["id"])
        kind = record.get("kind") if record.get("kind") in (VERIFY, RUN) else VERIFY
        created = record.get("created")
        started = record.get("started")
        cells = record.get("code_cells")
        return cls(
            id=job_id,
            notebook=Path(str(record.get("path") or "")),
            parameters={},
            options={},
            command=[],
            events_path=events_dir / f"{job_id}.events.jsonl",
            code_cells=cells if isinstance(cells, int) else 0,
            kind=str(kind),
            name=record.get("name") if isinstance(record.get("name"), str) else None,
            created=float(created) if isinstance(created, (int, float)) else time.time(),
            state=INTERRUPTED,
            started=float(started) if isinstance(started, (int, float)) else None,
            finished=_number(record.get("interrupted")),
            message=str(record.get("message") or "interrupted: the server stopped"),
        )

    def progress(self) -> dict[str, Any]:
        """Per-cell progress read from the worker's events file (new events since the last
        call)."""
        self._read_events()
        cells = [self._cells[i] for i in sorted(self._cells)]
        finished = sum(1 for c in cells if c.get("status") not in (None, "running"))
        progress: dict[str, Any] = {
            "total": self.code_cells,
            "finished": finished,
            "current": self._current,
            "cells": cells,
        }
        if self.done and self.cells:
            started = set(self._cells)
            progress["not_started"] = [dict(c) for c in self.cells if c["index"] not in started]
        return progress

    def _read_events(self) -> None:
        if self._reader is None:
            self._reader = EventReader(self.events_path)
        for event in self._reader.read():
            self._apply_event(event)

    def _apply_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("result", "failed"):
            if self._final is None:
                self._final = event
            return
        index = event.get("index")
        if not isinstance(index, int) or kind not in ("cell-started", "cell-finished"):
            return
        cell = self._cells.setdefault(index, {"index": index, "id": event.get("id")})
        if kind == "cell-started":
            cell["status"] = "running"
            self._current = index
        else:
            for key, value in event.items():
                if key not in ("event", "notebook", "v", "t"):
                    cell[key] = value
            if self._current == index:
                self._current = None

    def conclude(self) -> None:
        """Set the result, final state and message from the worker's final event (called once
        the worker has exited and its last events were read)."""
        final = self._final
        if final is not None and final.get("event") == "result":
            self.result = final.get("result")
            verdict = _verdict_of(self.kind, self.result)
            self.state = job_state(verdict)
            if self.state == FAILED:
                self.message = _failure_message(self.kind, self.result)
            elif self.state == ERROR:
                self.message = f"the {self.kind} job answered no verdict"
            return
        if final is not None:
            self.message = str(final.get("message") or "the job failed")
            self.state = TIMEOUT if final.get("exit_code") == EXIT_BUDGET else ERROR
            return
        self.state = ERROR
        self.message = f"the {self.kind} worker exited with status {self.exit_code} and no answer"

    def executed_notebook(self) -> Path | None:
        """The executed notebook the job kept (absolute), once it exists."""
        found: Path | None = None
        if self.kind == RUN and isinstance(self.result, dict) and self.result.get("path"):
            found = Path(str(self.result["path"])) / RUN_NOTEBOOK_FILE
        elif self.kind == VERIFY and isinstance(self.result, dict):
            notebooks = self.result.get("notebooks")
            first = notebooks[0] if isinstance(notebooks, list) and notebooks else None
            if isinstance(first, dict) and first.get("output_path"):
                found = Path(str(first["output_path"]))
        if found is None or not found.is_file():
            return None
        return found

    def to_dict(self, *, root: Path | None = None) -> dict[str, Any]:
        """JSON-able form; ``root`` makes the notebook path relative to it and gives
        ``executed_path``: the executed notebook's path relative to ``root`` (``None`` when
        there is none or it lies outside ``root``)."""
        notebook = self.notebook
        if root is not None:
            with contextlib.suppress(ValueError):
                notebook = notebook.relative_to(root)
        executed_path = None
        executed = self.executed_notebook() if root is not None else None
        if executed is not None and root is not None:
            with contextlib.suppress(ValueError):
                executed_path = executed.resolve().relative_to(root.resolve()).as_posix()
        answer = {
            "id": self.id,
            "kind": self.kind,
            "path": notebook.as_posix(),
            "state": self.state,
            "parameters": self.parameters,
            "options": self.options,
            "created": _iso(self.created),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "exit_code": self.exit_code,
            "message": self.message,
            "progress": self.progress(),
            "result": self.result,
            "executed_path": executed_path,
        }
        if self.trimmed:
            answer["result_trimmed"] = True
        if self.kind == RUN:
            answer["name"] = self.name
            answer["run_id"] = self.result.get("run_id") if isinstance(self.result, dict) else None
        return answer


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def _verdict_of(kind: str, result: Any) -> str | None:
    """The verdict in a job's result: the notebook's status, or the run's verdict."""
    if not isinstance(result, dict):
        return None
    if kind == RUN:
        verdict = result.get("verdict")
        return verdict if isinstance(verdict, str) else None
    notebooks = result.get("notebooks")
    first = notebooks[0] if isinstance(notebooks, list) and notebooks else None
    status = first.get("status") if isinstance(first, dict) else None
    return status if isinstance(status, str) else None


def _failure_message(kind: str, result: dict[str, Any]) -> str:
    if kind == RUN:
        return str(result.get("failure") or "the run failed")
    first = (result.get("notebooks") or [{}])[0]
    reason = str(first.get("reason") or "")
    what = "could not run" if first.get("status") == "could-not-run" else "did not reproduce"
    return f"the notebook {what}: {reason}" if reason else f"the notebook {what}"
