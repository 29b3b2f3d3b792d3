"""Jobs: a verification or a versioned run in a worker process, progress per cell, result, cancel.

A job writes a :class:`~nbrepro.jobs.request.JobRequest` file and starts
``python -m nbrepro.jobs.worker REQUEST.json`` in its own process group (stdin closed, stdout
and stderr to a log file nobody parses); on Linux the worker receives SIGTERM when this process
dies (``PR_SET_PDEATHSIG``, see :mod:`.processes`). The worker calls the core and writes the
events file (:mod:`nbrepro.verify.events`); the manager reads only that file, through an
:class:`~nbrepro.verify.events.EventReader`: progress from the cell events, the answer from the
one final ``result`` (the verify report; the run's summary) or ``failed`` event. The final state
follows :func:`nbrepro.verify.verdict.job_state`.

Requests are checked here before anything runs: options with
:data:`~nbrepro.verify.options.VERIFY_OPTIONS` (as the REST face receives them), parameter names
with :func:`nbrepro.execute.parameters.check_parameter_names` in the notebook's language. At
most ``max_queued`` jobs wait for a slot (:class:`JobQueueFull`, HTTP 429, beyond).

The wall-clock budget (``timeout``, ``run_timeout``) is enforced by the worker itself; the
manager only backs it up. Cancelling terminates the worker's process group (and the kernels it
started, which run in sessions of their own), first with SIGTERM, then SIGKILL after a grace
period.

With ``executed_dir`` a verification job keeps its executed notebook in
``<executed_dir>/<job id>/``; a run keeps its executed notebook in its run bundle.
``Job.to_dict(root=...)`` answers that notebook's path relative to ``root``.

What finished jobs keep is bounded (:mod:`.retention`): ``keep`` of them at most, each result
fitted in :data:`MAX_RESULT_BYTES`, and all of them in :data:`RETAINED_BUDGET` (the oldest are
cut to their summary first). With a ``ledger`` (:mod:`.ledger`) the jobs a server killed mid-job
left unfinished are answered as ``interrupted`` by the next manager using the same ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, NbreproError, NotebookNotFound
from ..notebook_io import read_notebook
from ..processes import descendants, parent_death_preexec, signal_family
from .job import CANCELLED, ERROR, QUEUED, RUNNING, TIMEOUT, Job
from .ledger import WORKDIR_PREFIX, JobLedger
from .request import RUN, VERIFY, JobRequest, encode_value, write_request
from .retention import bounded, json_size, summarize_result, summarize_value

#: Longest run name a run job accepts.
MAX_NAME_LENGTH = 200

#: Seconds the manager waits beyond a job's budget before it stops the worker itself.
BUDGET_MARGIN = 10.0

#: Bytes of JSON one finished job's result may keep (long strings are cut beyond).
MAX_RESULT_BYTES = 8 << 20
#: Bytes of JSON all finished jobs may keep together (the oldest are cut to summaries beyond).
RETAINED_BUDGET = 64 << 20


class JobNotFound(NbreproError):
    """No job of this kind has this id (it never existed or was forgotten)."""

    http_status = 404


class JobQueueFull(NbreproError):
    """Too many jobs are already waiting for a slot."""

    http_status = 429


class JobStartFailed(NbreproError):
    """A job could not be set up (its request file could not be written)."""

    http_status = 503


def validate_parameters(parameters: Any, language: str = "python") -> dict[str, Any]:
    """Check a job's parameters: a JSON object whose names a ``language`` notebook can take
    (:func:`nbrepro.execute.parameters.check_parameter_names`) and whose values are JSON values
    (non-finite floats included). Raises a one-line :class:`InputError`."""
    from ..execute.parameters import check_parameter_names

    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InputError("'parameters' must be an object of parameter names to values")
    check_parameter_names(parameters, language)
    try:
        encode_value(parameters)
    except InputError as exc:
        raise InputError(f"'parameters' must be plain JSON values: {exc.raw}") from None
    return dict(parameters)


def validate_options(options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a verification job's options as the REST API receives them
    (:meth:`~nbrepro.optionspec.OptionTable.validate_json`); return the options as given
    (validated) and the full set of values. Raises :class:`~nbrepro.optionspec.OptionError`."""
    from ..verify.options import VERIFY_OPTIONS

    values = VERIFY_OPTIONS.validate_json(options, face="rest")
    given = {key: values[key] for key in (options or {})}
    return given, values


