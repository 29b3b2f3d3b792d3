"""``nbrepro run NOTEBOOK``: execute a notebook as a versioned run (or a sweep of runs).

Only argparse and the standard library are imported here; the core is imported inside
:func:`run` so that ``nbrepro --help`` stays fast. Reference: ``docs/runs.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import IO, Any

from ..cell_names import cell_label
from .options import add_parameter_options, parameters_from_args, positive_int, seconds

DESCRIPTION = """\
Execute a notebook top to bottom in a fresh kernel (papermill parameters injected) and store a
versioned run: the executed notebook, a run.json manifest (parameters, metrics, input hashes,
environment, per-cell output hashes, git state, timings, verdict) and environment.json, under
.nbrepro/runs/<run id>/ in the project root. The input notebook is never modified.

--grid and --sweep run one run per parameter set (-j N in parallel) and print a summary table.

exit codes: 0 every run succeeded; 1 a run failed (a cell raised, timed out or killed the
kernel; or the MLflow export failed); 2 usage or input error."""


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="execute a notebook as a versioned, tracked run (or a parameter sweep)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the notebook to run")
    add_parameter_options(parser)
    sweep = parser.add_argument_group("sweeps")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="sweep NAME over the values (typed like -p); several --grid: their cartesian product",
    )
    sweep.add_argument(
        "--sweep", metavar="FILE.yaml", help="a YAML list of parameter sets, one run each"
    )
    sweep.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="run N parameter sets in parallel (separate processes and kernels)",
    )
    execution = parser.add_argument_group("execution")
    execution.add_argument("--name", help="a name for the run (shown in lists and MLflow)")
    execution.add_argument(
        "-k", "--kernel", metavar="NAME", help="kernel (default: the notebook's)"
    )
    execution.add_argument(
        "--cwd",
        type=Path,
        metavar="DIR",
        help="working directory of the kernel (default: the notebook's folder)",
    )
    execution.add_argument("--timeout", type=seconds, metavar="SECONDS", help="per-cell timeout")
    execution.add_argument(
        "--notebook-timeout",
        type=seconds,
        metavar="SECONDS",
        help="timeout for the whole notebook",
    )
    execution.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="PATH",
        help="declare an input file to hash into the run (files the notebook "
        "names in its code or parameters are found without it)",
    )
    store = parser.add_argument_group("storage and tracking")
    store.add_argument(
        "--runs-dir",
        type=Path,
        metavar="DIR",
        help="where run bundles go (default: [tool.nbrepro] runs_dir, else "
        ".nbrepro/runs under the project root)",
    )
    store.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        default=None,
        metavar="TRACKING_URI",
        help="log each run to MLflow (URI default: $MLFLOW_TRACKING_URI, else "
        "[tool.nbrepro] mlflow_tracking_uri, which also turns this on)",
    )
    store.add_argument(
        "--no-mlflow",
        action="store_true",
        help="do not log to MLflow even when the project configures it",
    )
    store.add_argument(
        "--experiment",
        metavar="NAME",
        help="MLflow experiment (default: the notebook's path in the project)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="result format on stdout (default: text)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    out.add_argument(
        "--events",
        type=Path,
        metavar="FILE",
        help="write progress events as JSON lines, one when each cell starts and finishes "
        "(a single run only; the server's run jobs tail this file)",
    )
    parser.set_defaults(func=run)


class Progress:
    """A one-line progress bar on a terminal (stderr): cells of one run, or runs of a sweep."""

    WIDTH = 24

    def __init__(self, stream: IO[str], total: int, unit: str) -> None:
        self.stream, self.total, self.unit = stream, max(total, 1), unit
        self.done = 0
        self.failed = 0
        self.note = ""

    def show(self) -> None:
        """Redraw the bar."""
        filled = self.WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        self.stream.write(
            f"\r\x1b[2K[{bar}] {self.done}/{self.total} {self.unit}{failed}{self.note}"
        )
        self.stream.flush()

    def step(self, failed: bool = False) -> None:
        """One more unit done."""
        self.done += 1
        self.failed += int(failed)
        self.note = ""
        self.show()

    def clear(self) -> None:
        """Erase the bar."""
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


class CellEvents:
    """Progress events of one run as JSON lines, flushed per line (``--events FILE``).

    ``{"event": "cell-started", "index", "id"}`` when a cell starts and
    ``{"event": "cell-finished", "index", "id", "status", "duration"}`` when it ends; indices
    are those of the executed notebook (with the injected-parameters cell).
    """

    def __init__(self, path: Path) -> None:
        from ..errors import InputError

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--events {path}: cannot write: {exc.strerror or exc}") from None

    def write(self, event: dict[str, Any]) -> None:
        """Append one event."""
        self.fh.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        self.fh.flush()

    def started(self, index: int, cell_id: str) -> None:
        """A cell started executing."""
        self.write({"event": "cell-started", "index": index, "id": cell_id})

    def finished(self, ce: Any) -> None:
        """A cell finished (``ce`` is the engine's ``CellExecution``)."""
        self.write(
            {
                "event": "cell-finished",
                "index": ce.index,
                "id": ce.cell_id,
                "status": ce.status,
                "duration": round(float(ce.duration), 6),
            }
        )

    def close(self) -> None:
        """Close the file."""
        self.fh.close()


def _sigterm_as_interrupt() -> None:
    """Let SIGTERM unwind like Ctrl-C, so kernels stop and temporary bundles are removed."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (embedded use)
        signal.signal(signal.SIGTERM, handler)


def _describe(summary: dict[str, Any], failure: str | None, mlflow: dict[str, Any] | None) -> str:
    from ..runs.table import format_value

    lines = [
        f"run {summary['run_id']} {summary['verdict']} "
        f"({summary['notebook']}, {summary['duration']:.1f} s)"
    ]
    if failure:
        lines.append(f"  failure: {failure}")
    lines.append(f"  configuration {summary['configuration_id']}")
    if summary["parameters"]:
        lines.append(
            "  parameters: "
            + ", ".join(f"{k}={format_value(v)}" for k, v in summary["parameters"].items())
        )
    if summary["metrics"]:
        lines.append(
            "  metrics: "
            + ", ".join(f"{k}={format_value(v)}" for k, v in summary["metrics"].items())
        )
    lines.append(f"  bundle: {summary['path']}")
    if mlflow:
        lines.append(
            f"  mlflow: experiment {mlflow['experiment_name']!r} run {mlflow['run_id']} "
            f"at {mlflow['tracking_uri']}"
        )
    return "\n".join(lines)


def _progress_line(result: Any, done: int, total: int) -> str:
    """One plain line per finished run of a sweep, for logs (no terminal: no bar)."""
    from ..runs.table import format_value

    params = ", ".join(f"{k}={format_value(v)}" for k, v in result.parameters.items())
    if result.summary is None:
        outcome = f"error: {result.error}"
    else:
        outcome = f"{result.summary['run_id']} {result.summary['verdict']}"
    return f"nbrepro: [{done}/{total}] {params or 'no parameters'}: {outcome}"


def _chain(first: Any, second: Any) -> Any:
    """A callback calling ``first`` then ``second`` (when there is one) with the same arguments."""
    if second is None:
        return first

    def both(*args: Any) -> None:
        first(*args)
        second(*args)

    return both


def run(args: argparse.Namespace) -> int:
    """Execute the run(s); return the exit code."""
    from ..errors import EXIT_FAILED, EXIT_OK, InputError, UsageError
    from ..execute.engine import resolve_kernel
    from ..notebook_io import read_notebook
    from ..runs.mlflow_export import (
        check_tracking_uri,
        configured_tracking_uri,
        resolve_tracking_uri,
    )
    from ..runs.project import find_project_root
    from ..runs.runner import MlflowTarget
    from ..runs.store import RunStore
    from ..runs.sweep import expand_points, load_sweep_file, parse_grid, run_sweep
    from ..runs.table import runs_table

    nb_path = Path(args.notebook)
    nb = read_notebook(nb_path)
    base = parameters_from_args(args)
    grid = parse_grid(args.grid)
    sets = load_sweep_file(args.sweep) if args.sweep else None
    points = expand_points(base, grid, sets)
    if len(points) > 1:  # fail once, before any worker starts
        resolve_kernel(nb, args.kernel)
        RunStore.for_notebook(nb_path, args.runs_dir).ensure_writable()
    if args.name and len(points) > 1:
        names = [f"{args.name}-{i + 1}" for i in range(len(points))]
    else:
        names = [args.name] * len(points)
    for item in args.input:
        if not Path(item).exists():
            raise InputError(f"--input {item}: no such file")
    if args.events is not None and len(points) > 1:
        raise UsageError("--events follows a single run; it cannot be used with a sweep")
    if args.cwd is not None and not args.cwd.is_dir():
        raise UsageError(f"--cwd {args.cwd}: not a directory")
    project_root = find_project_root(nb_path)
    target = None
    if args.mlflow is not None and args.no_mlflow:
        raise UsageError("--mlflow and --no-mlflow exclude each other")
    if args.mlflow is not None or (not args.no_mlflow and configured_tracking_uri(project_root)):
        uri = resolve_tracking_uri(args.mlflow, project_root)
        check_tracking_uri(uri)
        target = MlflowTarget(uri, args.experiment)
    elif args.experiment:
        raise UsageError("--experiment needs --mlflow")

    _sigterm_as_interrupt()
    options: dict[str, Any] = {
        "runs_dir": str(args.runs_dir) if args.runs_dir else None,
        "kernel": args.kernel,
        "cwd": str(args.cwd) if args.cwd else None,
        "timeout": args.timeout,
        "notebook_timeout": args.notebook_timeout,
        "inputs": [str(Path(p).resolve()) for p in args.input],
        "mlflow": target,
    }
    show_bar = not args.quiet and sys.stderr.isatty()
    bar: Progress | None = None
    on_done = None
    if show_bar and len(points) > 1:
        bar = Progress(sys.stderr, len(points), "runs")
        bar.show()

        def on_done(result: Any) -> None:
            assert bar is not None
            bar.step(failed=not result.succeeded)

    elif not args.quiet and len(points) > 1:
        finished = [0]

        def on_done(result: Any) -> None:
            finished[0] += 1
            print(_progress_line(result, finished[0], len(points)), file=sys.stderr, flush=True)

    elif show_bar:
        n_code = sum(1 for c in nb.get("cells", []) if c.get("cell_type") == "code")
        bar = Progress(sys.stderr, n_code + (1 if base else 0), "cells")
        bar.show()

        def on_cell(ce: Any) -> None:
            assert bar is not None
            bar.step(failed=ce.status not in ("ok", "skipped"))

        def on_cell_start(index: int, cell_id: str) -> None:
            assert bar is not None
            bar.note = f" - {cell_label(index)}"
            bar.show()

        options["on_cell"] = on_cell
        options["on_cell_start"] = on_cell_start

    events = CellEvents(args.events) if args.events is not None else None
    if events is not None:
        options["on_cell"] = _chain(events.finished, options.get("on_cell"))
        options["on_cell_start"] = _chain(events.started, options.get("on_cell_start"))

    if len(points) == 1:
        from ..runs.sweep import run_point

        try:
            results = [run_point(0, str(nb_path), points[0], {**options, "name": names[0]})]
        finally:
            if events is not None:
                events.close()
    else:
        if options.get("on_cell"):
            options.pop("on_cell")
            options.pop("on_cell_start")
        results = run_sweep(
            nb_path, points, jobs=args.jobs, options=options, names=names, on_done=on_done
        )
    if bar is not None:
        bar.clear()

    for result in results:
        if result.summary is not None:
            for warning in result.summary.get("warnings") or []:
                print(f"nbrepro: warning: {warning}", file=sys.stderr)
    errors = [r for r in results if r.summary is None]
    if len(results) == 1 and errors and errors[0].exit_code != EXIT_FAILED:
        from ..errors import NbreproError

        exc = NbreproError(errors[0].error)
        exc.exit_code = errors[0].exit_code
        raise exc
    if args.format == "json":
        payload = {
            "runs": [
                r.summary
                if r.summary is not None
                else {"index": r.index, "parameters": r.parameters, "error": r.error}
                for r in results
            ]
        }
        print(json.dumps(payload, indent=1, default=str))
    else:
        for r in results:
            if r.summary is None:
                print(
                    f"run {r.index + 1} ({json.dumps(r.parameters, default=str)}): error: {r.error}"
                )
            elif len(results) == 1:
                print(_describe(r.summary, r.summary.get("failure"), r.summary.get("mlflow")))
        stored = [r.summary for r in results if r.summary is not None]
        if len(results) > 1 and stored:
            print(runs_table(stored))
            ok = sum(1 for r in results if r.succeeded)
            print(f"{ok} of {len(results)} runs succeeded")
    return EXIT_OK if all(r.succeeded for r in results) else EXIT_FAILED
