"""Parameter sweeps: a grid or a YAML list of parameter sets, run one or several at a time.

The ``grid`` option (``name=v1,v2``) gives each name a list of values, typed like ``-p``
values; the sweep is their cartesian product. A sweep file holds a YAML list of parameter
mappings. Given both, each YAML set is crossed with the grid. Each point is merged over the
base parameters and becomes its own run with its own kernel.

Every point is checked before the first one runs (:func:`nbrepro.runs.prepare.check_points`).
``jobs > 1`` runs points on threads of this process, each driving its own kernel (a separate
process that exits with this one, kill -9 included: ipykernel polls its parent,
``JPY_PARENT_PID``), so a killed sweep leaves no worker executing points nobody asked for.
Ctrl-C or SIGTERM starts no further point and cancels the running ones (their kernels are shut
down, as ``verify -j`` stops its own: :func:`nbrepro.execute.engine.cancel_running_executions`);
a bundle is written into a temporary folder and renamed, so no half bundle is left.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NbreproError, UsageError
from ..optionspec import mention
from . import options as _options  # noqa: F401 - registers the run options for mentions
from .manifest import new_run_id
from .runner import SweepInfo

if TYPE_CHECKING:
    from ..executors import Executor


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``name=v1,v2`` specifications (values typed as ``-p`` types them). Names are
    checked as parameter names later, in the kernel's language (:func:`check_points`)."""
    from ..execute.parameters import resolve_type

    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"{mention('grid', repr(spec))}: expected NAME=VALUE[,VALUE...]")
        if name in grid:
            raise UsageError(f"{mention('grid')}: {name!r} given twice")
        items = values.split(",")
        if any(item == "" for item in items):
            raise UsageError(f"{mention('grid', repr(spec))}: empty value")
        grid[name] = [resolve_type(item) for item in items]
    return grid


def load_sweep_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a YAML list of parameter mappings; raise :class:`InputError` when it is not one."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such sweep file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read sweep file: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{p}: invalid YAML{where}") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"{p}: a sweep file holds a non-empty YAML list of parameter mappings")
    points = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not all(isinstance(k, str) for k in item):
            raise InputError(f"{p}: item {i + 1} is not a mapping of parameter names to values")
        points.append(dict(item))
    return points


def expand_points(
    base: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]] | None = None,
    sets: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The parameter sets of a sweep: ``sets`` (or one empty set) crossed with the grid's
    product, each merged over ``base``."""
    grid = grid or {}
    names = list(grid)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    return [{**base, **dict(s), **combo} for s in (sets or [{}]) for combo in combos]


@dataclass
class PointResult:
    """How one point of a sweep went: its stored run's summary, or the error that stopped it."""

    index: int
    parameters: dict[str, Any]
    summary: dict[str, Any] | None
    error: str | None = None
    exit_code: int = 0
    #: The error itself (its message renders option mentions per face).
    exception: NbreproError | None = field(default=None, repr=False, compare=False)

    @property
    def succeeded(self) -> bool:
        """Whether the run was stored and all its cells succeeded."""
        return self.summary is not None and self.summary.get("verdict") == "succeeded"


def run_point(
    index: int,
    notebook: str,
    params: dict[str, Any],
    options: dict[str, Any],
    sweep: SweepInfo | None = None,
    executor: Executor | None = None,
) -> PointResult:
    """Run one point; errors become a :class:`PointResult`. With ``executor`` only the
    execution runs there; the bundle (and MLflow) is written here, once."""
    from .runner import start_run

    extra: dict[str, Any] = {}
    if executor is not None:
        key = f"{sweep.sweep_id if sweep is not None else new_run_id()}-{index}"
        extra["execute"] = executor.execute_function(lambda: key)
    try:
        run = start_run(notebook, params, sweep=sweep, **options, **extra)
    except NbreproError as exc:
        return PointResult(index, params, None, str(exc), exc.exit_code, exc)
    summary = run.summary.to_dict()
    summary["failure"] = run.manifest.get("failure")
    summary["mlflow"] = run.mlflow()
    summary["warnings"] = list(run.manifest.get("warnings") or [])
    return PointResult(index, params, summary)


def prepare_sweep(
    notebook: str | os.PathLike[str],
    points: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
) -> Any:
    """Check the notebook, its kernel, the store and every point before any point runs; return
    the resolved kernel (for ``options["kernel"]``). Raises a one-line NbreproError."""
    from .prepare import check_points, prepare_target

    target = prepare_target(
        notebook,
        kernel=options.get("kernel"),
        runs_dir=options.get("runs_dir"),
        cwd=options.get("cwd"),
        inputs=options.get("inputs") or (),
    )
    check_points(target, points)
    return target.kernel