def validate_run_name(name: Any) -> str | None:
    """Check a run job's name (``None``, or a one-line string); raise :class:`InputError`."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise InputError("'name' must be a string")
    clean = name.strip()
    if not clean:
        return None
    from ..runs.options import run_name_problem

    problem = run_name_problem(clean)
    if problem is not None:
        raise InputError(f"'name' {problem}")
    return clean


class JobManager:
    """Runs jobs (verifications and runs), at most ``max_jobs`` at a time; at most
    ``max_queued`` others wait.

    ``timeout`` (seconds, ``None`` for none) is a verification's wall-clock budget,
    ``run_timeout`` a run's; ``keep`` finished jobs are remembered (the oldest are forgotten
    first, with their kept executed copies). ``executed_dir``: where verifications keep their
    executed notebooks (one folder per job); ``None`` keeps none. ``env``: the workers'
    environment (default: this process's). ``ledger``: the jobs ledger (a
    :class:`~nbrepro.jobs.ledger.JobLedger` or its path) whose interrupted jobs this manager
    answers, and where it notes its own. Call :meth:`shutdown` to cancel the running jobs when
    the owner stops.
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
        max_queued: int = 32,
        ledger: JobLedger | str | os.PathLike[str] | None = None,
    ) -> None:
        if max_jobs < 1:
            raise InputError("max_jobs must be at least 1")
        if max_queued < 0:
            raise InputError("max_queued must not be negative")
        self.max_jobs = max_jobs
        self.max_queued = max_queued
        self.timeout = timeout if timeout and timeout > 0 else None
        self.run_timeout = run_timeout if run_timeout and run_timeout > 0 else None
        self.executed_dir = Path(executed_dir) if executed_dir is not None else None
        self.python = python or sys.executable
        self.keep = keep
        self.env = dict(env) if env is not None else None
        self.grace = grace
        self._jobs: dict[str, Job] = {}
        self._semaphore: asyncio.Semaphore | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        if ledger is not None and not isinstance(ledger, JobLedger):
            ledger = JobLedger(ledger)
        self.ledger: JobLedger | None = ledger
        if ledger is not None:
            for record in ledger.recover():
                job = Job.interrupted(record, self._workdir)
                self._jobs[job.id] = job

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
        given, values = validate_options(options)
        path, cells, params = self._read(notebook, parameters, values.get("kernel"))
        self._check_queue()
        job_id = uuid.uuid4().hex[:16]
        output_dir = None
        if self.executed_dir is not None:
            output_dir = (self.executed_dir / job_id).resolve()
        job = self._new_job(job_id, VERIFY, path, params, len(cells), self.timeout, output_dir)
        job.cells = cells
        job.options = given
        request = self._request(job, cwd, options=values)
        return self._queue(job, request)

    def start_run(
        self,
        notebook: str | os.PathLike[str],
        parameters: Any = None,
        *,
        name: Any = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Job:
        """Queue a versioned run of ``notebook`` (as ``nbrepro run`` makes it); call from a
        running event loop. Returns the job; its result is the run's summary once it has
        finished."""
        clean_name = validate_run_name(name)
        path, cells, params = self._read(notebook, parameters)
        self._check_queue()
        job_id = uuid.uuid4().hex[:16]
        # Parameters add papermill's injected-parameters cell.
        total = len(cells) + (1 if params else 0)
        job = self._new_job(job_id, RUN, path, params, total, self.run_timeout, None)
        job.name = clean_name
        return self._queue(job, self._request(job, cwd))

    def _new_job(
        self,
        job_id: str,
        kind: str,
        path: Path,
        params: dict[str, Any],
        code_cells: int,
        budget: float | None,
        output_dir: Path | None,
    ) -> Job:
        request_path = self._workdir / f"{job_id}.request.json"
        return Job(
            id=job_id,
            notebook=path,
            parameters=params,
            options={},
            command=[self.python, "-m", "nbrepro.jobs.worker", str(request_path)],
            events_path=self._workdir / f"{job_id}.events.jsonl",
            code_cells=code_cells,
            kind=kind,
            timeout=budget,
            output_dir=output_dir,
            request_path=request_path,
            log_path=self._workdir / f"{job_id}.log",
        )

    def _request(
        self, job: Job, cwd: str | os.PathLike[str] | None, options: dict[str, Any] | None = None
    ) -> JobRequest:
        return JobRequest(
            kind=job.kind,
            notebook=str(job.notebook),
            cwd=str(Path(cwd) if cwd else job.notebook.parent),
            events=str(job.events_path),
            parameters=job.parameters,
            options=dict(options or {}),
            name=job.name,
            output_dir=str(job.output_dir) if job.output_dir is not None else None,
            budget=job.timeout,
            parent_pid=os.getpid(),
        )

    @staticmethod
    def _read(
        notebook: str | os.PathLike[str], parameters: Any, kernel: str | None = None
    ) -> tuple[Path, list[dict[str, Any]], dict[str, Any]]:
        """The notebook's path, its code cells (``{"index", "id"}``, notebook order), and the
        checked parameters; the kernel it runs in (``kernel``, else its own) must be installed."""
        from ..execute.kernels import resolve_kernel
        from ..execute.parameters import notebook_language

        path = Path(notebook)
        if not path.is_file():
            raise NotebookNotFound(f"{path}: no such notebook")
        nb = read_notebook(path)
        resolved = resolve_kernel(nb, kernel)
        params = validate_parameters(parameters, resolved.language or notebook_language(nb))
        cells = [
            {"index": index, "id": c.get("id") if isinstance(c.get("id"), str) else None}
            for index, c in enumerate(nb.get("cells", []))
            if isinstance(c, dict) and c.get("cell_type") == "code"
        ]
        return path, cells, params

    def _check_queue(self) -> None:
        waiting = sum(1 for j in self._jobs.values() if j.state == QUEUED)
        if waiting >= self.max_queued:
            raise JobQueueFull(
                f"{waiting} jobs are already waiting: try again when one has finished"
            )

    def _queue(self, job: Job, request: JobRequest) -> Job:
        try:
            write_request(request, job.request_path or self._workdir / f"{job.id}.request.json")
        except OSError as exc:
            raise JobStartFailed(f"cannot write the job request: {exc.strerror or exc}") from None
        self._jobs[job.id] = job
        self._forget_old()
        if self.ledger is not None:
            self.ledger.queued(job, self._workdir)
        job._task = asyncio.ensure_future(self._run(job, Path(request.cwd)))
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
        """Cancel a job: dequeue it, or terminate its worker. Returns the job."""
        job = self.get(job_id, kind)
        if job.done:
            return job
        if job._process is None:
            job.state = CANCELLED
            job.finished = time.time()
            job.message = "cancelled before it started"
            if job._task is not None:
                job._task.cancel()
            self._ended(job)
            return job
        job.state = CANCELLED
        job.message = "cancelled"
        await self._terminate(job._process)
        if job._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job._task)
        return job

    async def shutdown(self) -> None:
        """Cancel every job that has not finished, and remove the jobs' files."""
        for job in list(self._jobs.values()):
            if not job.done:
                await self.cancel(job.id)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def kill_all(self) -> None:
        """Kill every running job's processes at once (synchronous; for interpreter exit)."""
        for job in self._jobs.values():
            proc = job._process
            if proc is not None and proc.returncode is None:
                signal_family(proc.pid, descendants(proc.pid), signal.SIGKILL)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.done]
        for job in finished[: max(0, len(self._jobs) - self.keep)]:
            self._jobs.pop(job.id, None)
            for path in (job.events_path, job.request_path, job.log_path):
                if path is not None:
                    path.unlink(missing_ok=True)
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
            if job.done:
                self._ended(job)

    def _ended(self, job: Job) -> None:
        """A job reached its final state: note it in the ledger, bound what it keeps."""
        if self.ledger is not None:
            self.ledger.finished(job)
        if job.result is not None:
            job.result, cut = bounded(job.result, MAX_RESULT_BYTES)
            job.trimmed = job.trimmed or cut
        job.retained = json_size(job.result) + json_size(job.parameters)
        total = sum(j.retained for j in self._jobs.values() if j.done)
        for old in [j for j in self._jobs.values() if j.done]:
            if total <= RETAINED_BUDGET:
                break
            if old.trimmed and old.retained < 4096:
                continue
            before = old.retained
            old.result = summarize_result(old.result, cells=True) if old.result else old.result
            old.parameters = dict(summarize_value(old.parameters, 2))
            old.trimmed = True
            old.retained = json_size(old.result) + json_size(old.parameters)
            total -= before - old.retained

    async def _execute(self, job: Job, cwd: Path) -> None:
        job.events_path.touch()
        job.started = time.time()
        job.state = RUNNING
        if self.ledger is not None:
            self.ledger.started(job)
        log_path = job.log_path or self._workdir / f"{job.id}.log"
        with open(log_path, "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *job.command,
                cwd=str(cwd),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=self.env,
                preexec_fn=parent_death_preexec(),
            )
        job._process = proc
        backstop = job.timeout + self.grace + BUDGET_MARGIN if job.timeout else None
        try:
            await asyncio.wait_for(proc.wait(), backstop)
        except asyncio.TimeoutError:  # the worker did not keep its own budget
            await self._terminate(proc)
            if not job.done:
                job.state = TIMEOUT
                job.message = self._budget_message(job)
        job.exit_code = proc.returncode
        job.finished = time.time()
        job.progress()  # read the last events before the state turns final
        if job.done:
            return
        job.conclude()

    @staticmethod
    def _budget_message(job: Job) -> str:
        what = "the run" if job.kind == RUN else "verification"
        return f"{what} did not finish within {job.timeout:g} s"

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return
        family = descendants(proc.pid)
        signal_family(proc.pid, [], signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.grace)
        except asyncio.TimeoutError:
            signal_family(proc.pid, family + descendants(proc.pid), signal.SIGKILL)
            await proc.wait()
        # Kernels run in sessions of their own: make sure none outlives the job.
        signal_family(None, [p for p in family if _alive(p)], signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[:1] != ["Z"]
