"""Executions on a ``dask.distributed`` cluster (``--executor dask``; the ``nbrepro[dask]`` extra).

The scheduler is ``--scheduler tcp://HOST:PORT``, else ``$DASK_SCHEDULER_ADDRESS``, else
``[tool.nbrepro] scheduler`` of the project's ``pyproject.toml``; with none, nbrepro starts a
:class:`distributed.LocalCluster` (one single-threaded worker process per job) and stops it
when done. Each task executes one notebook in a fresh kernel on a worker and sends back the
executed copy and per-cell results; the worker writes nothing (with ``--ship-inputs`` it
runs in a scratch folder of its own, see :mod:`.shipping`). A task lost with its worker is
run again by the scheduler on another worker, and one that raised is retried (``retries``);
either way the client gets one answer per key, so a run is stored once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EXIT_USAGE, NbreproError, OptionalDependencyMissing, UsageError
from ..optionspec import mention
from ..verify import options as _options  # noqa: F401 - registers the options for mentions
from .base import Executor, Task
from .task import cancel_remote, run_remote

if TYPE_CHECKING:
    from .task import CellFinished, CellStarted, ExecuteRequest

#: The environment variable Dask itself reads for the scheduler's address.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: How many times a task that raised is run again (a lost worker's tasks are rescheduled by
#: the scheduler without counting here).
RETRIES = 2
#: Seconds to wait for the scheduler to answer.
CONNECT_TIMEOUT = 10.0


class DaskMissing(OptionalDependencyMissing):
    """``--executor dask`` without ``distributed`` installed."""

    exit_code = EXIT_USAGE


class SchedulerUnreachable(NbreproError):
    """The Dask scheduler named does not answer."""

    exit_code = EXIT_USAGE
    http_status = 502


def scheduler_address(
    scheduler: str | None = None, start: str | os.PathLike[str] | None = None
) -> str | None:
    """The scheduler to use: ``scheduler``, else ``$DASK_SCHEDULER_ADDRESS``, else
    ``[tool.nbrepro] scheduler`` (found from ``start``); ``None``: start a LocalCluster."""
    if scheduler:
        return scheduler
    if os.environ.get(SCHEDULER_ENV):
        return os.environ[SCHEDULER_ENV]
    from ..config import find_config

    config = find_config(Path(start) if start is not None else None)
    configured = config.data.get("scheduler")
    if configured is None:
        return None
    if not isinstance(configured, str) or not configured.strip():
        raise UsageError(f"{config.path}: [tool.nbrepro] scheduler must be an address string")
    return configured.strip()


def _warm_up() -> None:
    """Do on every worker once, at connection, what its first task would otherwise wait for:
    the imports, and reading the default kernel's environment (~1.8 s; cached per worker)."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401

    from ..execute import engine
    from ..execute.kernels import DEFAULT_KERNEL
    from .task import worker_environment

    engine._client_class()
    worker_environment(DEFAULT_KERNEL)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise DaskMissing(f"{mention('executor', 'dask')} needs nbrepro[dask]") from None
    return distributed


class DaskExecutor(Executor):
    """Executions on the workers of a Dask cluster (started here when no address is given)."""

    name = "dask"
    streams_cells = False
    remote = True

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int = 1,
        start: str | os.PathLike[str] | None = None,
        retries: int = RETRIES,
        connect_timeout: float = CONNECT_TIMEOUT,
        ship_inputs: bool = False,
        include: Iterable[str] = (),
    ) -> None:
        super().__init__(ship_inputs=ship_inputs, include=include)
        distributed = _import_distributed()
        self.retries = retries
        self.address = scheduler_address(scheduler, start)
        self.cluster: Any = None
        if self.address is None:
            self.cluster = distributed.LocalCluster(
                n_workers=max(1, int(n_workers)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                host="127.0.0.1",
            )
            target: Any = self.cluster
        else:
            target = self.address
        try:
            self.client = distributed.Client(
                target, timeout=f"{connect_timeout}s", set_as_default=False
            )
        except (OSError, TimeoutError, ValueError) as exc:
            if self.cluster is not None:
                self.cluster.close()
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchedulerUnreachable(
                f"cannot reach the Dask scheduler at {self.address} "
                f"({mention('scheduler')}): {detail[:200]}"
            ) from None

        self.client.run(_warm_up)

    def _submit(
        self,
        request: ExecuteRequest,
        on_cell: CellFinished | None,
        on_cell_start: CellStarted | None,
    ) -> Any:
        # pure=False: every submission is its own task; the key makes a retry the same task.
        return self.client.submit(
            run_remote,
            request.portable(),
            key=f"nbrepro-execute-{request.key}",
            retries=self.retries,
            pure=False,
        )

    def as_completed(self, tasks: Iterable[Task]) -> Iterator[Task]:
        """Yield ``tasks`` as the cluster finishes them."""
        from distributed import as_completed

        by_key = {task.future.key: task for task in tasks}
        for future in as_completed([task.future for task in by_key.values()]):
            yield by_key[future.key]

    def cancel_all(self) -> None:
        """Cancel every task of this client: queued ones never start, and every worker stops
        the executions of this client's running ones (each shuts its kernel down); other
        clients' tasks on the same workers go on."""
        with self._lock:
            keys = list(self._tasks)
            futures = [task.future for task in self._tasks.values()]
        if not futures:
            return
        self.client.cancel(futures, force=True)
        with contextlib.suppress(Exception):  # a worker gone already has nothing to stop
            self.client.run(cancel_remote, keys, wait=True)

    def close(self) -> None:
        """Disconnect; stop the LocalCluster this executor started."""
        try:
            if self.cluster is not None:
                self.client.shutdown()  # the cluster is ours: stop its workers now
            else:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
            super().close()
