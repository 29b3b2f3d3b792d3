"""Per-cell verification policy from cell tags and nbval's comment markers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CHECK_TAGS", "IGNORE_TAGS", "RAISES_TAGS", "SKIP_TAGS", "CellPolicy", "cell_policy"]

#: Tags that mean "do not execute this cell".
SKIP_TAGS = frozenset({"skip-execution", "nbval-skip", "nbrepro-skip"})
#: Tags that mean "an error output is expected".
RAISES_TAGS = frozenset({"raises-exception", "nbval-raises-exception", "nbrepro-raises-exception"})
#: Tags that mean "execute but do not compare the outputs".
IGNORE_TAGS = frozenset(
    {"nbval-ignore-output", "nbrepro-ignore-output", "pytest-validate-ignore-output"}
)
#: Tags that mean "compare the outputs even if a global option says not to".
CHECK_TAGS = frozenset({"nbval-check-output", "nbrepro-check-output"})

# nbval's comment markers: a whole-line comment `# MARKER` anywhere in the source.
_SKIP_MARKERS = frozenset({"NBVAL_SKIP"})
_RAISES_MARKERS = frozenset({"NBVAL_RAISES_EXCEPTION"})
_IGNORE_MARKERS = frozenset({"NBVAL_IGNORE_OUTPUT", "PYTEST_VALIDATE_IGNORE_OUTPUT"})
_CHECK_MARKERS = frozenset({"NBVAL_CHECK_OUTPUT"})


@dataclass(frozen=True)
class CellPolicy:
    """What ``verify`` does with one code cell.

    ``skip``: do not execute. ``ignore_output``: execute, do not compare. ``raises_exception``:
    an error output is expected (execution continues after it). ``check_output``: compare even
    if a global option says not to. ``ignore_output`` and ``check_output`` are never both true.
    """

    skip: bool = False
    ignore_output: bool = False
    raises_exception: bool = False
    check_output: bool = False


def _comment_markers(source: str) -> list[str]:
    markers = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            markers.append(stripped.lstrip("#").strip())
    return markers


def _tags(cell: dict[str, Any]) -> list[str]:
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    if not isinstance(tags, list):
        return []
    return [tag for tag in tags if isinstance(tag, str)]


def cell_policy(cell: dict[str, Any]) -> CellPolicy:
    """The policy of ``cell`` from its ``metadata.tags`` and nbval comment markers.

    Markers are whole-line comments in the source (``# NBVAL_SKIP``), matched exactly as nbval
    does. Tags: ``skip-execution`` (nbclient), ``raises-exception`` (nbclient), ``nbval-*`` and
    ``nbrepro-*`` (``-skip``, ``-ignore-output``, ``-raises-exception``, ``-check-output``).
    When ignore and check conflict, the last one wins and comment markers override tags — nbval's
    precedence. Markdown and raw cells get the default policy.
    """
    if cell.get("cell_type", "code") != "code":
        return CellPolicy()
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    skip = raises = False
    check: bool | None = None
    for tag in _tags(cell):
        skip = skip or tag in SKIP_TAGS
        raises = raises or tag in RAISES_TAGS
        if tag in IGNORE_TAGS:
            check = False
        elif tag in CHECK_TAGS:
            check = True
    for marker in _comment_markers(source if isinstance(source, str) else ""):
        skip = skip or marker in _SKIP_MARKERS
        raises = raises or marker in _RAISES_MARKERS
        if marker in _IGNORE_MARKERS:
            check = False
        elif marker in _CHECK_MARKERS:
            check = True
    return CellPolicy(
        skip=skip,
        ignore_output=check is False,
        raises_exception=raises,
        check_output=check is True,
    )
