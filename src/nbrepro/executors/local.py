"""The embedded default: executions on threads of this process, each driving its own kernel.

A kernel is a separate process that exits with this one (ipykernel polls its parent,
``JPY_PARENT_PID``), so a killed nbrepro leaves no kernel behind. Per-cell callbacks are called
as cells run (progress, events).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import as_completed as futures_as_completed
from typing import TYPE_CHECKING

from .base import Executor, Task
from .task import run_request

if TYPE_CHECKING:
    from ..execute.engine import ExecutionResult
    from .task import CellFinished, CellStarted, ExecuteRequest


class LocalExecutor(Executor):
    """Executions on at most ``max_workers`` threads of this process."""

    name = "local"
    streams_cells = True

    def __init__(
        self, max_workers: int = 1, *, ship_inputs: bool = False, include: Iterable[str] = ()
    ) -> None:
        super().__init__(ship_inputs=ship_inputs, include=include)  # refused here: not remote
        # jupyter_client's and nbclient's imports must not race each other in two threads.
        import jupyter_client.manager  # noqa: F401
        import nbclient  # noqa: F401

        self.max_workers = max(1, int(max_workers))
        self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="nbrepro-execute")

    def _submit(
        self,
        request: ExecuteRequest,
        on_cell: CellFinished | None,
        on_cell_start: CellStarted | None,
    ) -> Future[ExecutionResult]:
        return self._pool.submit(run_request, request, on_cell, on_cell_start)

    def as_completed(self, tasks: Iterable[Task]) -> Iterator[Task]:
        """Yield ``tasks`` as their threads finish."""
        by_future = {task.future: task for task in tasks}
        for future in futures_as_completed(by_future):
            yield by_future[future]

    def cancel_all(self) -> None:
        """Drop queued executions and cancel the running ones (each shuts its kernel down)."""
        from ..execute.engine import cancel_running_executions

        with self._lock:
            tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        cancel_running_executions()

    def close(self) -> None:
        """Wait for the threads to finish and release them."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        super().close()
