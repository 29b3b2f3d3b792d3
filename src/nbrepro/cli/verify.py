"""``nbrepro verify PATH...``: re-execute notebooks and prove they reproduce their outputs.

Only argparse and the standard library are imported here; the core is imported inside
:func:`run` so that ``nbrepro --help`` stays fast. Reference: ``docs/verify.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from ..cell_names import cell_label
from ..verify.options import VERIFY_OPTIONS
from .options import add_parameter_options, parameters_from_args
from .spec_args import add_spec_arguments, values_from_args

#: The options of VERIFY_OPTIONS listed under "output" (after --format, --junit-xml, ...).
OUTPUT_OPTIONS = ("output", "suggest")

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
    groups = add_spec_arguments(parser, VERIFY_OPTIONS, skip=("output", "suggest"))
    out = parser.add_argument_group("output")
    groups["output"] = out
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="report format on stdout (default: text)",
    )
    out.add_argument("--junit-xml", type=Path, metavar="PATH", help="also write a JUnit XML report")
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
    add_spec_arguments(
        parser,
        VERIFY_OPTIONS,
        skip=[n for n in VERIFY_OPTIONS.names() if n not in OUTPUT_OPTIONS],
        groups=groups,
    )
    parser.set_defaults(func=run)


class ProgressBar:
    """One progress bar on a terminal (stderr) for the whole verification: notebooks done of
    all, and the cells of the notebooks in flight where their kernels report them (local
    kernels; executions on a cluster report whole notebooks)."""

    WIDTH = 24

    def __init__(self, stream: IO[str], runs: int) -> None:
        self.stream = stream
        self.runs = runs
        self.notebooks = 0
        self.finished = 0
        self.failed = 0
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.current: tuple[str, int] | None = None
        self.shown = False

    def __call__(self, event: dict[str, Any]) -> None:
        name = str(event.get("notebook"))
        kind = event.get("event")
        if kind == "batch-started":
            self.notebooks = int(event.get("notebooks", 0))
            return
        if kind == "notebook-started":
            self.totals[name] = int(event.get("cells", 0)) * self.runs
            self.done[name] = 0
        elif kind == "cell-started":
            self.current = (name, int(event.get("index", 0)))
        elif kind == "cell-finished":
            self.done[name] = self.done.get(name, 0) + 1
            if self.current == (name, event.get("index")):
                self.current = None
        elif kind == "notebook-finished":
            self.finished += 1
            self.failed += 0 if event.get("reproducible") else 1
            self.totals.pop(name, None)
            self.done.pop(name, None)
            if self.current is not None and self.current[0] == name:
                self.current = None
            if self.notebooks <= 1 or self.finished >= self.notebooks:
                self.clear()
                return
        self._draw()

    def _draw(self) -> None:
        if self.notebooks > 1:
            in_flight = sum(
                min(self.done[n], t) / t for n, t in self.totals.items() if t
            )  # fractions of the notebooks running now
            fraction = (self.finished + in_flight) / self.notebooks
            text = f"{self.finished}/{self.notebooks} notebooks"
            if self.failed:
                text += f", {self.failed} not reproduced"
        else:
            name = next(iter(self.totals), "")
            total = max(self.totals.get(name, 0), 1)
            done = min(self.done.get(name, 0), total)
            fraction = done / total
            label = name if len(name) <= 40 else "..." + name[-37:]
            text = f"{label} {done}/{total}"
        filled = int(self.WIDTH * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        extra = ""
        if self.current is not None:
            extra = f" {cell_label(self.current[1])}"
            if self.notebooks > 1:
                shown = self.current[0]
                extra += f" of {shown if len(shown) <= 30 else '...' + shown[-27:]}"
        self.stream.write(f"\r\x1b[2K[{bar}] {text}{extra}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the bar."""
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False


def build_options(args: argparse.Namespace) -> Any:
    """The :class:`nbrepro.verify.VerifyOptions` for parsed arguments."""
    from ..verify.options import verify_options_from_values

    values = values_from_args(args, VERIFY_OPTIONS)
    return verify_options_from_values(values, parameters_from_args(args))


def run(args: argparse.Namespace) -> int:
    """Run ``nbrepro verify``; return the exit code."""
    from ..errors import InputError
    from ..notebook_io import atomic_write_text
    from ..report.json_report import render_json
    from ..report.junit import render_junit
    from ..report.text import render_text
    from ..verify import verify_paths
    from ..verify.events import EventWriter

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
        report = verify_paths(args.paths, options, on_event=on_event)
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
    ensure_folder(path.parent, f"{option} {path.parent}")
