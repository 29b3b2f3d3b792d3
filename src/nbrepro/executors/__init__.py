"""Executors: where the executions of a verification or a sweep run.

:class:`LocalExecutor` (threads of this process, each with its own kernel: the embedded default)
and :class:`DaskExecutor` (a ``dask.distributed`` cluster, ``nbrepro[dask]``) share one interface,
:class:`Executor`: :meth:`~Executor.submit` an :class:`ExecuteRequest` (one notebook, one fresh
kernel), :meth:`~Executor.as_completed`, :meth:`~Executor.cancel_all`. The caller judges,
diagnoses and writes; executors only execute.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..errors import UsageError
from ..optionspec import mention
from ..verify import options as _options  # noqa: F401 - registers the options for mentions
from .base import EXECUTORS, Executor, Task
from .local import LocalExecutor
from .task import ExecuteRequest, result_from_dict, result_to_dict, run_request

__all__ = [
    "EXECUTORS",
    "ExecuteRequest",
    "Executor",
    "LocalExecutor",
    "Task",
    "make_executor",
    "result_from_dict",
    "result_to_dict",
    "run_request",
]


def make_executor(
    name: str | None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    start: str | os.PathLike[str] | None = None,
    ship_inputs: bool = False,
    include: Iterable[str] = (),
    **dask_options: Any,
) -> Executor:
    """The executor called ``name`` (``None``: ``local``) for ``jobs`` executions at a time.

    ``scheduler`` (Dask only) is the scheduler's address; ``start`` is where the project's
    configuration is looked for; ``ship_inputs`` (Dask only) sends each task its input files
    (recorded ones and ``include`` globs) and writes back what it produced
    (:mod:`.shipping`). Raises a one-line NbreproError (exit 2) for an unknown name, a
    scheduler or shipping without ``--executor dask``, Dask missing or a scheduler that does
    not answer.
    """
    chosen = name or "local"
    include = tuple(include)
    if chosen == "local":
        if scheduler:
            raise UsageError(f"{mention('scheduler')} needs {mention('executor', 'dask')}")
        return LocalExecutor(jobs, ship_inputs=ship_inputs, include=include)
    if chosen == "dask":
        from .dask_cluster import DaskExecutor

        return DaskExecutor(
            scheduler,
            n_workers=jobs,
            start=start,
            ship_inputs=ship_inputs,
            include=include,
            **dask_options,
        )
    raise UsageError(f"{mention('executor', chosen)}: must be one of {', '.join(EXECUTORS)}")
