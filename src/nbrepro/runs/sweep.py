"""Parameter sweeps: a grid or a YAML list of parameter sets, run sequentially or in parallel.

``--grid name=v1,v2`` gives each name a list of values, typed like ``-p`` values; the sweep is
their cartesian product. ``--sweep FILE.yaml`` holds a YAML list of parameter mappings. Given
both, each YAML set is crossed with the grid. Each point is merged over the base parameters
(``-p/-r/-f/-y``) and becomes its own run with its own kernel; ``jobs > 1`` runs points in
separate worker processes.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, NbreproError, UsageError
from .manifest import new_run_id
from .runner import SweepInfo


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``name=v1,v2`` specifications (values typed as ``-p`` types them)."""
    from ..execute.parameters import resolve_type

    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"--grid {spec!r}: expected NAME=VALUE[,VALUE...]")
        if name in grid:
            raise UsageError(f"--grid: {name!r} given twice")
        items = values.split(",")
        if any(item == "" for item in items):
            raise UsageError(f"--grid {spec!r}: empty value")
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

    @property
    def succeeded(self) -> bool:
        """Whether the run was stored and all its cells succeeded."""
        return self.summary is not None and self.summary.get("verdict") == "succeeded"


#: State of a sweep worker: whether a point is running, and whether the worker was told to
#: stop (the points still queued to it are then skipped).
_worker = {"running": False, "stopping": False}


def _stop_worker(signum: int, frame: Any) -> None:
    _worker["stopping"] = True
    if _worker["running"]:
        raise KeyboardInterrupt


def _init_worker() -> None:
    """Make SIGINT and SIGTERM stop a sweep worker: the running point unwinds (its kernel is shut
    down and its temporary bundle removed) and the points queued to the worker are skipped."""
    signal.signal(signal.SIGINT, _stop_worker)
    signal.signal(signal.SIGTERM, _stop_worker)


def run_point(
    index: int,
    notebook: str,
    params: dict[str, Any],
    options: dict[str, Any],
    sweep: SweepInfo | None = None,
) -> PointResult:
    """Run one point (in this process or a worker); errors become a :class:`PointResult`."""
    from .runner import start_run

    if _worker["stopping"]:
        raise KeyboardInterrupt
    _worker["running"] = True
    try:
        run = start_run(notebook, params, sweep=sweep, **options)
    except NbreproError as exc:
        return PointResult(index, params, None, str(exc), exc.exit_code)
    finally:
        _worker["running"] = False
    summary = run.summary.to_dict()
    summary["failure"] = run.manifest.get("failure")
    summary["mlflow"] = run.mlflow()
    summary["warnings"] = list(run.manifest.get("warnings") or [])
    return PointResult(index, params, summary)


def run_sweep(
    notebook: str | os.PathLike[str],
    points: Sequence[dict[str, Any]],
    *,
    jobs: int = 1,
    options: Mapping[str, Any] | None = None,
    names: Sequence[str | None] | None = None,
    on_done: Callable[[PointResult], None] | None = None,
) -> list[PointResult]:
    """Run every point; ``jobs > 1`` runs them in that many worker processes (each with its own
    kernel). ``options`` are passed to :func:`nbrepro.runs.runner.start_run` (picklable values
    only); ``names`` gives each point's run name. Results come back in point order;
    ``on_done`` sees each as it finishes."""
    opts = dict(options or {})
    nb = str(notebook)
    results: list[PointResult] = []
    sweep_id = new_run_id()
    n = len(points)

    def info(i: int) -> SweepInfo | None:
        return SweepInfo(sweep_id, i, n) if n > 1 else None

    def opts_for(i: int) -> dict[str, Any]:
        return {**opts, "name": names[i]} if names is not None else opts

    if jobs <= 1 or n <= 1:
        for i, params in enumerate(points):
            result = run_point(i, nb, params, opts_for(i), info(i))
            results.append(result)
            if on_done is not None:
                on_done(result)
        return results
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(points)), mp_context=ctx, initializer=_init_worker
    ) as pool:
        pending: set[Future[PointResult]] = {
            pool.submit(run_point, i, nb, params, opts_for(i), info(i))
            for i, params in enumerate(points)
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    result = fut.result()
                    results.append(result)
                    if on_done is not None:
                        on_done(result)
        except BaseException:
            _stop_workers(pool)
            raise
    return sorted(results, key=lambda r: r.index)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Interrupted (Ctrl-C, SIGTERM): start no more points and stop the running ones.

    The workers get SIGTERM (they may not have seen the signal: ``kill`` of this process alone),
    which unwinds their current run and makes them skip what is queued to them; the pool's exit
    then waits only for that.
    """
    pool.shutdown(wait=False, cancel_futures=True)
    for child in multiprocessing.active_children():
        if child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
