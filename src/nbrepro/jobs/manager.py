"""Jobs: ``nbrepro verify`` or ``nbrepro run`` in a subprocess, progress per cell, result, cancel.

A verification job runs ``python -m nbrepro verify --format json --events FILE ... NOTEBOOK``,
a run job ``python -m nbrepro run --format json --events FILE ... NOTEBOOK``, each in its own
process group, never inside the calling process. Progress comes from the events file that the
command appends one JSON line to per cell; the result is its JSON answer on stdout (verify's
report; the run's summary). Cancelling terminates the whole process group (and the kernels the
command started, which run in sessions of their own), first with SIGTERM, then SIGKILL after a
grace period.

With ``executed_dir`` a verification job keeps its executed notebook in
``<executed_dir>/<job id>/`` (``verify --output``); a run keeps its executed notebook in its run
bundle. ``Job.to_dict(root=...)`` answers that notebook's path relative to ``root``.
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

#: Kinds of job: a verification (``nbrepro verify``) or a versioned run (``nbrepro run``).
VERIFY, RUN = "verify", "run"

#: File name of the executed notebook in a run bundle (``nbrepro.runs.store.NOTEBOOK_FILE``).
RUN_NOTEBOOK_FILE = "notebook.ipynb"

#: Longest run name a run job accepts.
MAX_NAME_LENGTH = 200

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
    """No job of this kind has this id (it never existed or was forgotten)."""

    http_status = 404


@dataclass
class Job:
    """One job (a verification or a run) and what is known about it so far.

    ``result`` is verify's JSON report for a verification, the run's summary (``nbrepro run
    --format json``'s one entry) for a run. ``output_dir`` is where a verification keeps its
    executed notebook.
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
        if self.kind == RUN:
            answer["name"] = self.name
            answer["run_id"] = self.result.get("run_id") if isinstance(self.result, dict) else None
        return answer


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


def validate_run_name(name: Any) -> str | None:
    """Check a run job's name (``None``, or a one-line string); raise :class:`InputError`."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise InputError("'name' must be a string")
    clean = name.strip()
    if not clean:
        return None
    if len(clean) > MAX_NAME_LENGTH:
        raise InputError(f"'name' is longer than {MAX_NAME_LENGTH} characters")
    if any(ch in clean for ch in "\r\n\x00"):
        raise InputError("'name' must be a single line")
    return clean


def run_command(
    python: str, notebook: Path, events: Path, parameters: Mapping[str, Any], name: str | None
) -> list[str]:
    """The ``python -m nbrepro run`` command line for a run job."""
    cmd = [python, "-m", "nbrepro", "run", "--format", "json", "--quiet", "--events", str(events)]
    if parameters:
        cmd += ["-y", json.dumps(parameters)]
    if name:
        cmd += ["--name", name]
    cmd += ["--", str(notebook)]
    return cmd


class JobManager:
    """Runs jobs (verifications and runs), at most ``max_jobs`` at a time; the others wait.

    ``timeout`` (seconds, ``None`` for none) bounds a verification's wall time, ``run_timeout``
    a run's; ``keep`` finished jobs are remembered (the oldest are forgotten first, with their
    kept executed copies). ``executed_dir``: where verifications keep their executed notebooks
    (one folder per job); ``None`` keeps none. Call :meth:`shutdown` to cancel the running jobs
    when the owner stops.
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
        run_timeout: float | None = None,
        executed_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_jobs < 1:
            raise InputError("max_jobs must be at least 1")
        self.max_jobs = max_jobs
        self.timeout = timeout if timeout and timeout > 0 else None
        self.run_timeout = run_timeout if run_timeout and run_timeout > 0 else None
        self.executed_dir = Path(executed_dir) if executed_dir is not None else None
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
        """Queue a job verifying ``notebook``; call from a running event loop. Returns the job.

        With the manager's ``executed_dir`` the executed notebook is kept in
        ``<executed_dir>/<job id>/`` (never over ``notebook``: verify refuses that).
        """
        params, opts = validate_request(parameters, options)
        path, code_cells = self._read(notebook)
        job_id = uuid.uuid4().hex[:16]
        events = self._workdir / f"{job_id}.events.jsonl"
        command = verify_command(self.python, path, events, params, opts)
        output_dir = None
        if self.executed_dir is not None:
            output_dir = (self.executed_dir / job_id).resolve()
            command[-1:-1] = ["--output", str(output_dir)]
        job = Job(
            id=job_id,
            notebook=path,
            parameters=params,
            options=opts,
            command=command,
            events_path=events,
            code_cells=code_cells,
            timeout=self.timeout,
            output_dir=output_dir,
        )
        return self._queue(job, cwd)

    def start_run(
        self,
        notebook: str | os.PathLike[str],
        parameters: Any = None,
        *,
        name: Any = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Job:
        """Queue a versioned run of ``notebook`` (``nbrepro run``); call from a running event
        loop. Returns the job; its result is the run's summary once it has finished."""
        params, _ = validate_request(parameters, None)
        clean_name = validate_run_name(name)
        path, code_cells = self._read(notebook)
        job_id = uuid.uuid4().hex[:16]
        events = self._workdir / f"{job_id}.events.jsonl"
        job = Job(
            id=job_id,
            notebook=path,
            parameters=params,
            options={},
            command=run_command(self.python, path, events, params, clean_name),
            events_path=events,
            # Parameters add papermill's injected-parameters cell.
            code_cells=code_cells + (1 if params else 0),
            kind=RUN,
            name=clean_name,
            timeout=self.run_timeout,
        )
        return self._queue(job, cwd)

    @staticmethod
    def _read(notebook: str | os.PathLike[str]) -> tuple[Path, int]:
        path = Path(notebook)
        if not path.is_file():
            raise NotebookNotFound(f"{path}: no such notebook")
        nb = read_notebook(path)
        return path, sum(1 for c in nb["cells"] if c.get("cell_type") == "code")

    def _queue(self, job: Job, cwd: str | os.PathLike[str] | None) -> Job:
        self._jobs[job.id] = job
        self._forget_old()
        job._task = asyncio.ensure_future(self._run(job, Path(cwd) if cwd else job.notebook.parent))
        return job

    def get(self, job_id: str, kind: str | None = None) -> Job:
        """The job with this id (of this ``kind`` when given), or :class:`JobNotFound`."""
        job = self._jobs.get(job_id)
        if job is None or (kind is not None and job.kind != kind):
            what = {VERIFY: "verification job", RUN: "run job"}.get(kind or "", "job")
            raise JobNotFound(f"no {what} {job_id!r}")
        return job

    def list(
        self, notebook: str | os.PathLike[str] | None = None, kind: str | None = None
    ) -> list[Job]:
        """Known jobs, oldest first (only those of ``notebook`` / of ``kind`` when given)."""
        jobs = list(self._jobs.values())
        if notebook is not None:
            jobs = [j for j in jobs if j.notebook == Path(notebook)]
        if kind is not None:
            jobs = [j for j in jobs if j.kind == kind]
        return jobs

    async def wait(self, job_id: str) -> Job:
        """Wait until a job is finished; return it."""
        job = self.get(job_id)
        if job._task is not None:
            await asyncio.shield(job._task)
        return job

    async def cancel(self, job_id: str, kind: str | None = None) -> Job:
        """Cancel a job: dequeue it, or terminate its process group. Returns the job."""
        job = self.get(job_id, kind)
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
            if job.output_dir is not None:
                shutil.rmtree(job.output_dir, ignore_errors=True)

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
            job.message = f"could not run {job.kind}: {exc}"
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
            stdout, stderr = await asyncio.wait_for(proc.communicate(), job.timeout)
        except asyncio.TimeoutError:
            await self._terminate(proc)
            stdout, stderr = b"", b""
            job.state = TIMEOUT
            what = "the run" if job.kind == RUN else "verification"
            job.message = f"{what} did not finish within {job.timeout:g} s"
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
        if job.kind == RUN:
            job.result = _run_summary(job.result)
        errors = _clean_stderr(stderr)
        if proc.returncode == 0:
            job.state = SUCCEEDED
        elif proc.returncode == 1 and job.result is not None:
            job.state = FAILED
            if job.kind == RUN:
                job.message = str(job.result.get("failure") or "the run failed")
            else:
                job.message = "the notebook did not reproduce"
        else:
            job.state = ERROR
            job.message = errors or f"{job.kind} exited with status {proc.returncode}"

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


def _run_summary(answer: Any) -> dict[str, Any] | None:
    """The one run's summary in ``nbrepro run --format json``'s answer (``None`` if none)."""
    runs = answer.get("runs") if isinstance(answer, dict) else None
    if isinstance(runs, list) and runs and isinstance(runs[0], dict) and runs[0].get("run_id"):
        return runs[0]
    return None


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
