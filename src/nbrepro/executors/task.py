"""What travels to an executor and back: one execution of one notebook in a fresh kernel.

An :class:`ExecuteRequest` holds only plain data (the notebook as a dict, the kernel's name, the
working folder, timeouts, cells to skip, extra environment), so it pickles for a Dask worker;
:func:`run_request` is the task a worker (or a local thread) runs. Its answer is the engine's
:class:`~nbrepro.execute.engine.ExecutionResult` (plain dataclasses: picklable), with a JSON form
(:func:`result_to_dict`, :func:`result_from_dict`) for transports that want one.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import Callable, Mapping
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
    )


def run_remote(request: ExecuteRequest) -> ExecutionResult:
    """The task a remote worker runs: :func:`run_request` without callbacks."""
    return run_request(request)


def result_to_dict(result: ExecutionResult) -> dict[str, Any]:
    """A JSON-ready form of an :class:`ExecutionResult` (read back by :func:`result_from_dict`)."""
    data = dataclasses.asdict(result)
    data["cells"] = [dataclasses.asdict(cell) for cell in result.cells]
    return data


def result_from_dict(data: Mapping[str, Any]) -> ExecutionResult:
    """The :class:`ExecutionResult` of :func:`result_to_dict`'s JSON form."""
    from ..execute.engine import CellExecution, ExecutionResult

    fields = {f.name for f in dataclasses.fields(ExecutionResult)}
    values = {k: v for k, v in data.items() if k in fields}
    values["cells"] = [CellExecution(**dict(cell)) for cell in data.get("cells") or []]
    return ExecutionResult(**values)
