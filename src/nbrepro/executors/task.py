"""What travels to an executor and back: one execution of one notebook in a fresh kernel.

An :class:`ExecuteRequest` holds only plain data (the notebook as a dict, the kernel's name, the
working folder, timeouts, cells to skip, extra environment), so it pickles for a Dask worker;
:func:`run_request` is the task a worker (or a local thread) runs. Its answer is the engine's
:class:`~nbrepro.execute.engine.ExecutionResult` (plain dataclasses: picklable), with a JSON form
(:func:`result_to_dict`, :func:`result_from_dict`) for transports that want one.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..execute.engine import CellExecution, ExecutionResult
    from ..execute.kernels import ResolvedKernel

#: The engine's per-cell callbacks (they run where the kernel runs: local executors only).
CellStarted = Callable[[int, str], None]
CellFinished = Callable[["CellExecution"], None]


@dataclass(frozen=True)
class ExecuteRequest:
    """One execution of one notebook in a fresh kernel, as plain data.

    ``key`` names the task (a run id, or ``<notebook>#<run>``): an executor keeps one task per
    key, so a task retried after its worker was lost still has one answer. ``resolved`` is a
    kernel this process already resolved; it never travels (a remote worker resolves
    ``kernel_name`` against its own kernelspecs).
    """

    key: str
    nb: dict[str, Any]
    kernel_name: str
    cwd: str
    timeout: float | None = None
    notebook_timeout: float | None = None
    skip_cells: tuple[int, ...] = ()
    env: dict[str, str] | None = None
    startup_timeout: float = 60.0
    resolved: ResolvedKernel | None = field(default=None, compare=False, repr=False)
    #: ``--ship-inputs``: the input files sent with the task (path relative to ``cwd`` →
    #: content); the worker runs in a scratch folder instead of ``cwd``. ``None``: the worker
    #: uses ``cwd`` as it is (a shared filesystem).
    files: dict[str, bytes] | None = field(default=None, compare=False, repr=False)
    #: The engine's silent code before the first cell and expressions after the last (the
    #: run recorder's hooks: :func:`nbrepro.execute.engine.execute_notebook`).
    preamble: str | None = None
    final_expressions: dict[str, str] | None = None

    def portable(self) -> ExecuteRequest:
        """This request without what only this process can use (the resolved kernelspec)."""
        return dataclasses.replace(self, resolved=None)


def worker_info() -> dict[str, Any]:
    """Where a task ran: host, process and Python (recorded with the result's diagnostics)."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }


def run_request(
    request: ExecuteRequest,
    on_cell: CellFinished | None = None,
    on_cell_start: CellStarted | None = None,
) -> ExecutionResult:
    """Execute ``request`` in a fresh kernel here and return the executed copy with per-cell
    results. Raises the engine's errors (:class:`~nbrepro.execute.engine.KernelStartFailed`,
    :class:`~nbrepro.errors.KernelNotFound`)."""
    from ..execute.engine import execute_notebook
    from ..execute.kernels import resolve_kernel

    kernel = request.resolved or resolve_kernel(request.nb, request.kernel_name)
    return execute_notebook(
        request.nb,
        kernel=kernel,
        cwd=request.cwd,
        timeout=request.timeout,
        notebook_timeout=request.notebook_timeout,
        on_cell=on_cell,
        on_cell_start=on_cell_start,
        skip_cells=request.skip_cells,
        env=request.env,
        startup_timeout=request.startup_timeout,
        preamble=request.preamble,
        final_expressions=request.final_expressions,
    )


#: The tasks running in this worker process, by key: the thread each runs on (for
#: :func:`cancel_remote`).
_remote_threads: dict[str, int] = {}
# Keys cancelled before their task started here (it then never starts its kernel).
_cancelled_keys: set[str] = set()
_CANCELLED_KEPT = 4096
_remote_lock = threading.Lock()


class TaskCancelled(Exception):
    """A task cancelled (Ctrl-C on the client) before it started on this worker."""


def worker_environment(kernel_name: str) -> dict[str, Any] | None:
    """The environment of kernel ``kernel_name`` as this worker starts it (cached per
    interpreter by :mod:`nbrepro.record.kernelenv`); ``None`` when it cannot be read."""
    try:
        from ..record.kernelenv import kernel_environment

        found = kernel_environment(kernel_name)
    except Exception:  # a worker that cannot say is recorded as unknown
        return None
    return dict(found.environment) if found.environment is not None else None


def run_remote(request: ExecuteRequest) -> ExecutionResult:
    """The task a remote worker runs: :func:`run_request` without callbacks (in a scratch
    folder when the request carries its input files), its result saying where it ran and in
    which kernel environment. :func:`cancel_remote` with its key stops it."""
    with _remote_lock:
        if request.key in _cancelled_keys:
            _cancelled_keys.discard(request.key)
            raise TaskCancelled(f"task {request.key} was cancelled")
        _remote_threads[request.key] = threading.get_ident()
    try:
        if request.files is not None:
            from .shipping import run_shipped

            result = run_shipped(request)
        else:
            result = run_request(request)
    finally:
        with _remote_lock:
            _remote_threads.pop(request.key, None)
    result.ran_on = {
        **worker_info(),
        **result.ran_on,
        "environment": worker_environment(result.kernel_name),
    }
    return result


def cancel_remote(keys: Iterable[str]) -> int:
    """Stop the executions of the tasks ``keys`` running in this worker process (each shuts
    its kernel down); run on every worker by the Dask executor's ``cancel_all``. Returns how
    many were running here."""
    from ..execute.engine import cancel_executions_on_threads

    with _remote_lock:
        keys = set(keys)
        threads = {_remote_threads[key] for key in keys if key in _remote_threads}
        _cancelled_keys.update(key for key in keys if key not in _remote_threads)
        if len(_cancelled_keys) > _CANCELLED_KEPT:  # every worker hears every cancel: bound it
            _cancelled_keys.clear()
    if threads:
        cancel_executions_on_threads(threads)
    return len(threads)


def result_to_dict(result: ExecutionResult) -> dict[str, Any]:
    """A JSON-ready form of an :class:`ExecutionResult` (read back by :func:`result_from_dict`)."""
    data = dataclasses.asdict(result)
    data["cells"] = [dataclasses.asdict(cell) for cell in result.cells]
    data["produced_files"] = {
        path: base64.b64encode(content).decode("ascii")
        for path, content in result.produced_files.items()
    }
    return data


def result_from_dict(data: Mapping[str, Any]) -> ExecutionResult:
    """The :class:`ExecutionResult` of :func:`result_to_dict`'s JSON form."""
    from ..execute.engine import CellExecution, ExecutionResult

    fields = {f.name for f in dataclasses.fields(ExecutionResult)}
    values = {k: v for k, v in data.items() if k in fields}
    values["cells"] = [CellExecution(**dict(cell)) for cell in data.get("cells") or []]
    values["produced_files"] = {
        path: base64.b64decode(content)
        for path, content in (data.get("produced_files") or {}).items()
    }
    return ExecutionResult(**values)
