"""``nbrepro verify PATH...``: re-execute notebooks and prove they reproduce their outputs.

Only argparse and the standard library are imported here; the core is imported inside
:func:`run` so that ``nbrepro --help`` stays fast. Reference: ``docs/verify.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from ..cell_names import cell_label
from .options import add_parameter_options, parameters_from_args, positive_int, seconds, tolerance

DESCRIPTION = """\
Re-execute each notebook top to bottom in a fresh kernel and compare every code cell's outputs,
after normalisation, with the outputs stored in the notebook (or with --against). Directories are
searched recursively (.ipynb_checkpoints skipped). The input notebooks are never modified.

For every cell that does not reproduce, the report names the cause with its evidence
(docs/diagnosis.md): code edited, execution order, hidden state, input or environment changed,
nondeterminism, external resource, kernel death, timeout, missing module or file, or unknown.

exit codes: 0 every notebook reproduced; 1 at least one did not (mismatch, error, kernel death,
timeout, nondeterminism); 2 usage or input error."""


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        help="re-execute notebooks and check that they reproduce their outputs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or directories")
    add_parameter_options(parser)
    execution = parser.add_argument_group("execution")
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
        "--runs",
        type=positive_int,
        default=1,
        metavar="N",
        help="execute N times; cells whose outputs differ between runs are "
        "reported as nondeterministic",
    )
    execution.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="verify N notebooks in parallel (separate kernels)",
    )
    comp = parser.add_argument_group("comparison")
    comp.add_argument(
        "--against",
        type=Path,
        metavar="NOTEBOOK",
        help="compare with another executed copy instead of the stored outputs",
    )
    comp.add_argument(
        "--sanitize",
        action="append",
        default=[],
        metavar="FILE",
        help="nbval-style sanitize file (regex:/replace: pairs)",
    )
    comp.add_argument(
        "--rtol",
        type=tolerance,
        default=0.0,
        help="relative tolerance for numbers in text outputs",
    )
    comp.add_argument(
        "--atol",
        type=tolerance,
        default=0.0,
        help="absolute tolerance for numbers in text outputs",
    )
    comp.add_argument(
        "--image-tolerance",
        type=tolerance,
        default=0.0,
        metavar="FRACTION",
        help="allowed fraction of differing pixels in images (default: exact)",
    )
    comp.add_argument("--ignore-stderr", action="store_true", help="do not compare stderr")
    comp.add_argument(
        "--lax",
        action="store_true",
        help="compare only cells marked NBVAL_CHECK_OUTPUT (nbval's lax mode); "
        "other cells must still run without error",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="report format on stdout (default: text)",
    )
    out.add_argument("--junit-xml", type=Path, metavar="PATH", help="also write a JUnit XML report")
    out.add_argument(
        "--output", type=Path, metavar="DIR", help="keep the executed notebooks in DIR"
    )
    out.add_argument(
        "--events",
        type=Path,
        metavar="PATH",
        help="write progress events as JSON lines (one per cell and notebook)",
    )
    out.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar; report only notebooks that did not reproduce",
    )
    out.add_argument(
        "-v", "--verbose", action="store_true", help="list every cell in the text report"
    )
    out.add_argument(
        "--suggest",
        action="store_true",
        help="add mechanical remedies for the causes found: a cell order, a seed line, "
        "a pinned requirements file or conda environment from the recorded environment",
    )
    parser.set_defaults(func=run)


class ProgressBar:
    """A one-line per-cell progress bar on a terminal (stderr)."""

    WIDTH = 24

    def __init__(self, stream: IO[str], runs: int) -> None:
        self.stream = stream
        self.runs = runs
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.shown = False

    def __call__(self, event: dict[str, Any]) -> None:
        name = str(event.get("notebook"))
        kind = event.get("event")
        if kind == "notebook-started":
            self.totals[name] = int(event.get("cells", 0)) * self.runs
            self.done[name] = 0
        elif kind == "cell-finished":
            self.done[name] = self.done.get(name, 0) + 1
        elif kind == "notebook-finished":
            self.clear()
            return
        total = max(self.totals.get(name, 0), 1)
        done = min(self.done.get(name, 0), total)
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        label = name if len(name) <= 40 else "..." + name[-37:]
        extra = ""
        if kind == "cell-started":
            extra = f" {cell_label(int(event.get('index', 0)))}"
        self.stream.write(f"\r\x1b[2K{label} [{bar}] {done}/{total}{extra}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the bar."""
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False


class EventWriter:
    """Append events as JSON lines, flushed per line (the server's job runner tails the file)."""

    def __init__(self, path: Path) -> None:
        from ..errors import InputError

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--events {path}: cannot write: {exc.strerror or exc}") from None

    def __call__(self, event: dict[str, Any]) -> None:
        self.fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.fh.flush()

    def close(self) -> None:
        """Close the file."""
        self.fh.close()


def build_options(args: argparse.Namespace) -> Any:
    """The :class:`nbrepro.verify.VerifyOptions` for parsed arguments."""
    from ..compare import CompareOptions, load_sanitizers
    from ..verify import VerifyOptions

    parameters = parameters_from_args(args)
    sanitizers: tuple[Any, ...] = ()
    for path in args.sanitize:
        sanitizers += tuple(load_sanitizers(path))
    compare = CompareOptions(
        rtol=args.rtol,
        atol=args.atol,
        image_tolerance=args.image_tolerance,
        ignore_stderr=args.ignore_stderr,
        sanitizers=sanitizers,
    )
    return VerifyOptions(
        parameters=parameters,
        kernel=args.kernel,
        cwd=args.cwd,
        against=args.against,
        runs=args.runs,
        timeout=args.timeout,
        notebook_timeout=args.notebook_timeout,
        compare=compare,
        output_dir=args.output,
        lax=args.lax,
        suggest=args.suggest,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``nbrepro verify``; return the exit code."""
    from ..errors import InputError
    from ..notebook_io import atomic_write_text
    from ..report.json_report import render_json
    from ..report.junit import render_junit
    from ..report.text import render_text
    from ..verify import verify_paths

    options = build_options(args)
    if args.junit_xml:
        _check_writable(args.junit_xml, "--junit-xml")
    listeners: list[Any] = []
    writer = EventWriter(args.events) if args.events else None
    if writer is not None:
        listeners.append(writer)
    bar = None
    if not args.quiet and sys.stderr.isatty():
        bar = ProgressBar(sys.stderr, options.runs)
        listeners.append(bar)

    def on_event(event: dict[str, Any]) -> None:
        for listener in listeners:
            listener(event)

    try:
        report = verify_paths(args.paths, options, jobs=args.jobs, on_event=on_event)
    finally:
        if bar is not None:
            bar.clear()
        if writer is not None:
            writer.close()
    if args.format == "json":
        sys.stdout.write(render_json(report))
    else:
        text = render_text(report, verbose=args.verbose, only_failing=args.quiet)
        sys.stdout.write(text)
    if args.junit_xml:
        try:
            atomic_write_text(args.junit_xml, render_junit(report))
        except OSError as exc:
            raise InputError(
                f"--junit-xml {args.junit_xml}: cannot write: {exc.strerror or exc}"
            ) from None
    return int(report.exit_code)


def _check_writable(path: Path, option: str) -> None:
    """Fail before anything runs when a report file cannot be written at ``path``."""
    from ..errors import InputError
    from ..verify import ensure_folder

    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory")
    ensure_folder(path.parent, option)
