"""Plain-text rendering of a verify report: what a person reads in a terminal or a CI log.

Every line passes through :func:`nbrepro.textsafe.printable`: paths, cell ids, outputs, diffs
and kernel stderr come from notebooks and kernels, and a control or bidi character in them must
show as ``\\x1b`` or ``\\u202e``, not act on the terminal or split a line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cell_names import cell_label
from ..optionspec import render_mentions
from ..textsafe import printable

if TYPE_CHECKING:
    from ..verify import NotebookReport, VerifyReport

#: Verdict words as shown to people.
VERDICT_WORDS = {
    "reproduced": "reproduced",
    "not-reproduced": "NOT reproduced",
    "could-not-run": "could not run",
}
#: Longest diff shown per cell in the text report (lines); the JSON report has it whole.
MAX_DIFF_LINES = 40


def _indent(text: str, prefix: str) -> list[str]:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({hidden} more lines; see --format json)"]
    return [prefix + line for line in lines]


def render_notebook(
    report: NotebookReport, *, verbose: bool = False, face: str = "cli"
) -> list[str]:
    """Lines describing one notebook: verdict, warnings, and every cell that did not pass."""
    seconds = f"{report.duration:.1f} s"
    head = f"{report.path}: {VERDICT_WORDS.get(report.status, report.status)}"
    details = [report.reason] if report.reason else []
    details.append(seconds)
    if report.kernel:
        details.append(f"kernel {report.kernel}")
    lines = [f"{head} ({'; '.join(details)})"]
    if report.diagnosis:
        lines.append(f"  {report.diagnosis}")
    for warning in report.warnings:
        lines.append(f"  warning: {warning}")
    for cell in report.cells:
        if cell.status in ("ok", "skipped", "ignored") and not verbose:
            continue
        summary = f": {cell.summary}" if cell.summary else ""
        lines.append(f"  {cell_label(cell.index, cell.id)} {cell.status}{summary}")
        if cell.diagnosis is not None:
            for number, cause in enumerate(cell.diagnosis.causes):
                word = "cause" if number == 0 else "also"
                lines.append(f"    {word}: {cause.id}: {cause.summary}")
                if cause.id == "unknown":
                    lines.extend(f"      checked: {line}" for line in cell.diagnosis.checked)
        if cell.status == "nondeterministic" and cell.determinism_diff:
            lines.extend(_indent(cell.determinism_diff, "    "))
        elif cell.diff and cell.status == "mismatch":
            lines.extend(_indent(cell.diff, "    "))
    if report.status == "could-not-run" and report.kernel_stderr.strip():
        lines.append("  kernel stderr:")
        lines.extend(_indent(report.kernel_stderr, "    "))
    for remedy in report.remedies:
        lines.append(f"  suggest ({remedy['kind']}): {remedy['message']}")
        if remedy.get("code"):
            lines.extend(_indent(str(remedy["code"]), "    "))
    if report.output_path:
        lines.append(f"  executed notebook kept at {report.output_path}")
    return [printable(render_mentions(line, face), tabs=True) for line in lines]


def render_text(report: VerifyReport, *, verbose: bool = False, only_failing: bool = False) -> str:
    """The whole text report, ending with a one-line summary (every line printable).

    ``verbose`` lists every cell; ``only_failing`` leaves out notebooks that reproduced.
    """
    lines: list[str] = []
    for notebook in report.notebooks:
        if only_failing and notebook.reproducible:
            continue
        lines.extend(render_notebook(notebook, verbose=verbose))
    counts = report.summary()
    total = len(report.notebooks)
    lines.append(
        f"{counts['reproduced']} of {total} notebook{'s' if total != 1 else ''} reproduced"
        f" ({counts['not-reproduced']} not reproduced, {counts['could-not-run']} could not run)"
        f" in {report.duration:.1f} s"
    )
    return "\n".join(lines) + "\n"
