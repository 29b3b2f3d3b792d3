"""The code cells of a notebook dict, as the rules need them (index, id, source, count)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..notebook_io import cell_source


@dataclass(frozen=True, slots=True)
class CodeCell:
    """A code cell with its position in the notebook (0-based ``index``) and its run state."""

    index: int
    id: str | None
    source: str
    #: The saved execution count (``None`` when the cell has none or an invalid one).
    count: int | None
    has_outputs: bool
    tags: frozenset[str]

    @property
    def number(self) -> int:
        """The 1-based cell number that messages show."""
        return self.index + 1

    def label(self) -> str:
        """``cell 3`` as messages name it."""
        return f"cell {self.number}"


#: Execution counts at or above this are not counts a kernel made (a hostile file's 2**70).
MAX_COUNT = 2**63


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_COUNT:
        return value
    return None


def code_cells(nb: dict[str, Any]) -> list[CodeCell]:
    """The notebook's code cells in order."""
    out = []
    for index, cell in enumerate(nb.get("cells") or []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_id = cell.get("id")
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        out.append(
            CodeCell(
                index=index,
                id=cell_id if isinstance(cell_id, str) else None,
                source=cell_source(cell),
                count=_count(cell.get("execution_count")),
                has_outputs=bool(cell.get("outputs")),
                tags=frozenset(t for t in tags if isinstance(t, str))
                if isinstance(tags, list)
                else frozenset(),
            )
        )
    return out


def has_code(source: str) -> bool:
    """Whether a cell's source holds anything but blank lines and comments."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return True
    return False


def is_python(language: str) -> bool:
    """Whether a kernel language (``kernel_language(nb)``) is Python/IPython."""
    return language.startswith("python") or language in ("ipython", "py", "ipython3")
