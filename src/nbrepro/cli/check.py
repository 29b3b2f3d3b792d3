"""``nbrepro check``: the kernel-free static check of saved notebooks (pre-commit and CI).

Only argparse is imported at module level; the analysis is imported when the command runs, and
nothing on this path imports nbformat, jupyter_server or tornado. Text and GitHub output pass
paths, cell ids and messages through :func:`nbrepro.textsafe.printable` (a notebook may name
its cells with escape sequences); an unreadable or structurally invalid notebook is one
``nbrepro: error:`` line and exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..analysis import Finding, OrderSuggestion

FORMATS = ("text", "json", "github")


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="statically check notebooks for out-of-order execution and hidden state",
        description=(
            "Check saved notebooks without a kernel: execution order, names used before or "
            "without a definition, outputs from older code. Exit 0 when clean, 1 when there "
            "are findings, 2 on bad input. Settings come from [tool.nbrepro] / "
            "[tool.nbrepro.check] in the nearest pyproject.toml; flags win."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or directories")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="RULE,...",
        help="only these rules (ids like NBR101, prefixes like NBR2, names, or ALL)",
    )
    parser.add_argument("--ignore", action="append", metavar="RULE,...", help="skip these rules")
    parser.add_argument(
        "--suggest-order",
        action="store_true",
        help="print a cell order consistent with the dataflow (or why none exists)",
    )
    parser.set_defaults(func=run)


class _Result:
    """One notebook's outcome."""

    __slots__ = ("error", "findings", "path", "suggestion")

    def __init__(self, path: str) -> None:
        self.path = path
        self.error: str | None = None
        self.findings: list[Finding] = []
        self.suggestion: OrderSuggestion | None = None


def _string_list(value: Any, key: str, source: str) -> list[str]:
    from ..errors import InputError

    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise InputError(f"{source}: `{key}` must be a list of strings")


def _excluded(path: Path, patterns: Sequence[str], root: Path | None) -> bool:
    """Whether ``path`` matches an exclude glob (against its path from ``root``, or a parent)."""
    if not patterns:
        return False
    from fnmatch import fnmatch

    resolved = path.resolve()
    try:
        rel = resolved.relative_to(root).as_posix() if root else path.as_posix()
    except ValueError:
        rel = resolved.as_posix()
    parts = rel.split("/")
    candidates = {rel, path.name}
    candidates.update("/".join(parts[:k]) for k in range(1, len(parts)))
    candidates.update(parts)
    return any(
        fnmatch(candidate, pattern.rstrip("/")) for pattern in patterns for candidate in candidates
    )


