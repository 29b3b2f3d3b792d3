"""Verification jobs: ``nbrepro verify`` in a subprocess, progress per cell, result, cancel.

A job runs ``python -m nbrepro verify --format json --events FILE ... NOTEBOOK`` in its own
process group, never inside the calling process. Progress comes from the events file that
verify appends one JSON line to per cell; the result is verify's JSON report on stdout.
Cancelling terminates the whole process group (and the kernels verify started, which run in
sessions of their own), first with SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, NbreproError, NotebookNotFound
from ..notebook_io import read_notebook

#: Job states; the last five are final.
QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, ERROR, CANCELLED, TIMEOUT = (
    "succeeded",
    "failed",
    "error",
    "cancelled",
    "timeout",
)
FINAL_STATES = frozenset({SUCCEEDED, FAILED, ERROR, CANCELLED, TIMEOUT})

#: Options a job accepts, with their type and the verify flag they become.
OPTION_FLAGS: dict[str, tuple[tuple[type, ...], str]] = {
    "kernel": ((str,), "--kernel"),
    "timeout": ((int, float), "--timeout"),
    "runs": ((int,), "--runs"),
    "rtol": ((int, float), "--rtol"),
    "atol": ((int, float), "--atol"),
    "image_tolerance": ((int, float), "--image-tolerance"),
    "notebook_timeout": ((int, float), "--notebook-timeout"),
    "ignore_stderr": ((bool,), "--ignore-stderr"),
}

_TCP_WARNING = "Kernel is running over TCP without encryption"


class JobNotFound(NbreproError):
    """No verification job has this id (it never existed or was forgotten)."""

    http_status = 404


@dataclass
class Job:
    """One verification job and what is known about it so far."""

    id: str
    notebook: Path
    parameters: dict[str, Any]
    options: dict[str, Any]
    command: list[str]
    events_path: Path
    code_cells: int
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
    _events_offset: int = field(default=0, repr=False)
    _current: int | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in FINAL_STATES

    def progress(self) -> dict[str, Any]:
        """Per-cell progress read from verify's events file (new lines since the last call)."""
        self._read_events()
        cells = [self._cells[i] for i in sorted(self._cells)]
        finished = sum(1 for c in cells if c.get("status") not in (None, "running"))
        return {
            "total": self.code_cells,
            "finished": finished,
            "current": self._current,
            "cells": cells,
        }

    def _read_events(self) -> None:
        try:
            with open(self.events_path, "rb") as fh:
                fh.seek(self._events_offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n")
        if end < 0:
            return
        self._events_offset += end + 1
        for line in data[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self._apply_event(event)

    def _apply_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        index = event.get("index")
        if not isinstance(index, int):
            return
        cell = self._cells.setdefault(index, {"index": index, "id": event.get("id")})
        if kind == "cell-started":
            cell["status"] = "running"
            self._current = index
        elif kind == "cell-finished":
            for key, value in event.items():
                if key not in ("event", "notebook"):
                    cell[key] = value
            if self._current == index:
                self._current = None

    def to_dict(self, *, root: Path | None = None) -> dict[str, Any]:
        """JSON-able form; ``root`` makes the notebook path relative to it."""
        notebook = self.notebook
        if root is not None:
            with contextlib.suppress(ValueError):
                notebook = notebook.relative_to(root)
        return {
            "id": self.id,
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
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def validate_request(parameters: Any, options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a job's parameters (a JSON object) and options; raise :class:`InputError` if bad."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InputError("'parameters' must be an object of parameter names to values")
    for name in parameters:
        if not name.isidentifier():
            raise InputError(f"parameter name {name!r} is not a valid identifier")
    try:
        json.dumps(parameters)
    except (TypeError, ValueError) as exc:
        raise InputError(f"'parameters' must be plain JSON values: {exc}") from None
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InputError("'options' must be an object")
    for key, value in options.items():
        if key not in OPTION_FLAGS:
            known = ", ".join(sorted(OPTION_FLAGS))
            raise InputError(f"unknown option {key!r} (known options: {known})")
        types, _flag = OPTION_FLAGS[key]
        if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
            raise InputError(f"option {key!r} has the wrong type ({type(value).__name__})")
        if isinstance(value, (int, float)) and value < 0:
            raise InputError(f"option {key!r} must not be negative")
        if key == "kernel" and not str(value).strip():
            raise InputError("option 'kernel' must not be empty")
    return dict(parameters), dict(options)


def verify_command(
    python: str, notebook: Path, events: Path, parameters: Mapping[str, Any],
    options: Mapping[str, Any],
) -> list[str]:  # fmt: skip
    """The ``python -m nbrepro verify`` command line for a job."""
    cmd = [python, "-m", "nbrepro", "verify", "--format", "json", "--events", str(events)]
    if parameters:
        # JSON is YAML: ``-y`` keeps every value's type exactly as sent.
        cmd += ["-y", json.dumps(parameters)]
    for key, value in options.items():
        flag = OPTION_FLAGS[key][1]
        if isinstance(value, bool):
            cmd += [flag] if value else []
        else:
            cmd += [flag, str(value)]
    cmd.append(str(notebook))
    return cmd


class JobManager:
    """Runs verification jobs, at most ``max_jobs`` at a time; the others wait in a queue.

    ``timeout`` (seconds, ``None`` for none) bounds a job's wall time; ``keep`` finished jobs
    are remembered (the oldest are forgotten first). Call :meth:`shutdown` to cancel the
    running jobs when the owner stops.
    """

    def __init__(
        self,
        *,
        max_jobs: int = 2,
        timeout: float | None = None,
        python: str | None = None,
        keep: int = 100,
        env: Mapping[str, str] | None = None,
        grace: float = 5.0,
    ) -> None:
        if max_jobs < 1:
            raise InputError("max_jobs must be at least 1")
        self.max_jobs = max_jobs
        self.timeout = timeout if timeout and timeout > 0 else None
        self.python = python or sys.executable
        self.keep = keep
        self.env = dict(env) if env is not None else None
        self.grace = grace
        self._jobs: dict[str, Job] = {}
        self._semaphore: asyncio.Semaphore | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="nbrepro-jobs-"))

    def _sem(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_jobs)
        return self._semaphore

    def start(
        self,
        notebook: str | os.PathLike[str],
        parameters: Any = None,
        options: Any = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Job:
        """Queue a job verifying ``notebook``; call from a running event loop. Returns the job."""
        params, opts = validate_request(parameters, options)
        path = Path(notebook)
        if not path.is_file():
            raise NotebookNotFound(f"{path}: no such notebook")
        nb = read_notebook(path)
        code_cells = sum(1 for c in nb["cells"] if c.get("cell_type") == "code")
        job_id = uuid.uuid4().hex[:16]
        events = self._workdir / f"{job_id}.events.jsonl"
        job = Job(
            id=job_id,
            notebook=path,
            parameters=params,
            options=opts,
            command=verify_command(self.python, path, events, params, opts),
            events_path=events,
            code_cells=code_cells,
        )
        self._jobs[job_id] = job
        self._forget_old()
        job._task = asyncio.ensure_future(self._run(job, Path(cwd) if cwd else path.parent))
        return job

    def get(self, job_id: str) -> Job:
        """The job with this id, or :class:`JobNotFound`."""
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound(f"no verification job {job_id!r}") from None

    def list(self, notebook: str | os.PathLike[str] | None = None) -> list[Job]:
        """Known jobs, oldest first (only those of ``notebook`` when given)."""
        jobs = list(self._jobs.values())
        if notebook is not None:
            jobs = [j for j in jobs if j.notebook == Path(notebook)]
        return jobs

    async def wait(self, job_id: str) -> Job:
        """Wait until a job is finished; return it."""
        job = self.get(job_id)
        if job._task is not None:
            await asyncio.shield(job._task)
        return job

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job: dequeue it, or terminate its process group. Returns the job."""
        job = self.get(job_id)
        if job.done:
            return job
        if job._process is None:
            job.state = CANCELLED
            job.finished = time.time()
            job.message = "cancelled before it started"
            if job._task is not None:
                job._task.cancel()
            return job
        job.state = CANCELLED
        job.message = "cancelled"
        await self._terminate(job._process)
        if job._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job._task)
        return job

    async def shutdown(self) -> None:
        """Cancel every job that has not finished, and remove the events files."""
        for job in list(self._jobs.values()):
            if not job.done:
                await self.cancel(job.id)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def kill_all(self) -> None:
        """Kill every running job's processes at once (synchronous; for interpreter exit)."""
        for job in self._jobs.values():
            proc = job._process
            if proc is not None and proc.returncode is None:
                _signal_group(proc.pid, _descendants(proc.pid), signal.SIGKILL)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.done]
        for job in finished[: max(0, len(self._jobs) - self.keep)]:
            self._jobs.pop(job.id, None)
            job.events_path.unlink(missing_ok=True)

    async def _run(self, job: Job, cwd: Path) -> None:
        try:
            async with self._sem():
                if job.done:
                    return
                await self._execute(job, cwd)
        except asyncio.CancelledError:
            if job._process is not None and job._process.returncode is None:
                await self._terminate(job._process)
            if not job.done:
                job.state = CANCELLED
            raise
        except Exception as exc:  # a job must never take its owner down
            job.state = ERROR
            job.message = f"could not run verify: {exc}"
        finally:
            if job.finished is None and job.done:
                job.finished = time.time()

    async def _execute(self, job: Job, cwd: Path) -> None:
        job.events_path.touch()
        job.started = time.time()
        job.state = RUNNING
        proc = await asyncio.create_subprocess_exec(
            *job.command,
            cwd=str(cwd),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=self.env,
        )
        job._process = proc
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError:
            await self._terminate(proc)
            stdout, stderr = b"", b""
            job.state = TIMEOUT
            job.message = f"verification did not finish within {self.timeout:g} s"
        job.exit_code = proc.returncode
        job.finished = time.time()
        job.progress()  # read the last events before the state turns final
        if job.state in (CANCELLED, TIMEOUT):
            return
        text = stdout.decode("utf-8", "replace").strip()
        try:
            job.result = json.loads(text) if text else None
        except ValueError:
            job.result = None
        errors = _clean_stderr(stderr)
        if proc.returncode == 0:
            job.state = SUCCEEDED
        elif proc.returncode == 1 and job.result is not None:
            job.state = FAILED
            job.message = "the notebook did not reproduce"
        else:
            job.state = ERROR
            job.message = errors or f"verify exited with status {proc.returncode}"

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        family = _descendants(proc.pid)
        _signal_group(proc.pid, family, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.grace)
        except asyncio.TimeoutError:
            _signal_group(proc.pid, family, signal.SIGKILL)
            await proc.wait()
        # Kernels run in sessions of their own: make sure none outlives the job.
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _clean_stderr(raw: bytes) -> str:
    lines = [
        line
        for line in raw.decode("utf-8", "replace").splitlines()
        if line.strip() and _TCP_WARNING not in line
    ]
    return "\n".join(lines[-20:])


def _signal_group(pid: int, family: Sequence[int], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    for child in family:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, sig)


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc``; empty where there is no ``/proc``)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
