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
from ..runs.options import HAND_MADE, RUN_OPTIONS
from .options import add_parameter_options, parameters_from_args
from .spec_args import add_spec_arguments, values_from_args

DESCRIPTION = """\
Execute a notebook top to bottom in a fresh kernel (papermill parameters injected) and store a
versioned run: the executed notebook, a run.json manifest (parameters, metrics, input hashes,
environment, per-cell output hashes, git state, timings, verdict) and environment.json, under
.nbrepro/runs/<run id>/ in the project root. The input notebook is never modified.

--grid and --sweep run one run per parameter set (-j N in parallel) and print a summary table.

exit codes: 0 every run succeeded; 1 a run failed (a cell raised, timed out or killed the
kernel; or the MLflow export failed); 2 usage or input error."""


def register(subparsers: Any) -> None:
    """Add the ``run`` subcommand (options generated from the core's ``RUN_OPTIONS``)."""
    parser = subparsers.add_parser(
        "run",
        help="execute a notebook as a versioned, tracked run (or a parameter sweep)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the notebook to run")
    add_parameter_options(parser)
    after_mlflow = ("no_mlflow", "experiment", "events")
    groups = add_spec_arguments(parser, RUN_OPTIONS, skip=(*HAND_MADE, *after_mlflow))
    mlflow = RUN_OPTIONS["mlflow"]
    groups["storage and tracking"].add_argument(
        *mlflow.cli,
        dest="mlflow",
        nargs="?",
        const="",
        default=None,
        metavar=mlflow.metavar,
        help=mlflow.help,
    )
    others = [spec.name for spec in RUN_OPTIONS if spec.name not in after_mlflow]
    groups = add_spec_arguments(parser, RUN_OPTIONS, skip=others, groups=groups)
    out = groups["output"]
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="result format on stdout (default: text)",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
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


def _message(result: Any) -> str:
    """The error of a point that stored no run, in the command line's words."""
    exc = result.exception
    return str(exc.message_for("cli")) if exc is not None else str(result.error)


def _cell_progress(bar_stream: IO[str]) -> Any:
    """A listener drawing a single run's progress bar from the core's events."""
    state: dict[str, Progress] = {}

    def listener(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "notebook-started":
            state["bar"] = Progress(bar_stream, int(event.get("cells", 0)), "cells")
            state["bar"].show()
            return
        bar = state.get("bar")
        if bar is None:
            return
        if kind == "cell-started":
            bar.note = f" - {cell_label(int(event.get('index', 0)))}"
            bar.show()
        elif kind == "cell-finished":
            bar.step(failed=event.get("status") not in ("ok", "skipped"))
        elif kind == "notebook-finished":
            bar.clear()

    return listener


def run(args: argparse.Namespace) -> int:
    """Execute the run(s); return the exit code."""
    from ..errors import EXIT_FAILED, EXIT_OK, UsageError
    from ..runs.mlflow_export import (
        check_tracking_uri,
        configured_tracking_uri,
        resolve_tracking_uri,
    )
    from ..runs.options import parse_register_models
    from ..runs.project import find_project_root
    from ..runs.runner import MlflowTarget
    from ..runs.sweep import expand_points, load_sweep_file, parse_grid, run_sweep
    from ..runs.table import runs_table
    from ..verify.events import EventWriter, fan_out

    values = values_from_args(args, RUN_OPTIONS, skip=HAND_MADE)
    nb_path = Path(args.notebook)
    base = parameters_from_args(args)
    grid = parse_grid(list(values["grid"] or ()))
    sets = load_sweep_file(values["sweep"]) if values["sweep"] else None
    points = expand_points(base, grid, sets)
    name = values["name"]
    if name and len(points) > 1:
        names = [f"{name}-{i + 1}" for i in range(len(points))]
    else:
        names = [name] * len(points)
    if values["events"] is not None and len(points) > 1:
        raise UsageError("--events follows a single run; it cannot be used with a sweep")
    project_root = find_project_root(nb_path)
    target = None
    to_register = parse_register_models(values["register_model"])  # before contacting MLflow
    if args.mlflow is not None and values["no_mlflow"]:
        raise UsageError("--mlflow and --no-mlflow exclude each other")
    if args.mlflow is not None or (
        not values["no_mlflow"] and configured_tracking_uri(project_root)
    ):
        uri = resolve_tracking_uri(args.mlflow, project_root)
        check_tracking_uri(uri)
        target = MlflowTarget(uri, values["experiment"], to_register)
    elif values["experiment"]:
        raise UsageError("--experiment needs --mlflow")
    elif values["register_model"]:
        raise UsageError("--register-model needs --mlflow")

    _sigterm_as_interrupt()
    options: dict[str, Any] = {
        "runs_dir": values["runs_dir"],
        "kernel": values["kernel"],
        "cwd": values["cwd"],
        "timeout": values["timeout"],
        "notebook_timeout": values["notebook_timeout"],
        "inputs": list(values["input"] or ()),
        "snapshot_inputs": values["snapshot_inputs"] or None,
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

    writer = EventWriter(Path(values["events"])) if values["events"] is not None else None
    if len(points) == 1:
        listeners = [writer, _cell_progress(sys.stderr) if show_bar else None]
        if any(listener is not None for listener in listeners):
            options["on_event"] = fan_out(*listeners)
    try:
        results = run_sweep(
            nb_path,
            points,
            jobs=values["jobs"],
            options=options,
            names=names,
            on_done=on_done,
            executor=values["executor"],
            scheduler=values["scheduler"],
            ship_inputs=bool(values["ship_inputs"]),
            include=tuple(values["include"] or ()),
        )
    finally:
        if writer is not None:
            writer.close()
        if bar is not None:
            bar.clear()

    for result in results:
        if result.summary is not None:
            for warning in result.summary.get("warnings") or []:
                print(f"nbrepro: warning: {warning}", file=sys.stderr)
    errors = [r for r in results if r.summary is None]
    refused = errors[0].exception if len(results) == 1 and errors else None
    if refused is not None and refused.exit_code != EXIT_FAILED:
        raise refused  # bad input of a single run: one line and its exit code
    if args.format == "json":
        payload = {
            "runs": [
                r.summary
                if r.summary is not None
                else {"index": r.index, "parameters": r.parameters, "error": _message(r)}
                for r in results
            ]
        }
        print(json.dumps(payload, indent=1, default=str))
    else:
        for r in results:
            if r.summary is None:
                print(
                    f"run {r.index + 1} ({json.dumps(r.parameters, default=str)}): "
                    f"error: {_message(r)}"
                )
            elif len(results) == 1:
                print(_describe(r.summary, r.summary.get("failure"), r.summary.get("mlflow")))
        stored = [r.summary for r in results if r.summary is not None]
        if len(results) > 1 and stored:
            print(runs_table(stored))
            ok = sum(1 for r in results if r.succeeded)
            print(f"{ok} of {len(results)} runs succeeded")
    return EXIT_OK if all(r.succeeded for r in results) else EXIT_FAILED