def _flatten(values: Iterable[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def run(args: argparse.Namespace) -> int:
    """Check every notebook named by ``args.paths``; return the exit code."""
    import sys

    from ..analysis import analyze, select_rules, suggest_order
    from ..config import find_config
    from ..errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, InputError, NbreproError, UsageError
    from ..notebook_io import iter_notebook_paths, read_notebook

    config = find_config()
    source = str(config.path) if config.path else "configuration"
    settings = config.section("check")
    config_select = (
        _string_list(settings["select"], "select", source) if "select" in settings else None
    )
    config_ignore = _string_list(settings.get("ignore", []), "ignore", source)
    exclude = _string_list(settings.get("exclude", []), "exclude", source)
    known_names = _string_list(settings.get("builtins", []), "builtins", source)
    try:
        select_rules(config_select, config_ignore)
    except UsageError as exc:
        raise InputError(f"{source}: {exc}") from None
    cli_select, cli_ignore = _flatten(args.select), _flatten(args.ignore)
    active = select_rules(
        cli_select if cli_select is not None else config_select,
        cli_ignore if cli_ignore is not None else config_ignore,
    )

    results: list[_Result] = []
    seen: set[Path] = set()
    for raw in args.paths:
        try:
            paths = list(iter_notebook_paths([raw]))
        except NbreproError as exc:
            result = _Result(str(raw))
            result.error = str(exc)
            results.append(result)
            continue
        for path in paths:
            key = path.resolve()
            if key in seen or _excluded(path, exclude, config.root):
                continue
            seen.add(key)
            result = _Result(str(path))
            results.append(result)
            try:
                nb = read_notebook(path)
            except NbreproError as exc:
                result.error = str(exc)
                continue
            result.findings = analyze(nb, select=active, known_names=known_names)
            if args.suggest_order:
                result.suggestion = suggest_order(nb)

    from ..textsafe import printable

    errors = [r for r in results if r.error]
    for result in errors:
        print(f"nbrepro: error: {printable(result.error)}", file=sys.stderr)
    if args.format == "json":
        _print_json(results, args.suggest_order)
    elif args.format == "github":
        _print_github(results)
    else:
        _print_text(results)
    if not results:
        print("nbrepro: warning: no notebooks found", file=sys.stderr)
    if errors:
        return EXIT_USAGE
    return EXIT_FAILED if any(r.findings for r in results) else EXIT_OK


def _location(finding: Finding) -> str:
    cell = f"cell {finding.cell_index + 1}"
    if finding.cell_id:
        cell += f" [{finding.cell_id}]"
    if finding.line is not None:
        cell += f":{finding.line}:{finding.column or 1}"
    return cell


def _suggestion_lines(suggestion: OrderSuggestion) -> list[str]:
    if suggestion.order is None:
        return [f"no suggested order: {suggestion.reason}"]
    if not suggestion.changed:
        return ["the cell order is already consistent with the dataflow"]
    numbers = ", ".join(str(i + 1) for i in suggestion.order)
    lines = [f"suggested cell order (cells numbered from 1): {numbers}"]
    lines += [f"  {move.description}" for move in suggestion.moves]
    return lines


def _summary(results: Sequence[_Result]) -> str:
    checked = [r for r in results if not r.error]
    failed = len(results) - len(checked)
    unreadable = f" {failed} input{'s' if failed != 1 else ''} could not be read." if failed else ""
    findings = [f for r in checked for f in r.findings]
    plural = "" if len(checked) == 1 else "s"
    if not findings:
        if failed:
            return f"No findings in {len(checked)} notebook{plural}.{unreadable}"
        return f"All checks passed ({len(checked)} notebook{plural})."
    counts = []
    for severity in ("error", "warning", "info"):
        n = sum(f.severity == severity for f in findings)
        if n:
            counts.append(f"{n} {severity}{'' if n == 1 or severity == 'info' else 's'}")
    with_findings = sum(bool(r.findings) for r in checked)
    return (
        f"Found {len(findings)} finding{'' if len(findings) == 1 else 's'} "
        f"({', '.join(counts)}) in {with_findings} of {len(checked)} notebook{plural}."
        f"{unreadable}"
    )


def _print_text(results: Sequence[_Result]) -> None:
    from ..textsafe import printable

    out: list[str] = []
    for result in results:
        for finding in result.findings:
            out.append(f"{result.path}:{_location(finding)}: {finding.rule} {finding.message}")
            out.append(f"    fix: {finding.fix}")
        if result.suggestion is not None:
            out += [f"{result.path}: {line}" for line in _suggestion_lines(result.suggestion)]
    if results:
        out.append(_summary(results))
    if out:
        print("\n".join(printable(line) for line in out))


def _print_json(results: Sequence[_Result], with_suggestion: bool) -> None:
    import json

    payload = []
    for result in results:
        entry: dict[str, Any] = {
            "path": result.path,
            "error": result.error,
            "findings": [finding.to_dict() for finding in result.findings],
        }
        if with_suggestion:
            entry["suggested_order"] = (
                result.suggestion.to_dict() if result.suggestion is not None else None
            )
        payload.append(entry)
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def _escape_data(text: str) -> str:
    """A workflow command's data: ``%``, CR and LF encoded as GitHub decodes them; every other
    control or bidi character escaped on its line (:func:`nbrepro.textsafe.printable_lines`)."""
    from ..textsafe import printable_lines

    safe = printable_lines(text).replace("\t", "\\t")
    return safe.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    from ..textsafe import printable

    return _escape_data(printable(text)).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _print_github(results: Sequence[_Result]) -> None:
    out: list[str] = []
    for result in results:
        file = _escape_property(result.path)
        if result.error:
            out.append(f"::error file={file},title=nbrepro::{_escape_data(result.error)}")
        for finding in result.findings:
            level = _GITHUB_LEVEL.get(finding.severity, "warning")
            title = _escape_property(f"{finding.rule} {finding.name}")
            text = f"{_location(finding)}: {finding.message}. Fix: {finding.fix}"
            out.append(f"::{level} file={file},title={title}::{_escape_data(text)}")
        if result.suggestion is not None:
            text = "\n".join(_suggestion_lines(result.suggestion))
            out.append(f"::notice file={file},title=nbrepro suggested order::{_escape_data(text)}")
    if results:
        out.append(_summary(results))
    if out:
        print("\n".join(out))