def run_sweep(
    notebook: str | os.PathLike[str],
    points: Sequence[dict[str, Any]],
    *,
    jobs: int = 1,
    options: Mapping[str, Any] | None = None,
    names: Sequence[str | None] | None = None,
    on_done: Callable[[PointResult], None] | None = None,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
    ship_inputs: bool = False,
    include: Sequence[str] = (),
) -> list[PointResult]:
    """Check every point, then run them, ``jobs`` at a time (each with its own kernel).

    ``options`` are passed to :func:`nbrepro.runs.runner.start_run`; ``names`` gives each
    point's run name. Results come back in point order; ``on_done`` sees each as it finishes
    (on the calling thread). Bad input raises NbreproError before any point runs.
    ``executor`` (``"local"``, the default; ``"dask"`` with ``scheduler``; or an
    :class:`~nbrepro.executors.Executor`) is where the executions run; each point's bundle and
    MLflow export are written here, by this process, once per point; ``ship_inputs`` (and
    ``include``) send each execution its input files (:mod:`nbrepro.executors.shipping`).
    """
    opts = dict(options or {})
    nb = str(notebook)
    opts["kernel"] = prepare_sweep(nb, points, opts)
    sweep_id = new_run_id()
    n = len(points)

    def info(i: int) -> SweepInfo | None:
        return SweepInfo(sweep_id, i, n) if n > 1 else None

    def opts_for(i: int) -> dict[str, Any]:
        return {**opts, "name": names[i]} if names is not None else opts

    if executor not in (None, "local") or scheduler or ship_inputs or include:
        shipping = {"ship_inputs": ship_inputs, "include": tuple(include)}
        return _sweep_on(executor, scheduler, nb, points, jobs, opts_for, info, on_done, shipping)
    results: list[PointResult] = []
    if jobs <= 1 or n <= 1:
        for i, params in enumerate(points):
            result = run_point(i, nb, params, opts_for(i), info(i))
            results.append(result)
            if on_done is not None:
                on_done(result)
        return results
    _import_for_threads()
    stopping = threading.Event()
    opts["on_cell_start"] = _unless_stopping(stopping, opts.get("on_cell_start"))

    def point(i: int) -> PointResult | None:
        if stopping.is_set():
            return None
        return run_point(i, nb, points[i], opts_for(i), info(i))

    return _in_threads(n, jobs, point, stopping, on_done)


def _in_threads(
    n: int,
    jobs: int,
    point: Callable[[int], PointResult | None],
    stopping: threading.Event,
    on_done: Callable[[PointResult], None] | None,
    on_stop: Callable[[], None] | None = None,
) -> list[PointResult]:
    """Run ``point(0..n-1)``, ``jobs`` at a time on threads of this process; results in point
    order, each handed to ``on_done`` as it finishes. On Ctrl-C (or any error) ``stopping`` is
    set, ``on_stop`` runs, queued points are dropped and running executions cancelled once."""
    results: list[PointResult] = []
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, n)), thread_name_prefix="nbrepro-sweep")
    pending: set[Future[PointResult | None]] = {pool.submit(point, i) for i in range(n)}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                outcome = fut.result()
                if outcome is not None:
                    results.append(outcome)
                    if on_done is not None:
                        on_done(outcome)
    except BaseException:
        stopping.set()
        if on_stop is not None:
            on_stop()
        _stop(pool, pending)
        raise
    pool.shutdown(wait=True)
    return sorted(results, key=lambda r: r.index)


def _sweep_on(
    executor: str | Executor | None,
    scheduler: str | None,
    nb: str,
    points: Sequence[dict[str, Any]],
    jobs: int,
    opts_for: Callable[[int], dict[str, Any]],
    info: Callable[[int], SweepInfo | None],
    on_done: Callable[[PointResult], None] | None,
    shipping: Mapping[str, Any] | None = None,
) -> list[PointResult]:
    """Run the points with their executions on ``executor`` (a name: made here and closed at
    the end; ``shipping``: its ship_inputs/include), ``jobs`` in flight at a time; each point
    is recorded on a thread of this process as its execution comes back. Ctrl-C cancels every
    pending and running execution."""
    from ..executors import Executor, make_executor

    n = len(points)
    if isinstance(executor, Executor):
        owned, ex = False, executor
    else:
        owned = True
        ex = make_executor(
            executor, jobs=jobs, scheduler=scheduler, start=Path(nb).parent, **(shipping or {})
        )
    stopping = threading.Event()

    def point(i: int) -> PointResult | None:
        if stopping.is_set():
            return None
        return run_point(i, nb, points[i], opts_for(i), info(i), ex)

    try:
        return _in_threads(n, jobs, point, stopping, on_done, on_stop=ex.cancel_all)
    finally:
        if owned:
            ex.close()


def _unless_stopping(
    stopping: threading.Event, then: Callable[[int, str], None] | None
) -> Callable[[int, str], None]:
    """A cell-start callback that cancels the execution once the sweep is stopping: a run whose
    execution began after the sweep's one cancel (:func:`_stop`) runs no cell."""

    def on_cell_start(index: int, cell_id: str) -> None:
        if stopping.is_set():
            raise asyncio.CancelledError
        if then is not None:
            then(index, cell_id)

    return on_cell_start


def _import_for_threads() -> None:
    """Import what the threads' runs import, once, here: jupyter_client's and nbclient's
    imports must not race each other in two threads."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401


def _stop(pool: ThreadPoolExecutor, pending: set[Future[Any]]) -> None:
    """Interrupted (Ctrl-C, SIGTERM): start no further point and cancel the running ones.

    Queued points are dropped and the executions in progress are cancelled once (each shuts its
    kernel down; a second cancel would interrupt that clean-up); an execution that begins later
    stops at its first cell (:func:`_unless_stopping`). Returns when every thread is done.
    """
    from ..execute.engine import cancel_running_executions

    running = [fut for fut in pending if not fut.cancel()]  # a cancelled one never runs
    pool.shutdown(wait=False, cancel_futures=True)
    cancel_running_executions()
    wait(running)
