"""A cell order consistent with the dataflow that keeps the author's order wherever it can.

Each cell that reads a name depends on the cell that provides it: the nearest definer above, or,
when none is above, the first definer below that does not itself need the name. A cell that
reads a name must also stay above later cells that redefine it. Among all orders that respect
these dependencies, the one chosen is the closest to the author's: at each step the cell that
comes first in the notebook among those whose dependencies are met (a lexicographically smallest
topological order). Markdown and raw cells travel with the code cell that follows them; those
before the first code cell stay on top. A dependency cycle means no order works; the reason names
the cells and the names involved.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..notebook_io import kernel_language
from .cells import CodeCell, code_cells, is_python
from .dataflow import notebook_facts
from .scope import CellFacts


@dataclass(frozen=True)
class Move:
    """Move one code cell up, above another cell, because of the names it provides."""

    cell_index: int
    cell_id: str | None
    before_index: int
    before_id: str | None
    names: tuple[str, ...]

    @property
    def description(self) -> str:
        """``move cell 7 above cell 3 (it defines `x`)``."""
        names = ", ".join(f"`{n}`" for n in self.names)
        why = f" (it defines {names}, used there)" if names else ""
        return f"move cell {self.cell_index + 1} above cell {self.before_index + 1}{why}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with stable keys."""
        return {
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "before_index": self.before_index,
            "before_id": self.before_id,
            "names": list(self.names),
            "description": self.description,
        }


@dataclass(frozen=True)
class OrderSuggestion:
    """The suggested order (cell indices, 0-based), or why none is given."""

    order: list[int] | None
    reason: str | None = None
    moves: list[Move] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the suggested order differs from the notebook's."""
        return self.order is not None and self.order != sorted(self.order)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with stable keys."""
        return {
            "order": self.order,
            "reason": self.reason,
            "moves": [move.to_dict() for move in self.moves],
        }


def _dependencies(
    facts: Sequence[CellFacts],
) -> dict[tuple[int, int], list[str]]:
    """Edges ``(before, after)`` between code-cell positions, labelled with the names."""
    definers: dict[str, list[int]] = {}
    for pos, f in enumerate(facts):
        for name in f.defs:
            definers.setdefault(name, []).append(pos)
    needs = [
        {u.name for u in f.uses if not u.guarded and u.name not in f.guarded_names} for f in facts
    ]
    edges: dict[tuple[int, int], list[str]] = {}
    for pos, names in enumerate(needs):
        for name in sorted(names):
            others = [p for p in definers.get(name, ()) if p != pos]
            above = [p for p in others if p < pos]
            below = [p for p in others if p > pos]
            if above:
                provider = above[-1]
            else:
                valid = [p for p in below if name not in needs[p]]
                if not valid:
                    continue  # no cell can provide it first: not something an order fixes
                provider = valid[0]
            edges.setdefault((provider, pos), []).append(name)
            for later in below:
                if later != provider:
                    edges.setdefault((pos, later), []).append(name)
    return edges


def _find_cycle(remaining: set[int], successors: dict[int, list[int]]) -> list[int]:
    """A cycle among ``remaining`` positions (each has a predecessor there)."""
    predecessors: dict[int, int] = {}
    for node in sorted(remaining):
        for succ in successors.get(node, ()):
            if succ in remaining:
                predecessors.setdefault(succ, node)
    node = min(remaining)
    seen: list[int] = []
    while node not in seen:
        seen.append(node)
        node = predecessors[node]
    cycle = seen[seen.index(node) :]
    cycle.reverse()
    return cycle


def _cycle_reason(
    cycle: list[int], cells: Sequence[CodeCell], edges: dict[tuple[int, int], list[str]]
) -> str:
    parts = []
    for k, before in enumerate(cycle):
        after = cycle[(k + 1) % len(cycle)]
        names = ", ".join(f"`{n}`" for n in edges[(before, after)])
        parts.append(f"{cells[after].label()} needs {names} from {cells[before].label()}")
    labels = " and ".join(cells[p].label() for p in sorted(cycle))
    return (
        f"no order runs top to bottom: {labels} depend on each other ({'; '.join(parts)}); "
        "split a cell or rename a variable to break the cycle"
    )


def suggest_order(nb: dict[str, Any]) -> OrderSuggestion:
    """Suggest a cell order consistent with the dataflow; see the module docstring."""
    language = kernel_language(nb)
    n_cells = len(nb.get("cells") or [])
    if not is_python(language):
        return OrderSuggestion(
            None, f"the dataflow analysis covers Python notebooks only (language: {language})"
        )
    cells = code_cells(nb)
    facts = notebook_facts(cells)
    edges = _dependencies(facts)
    successors: dict[int, list[int]] = {}
    indegree = [0] * len(cells)
    for before, after in edges:
        successors.setdefault(before, []).append(after)
        indegree[after] += 1
    ready = [pos for pos in range(len(cells)) if indegree[pos] == 0]
    heapq.heapify(ready)
    placed: list[int] = []
    while ready:
        pos = heapq.heappop(ready)
        placed.append(pos)
        for succ in successors.get(pos, ()):
            indegree[succ] -= 1
            if indegree[succ] == 0:
                heapq.heappush(ready, succ)
    if len(placed) < len(cells):
        cycle = _find_cycle(set(range(len(cells))) - set(placed), successors)
        return OrderSuggestion(None, _cycle_reason(cycle, cells, edges))

    moves = []
    unplaced = set(range(len(cells)))
    for pos in placed:
        first = min(unplaced)
        unplaced.discard(pos)
        if first < pos:
            names = sorted(
                {
                    name
                    for (before, after), labels in edges.items()
                    if before == pos and after in unplaced
                    for name in labels
                }
            )
            moves.append(
                Move(cells[pos].index, cells[pos].id, cells[first].index, cells[first].id,
                     tuple(names))
            )  # fmt: skip
    return OrderSuggestion(_full_order(placed, cells, n_cells), None, moves)


def _full_order(placed: list[int], cells: Sequence[CodeCell], n_cells: int) -> list[int]:
    """Expand an order of code cells to all cells: other cells travel with the next code cell."""
    if not cells:
        return list(range(n_cells))
    groups: list[list[int]] = []
    start = 0
    for cell in cells:
        groups.append(list(range(start, cell.index + 1)))
        start = cell.index + 1
    head = [i for i in groups[0] if i != cells[0].index]
    groups[0] = [cells[0].index]
    tail = list(range(start, n_cells))
    order = list(head)
    for pos in placed:
        order.extend(groups[pos])
    return order + tail
