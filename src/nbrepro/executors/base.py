"""The one executor interface behind ``verify -j N`` and ``run --grid/--sweep -j N``.

An :class:`Executor` runs :class:`~.task.ExecuteRequest` tasks — each one notebook in a fresh
kernel — and hands back :class:`Task` handles; :meth:`Executor.as_completed` yields them as they
finish and :meth:`Executor.cancel_all` stops every pending and running one (Ctrl-C). Everything
else — comparing, judging, diagnosing, writing run bundles and MLflow — stays with the caller, in
this process: one writer, whatever runs the kernels.
"""

from __future__ import annotations

import dataclasses
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..optionspec import mention

if TYPE_CHECKING:
    from ..execute.engine import ExecutionResult
    from .task import CellFinished, CellStarted, ExecuteRequest

#: Executor names (the ``executor`` option's choices).
EXECUTORS = ("local", "dask")


class Task:
    """A submitted execution: its request's key and a future of its
    :class:`~nbrepro.execute.engine.ExecutionResult`."""

    def __init__(
        self,
        key: str,
        future: Any,
        finish: Callable[[ExecutionResult], None] | None = None,
    ) -> None:
        self.key = key
        self.future = future
        self._finish = finish
        self._finished = threading.Lock()

    def result(self, timeout: float | None = None) -> ExecutionResult:
        """The execution's result (waits); raises the task's error. The first call also
        completes it here (the files a shipped task produced are written back once)."""
        result: ExecutionResult = self.future.result(timeout=timeout)
        with self._finished:
            if self._finish is not None:
                finish, self._finish = self._finish, None
                finish(result)
        return result

    def done(self) -> bool:
        """Whether the task has finished (or failed, or was cancelled)."""
        return bool(self.future.done())

    def cancel(self) -> None:
        """Cancel the task (a running one stops at the executor's next chance)."""
        self.future.cancel()

    def __repr__(self) -> str:
        return f"Task({self.key!r})"


class Executor(ABC):
    """Runs executions of notebooks; a context manager (leaving it closes the executor)."""

    #: The executor's name (one of :data:`EXECUTORS`).
    name = "executor"
    #: Whether per-cell callbacks are called (as cells run) — only where the kernel is local.
    streams_cells = False

    #: Whether the workers may not see this machine's files (``--ship-inputs`` is possible).
    remote = False

    def __init__(self, *, ship_inputs: bool = False, include: Iterable[str] = ()) -> None:
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.ship_inputs = ship_inputs
        self.include = tuple(include)
        if self.include and not ship_inputs:
            raise UsageError(f"{mention('include')} needs {mention('ship_inputs')}")
        if ship_inputs and not self.remote:
            raise UsageError(f"{mention('ship_inputs')} needs {mention('executor', 'dask')}")

    @abstractmethod
    def _submit(
        self,
        request: ExecuteRequest,
        on_cell: CellFinished | None,
        on_cell_start: CellStarted | None,
    ) -> Any:
        """Start ``request``; return a future with ``result``, ``done``, ``cancel``."""

    def submit(
        self,
        request: ExecuteRequest,
        *,
        on_cell: CellFinished | None = None,
        on_cell_start: CellStarted | None = None,
    ) -> Task:
        """Submit one execution. A key already submitted gives back the same task (never a
        second execution). The callbacks are called as cells run where :attr:`streams_cells`."""
        with self._lock:
            known = self._tasks.get(request.key)
            if known is not None:
                return known
            finish = None
            if self.ship_inputs:
                from .shipping import inputs_to_ship, write_back

                files = inputs_to_ship(request.nb, request.cwd, self.include)
                request = dataclasses.replace(request, files=files)
                cwd = request.cwd

                def finish(result: ExecutionResult) -> None:
                    write_back(result.produced_files, cwd)

            task = Task(request.key, self._submit(request, on_cell, on_cell_start), finish)
            self._tasks[request.key] = task
            return task

    def run(
        self,
        request: ExecuteRequest,
        *,
        on_cell: CellFinished | None = None,
        on_cell_start: CellStarted | None = None,
    ) -> ExecutionResult:
        """Submit ``request`` and wait for its result (the task is forgotten afterwards)."""
        task = self.submit(request, on_cell=on_cell, on_cell_start=on_cell_start)
        try:
            return task.result()
        finally:
            with self._lock:
                self._tasks.pop(request.key, None)

    @abstractmethod
    def as_completed(self, tasks: Iterable[Task]) -> Iterator[Task]:
        """Yield ``tasks`` as they finish."""

    @abstractmethod
    def cancel_all(self) -> None:
        """Cancel every pending and running task (each running kernel is shut down)."""

    def close(self) -> None:
        """Release the executor's resources (a cluster it started is stopped)."""
        self.closed = True

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.cancel_all()
        self.close()

    def execute_function(self, key_for: Callable[[], str]) -> Callable[..., ExecutionResult]:
        """A callable with :func:`nbrepro.execute.engine.execute_notebook`'s signature that runs
        each call on this executor (``key_for()`` names each call's task)."""
        from .task import ExecuteRequest

        def execute(
            nb: dict[str, Any],
            *,
            kernel: Any = None,
            kernel_name: str | None = None,
            cwd: Any,
            timeout: float | None = None,
            notebook_timeout: float | None = None,
            on_cell: CellFinished | None = None,
            on_cell_start: CellStarted | None = None,
            skip_cells: Iterable[int] = (),
            env: dict[str, str] | None = None,
            startup_timeout: float = 60,
            preamble: str | None = None,
            final_expressions: Mapping[str, str] | None = None,
        ) -> ExecutionResult:
            from ..execute.kernels import kernel_name_for

            name = kernel.name if kernel is not None else kernel_name_for(nb, kernel_name)
            request = ExecuteRequest(
                key=key_for(),
                nb=nb,
                kernel_name=name,
                cwd=str(cwd),
                timeout=timeout,
                notebook_timeout=notebook_timeout,
                skip_cells=tuple(skip_cells),
                env=dict(env) if env else None,
                startup_timeout=float(startup_timeout),
                resolved=kernel,
                preamble=preamble,
                final_expressions=dict(final_expressions) if final_expressions else None,
            )
            return self.run(request, on_cell=on_cell, on_cell_start=on_cell_start)

        return execute
