"""How text for people names a cell: ``cell N``, counting every cell of the notebook from 1.

Markdown and raw cells count too, so ``cell 4`` is the cell JupyterLab's status bar calls
"Cell 4" and the one ``nbrepro check`` calls ``cell 4``. Machine formats (JSON reports, events,
``run.json``, the REST API) keep 0-based ``index`` fields; only text meant to be read goes
through here.
"""

from __future__ import annotations


def cell_number(index: int) -> int:
    """The 1-based number people see for the cell at 0-based ``index``."""
    return index + 1


def cell_label(index: int, cell_id: str | None = None) -> str:
    """``cell 4`` for the cell at 0-based ``index 3``; ``cell 4 (id load)`` with its id."""
    label = f"cell {cell_number(index)}"
    return f"{label} (id {cell_id})" if cell_id else label


def cell_numbers(indices: list[int]) -> str:
    """``2, 3, 5`` for 0-based ``indices`` ``[1, 2, 4]``."""
    return ", ".join(str(cell_number(i)) for i in indices)
