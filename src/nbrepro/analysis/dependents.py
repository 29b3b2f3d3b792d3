"""Which cells read names that other cells define: the notebook's dataflow graph.

Read as a top-to-bottom run executes it: a cell depends on the latest cell above it that binds
a name it reads (immediately or in a function body it defines), and on a cell below it only
when no cell above binds the name (a name defined below, as the saved session ran it). The
side panel flags the dependents of a cell that changed (edited, stale, changed input) and
re-runs them in notebook order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..notebook_io import kernel_language
from .cells import CodeCell, code_cells, is_python
from .dataflow import notebook_facts
from .scope import CellFacts


def cell_dependencies(
    cells: Sequence[CodeCell], facts: Sequence[CellFacts]
) -> dict[str, dict[str, list[str]]]:
    """For each code cell with an id, the cells it reads names from: ``{cell id: {provider id:
    [names]}}``, providers and names in first-read order. Cells without a dependency are left
    out; so are cells without an id (nothing can point at them)."""
    latest: dict[str, int] = {}
    definers: dict[str, list[int]] = {}
    for pos, cell_facts in enumerate(facts):
        for name in cell_facts.defs:
            definers.setdefault(name, []).append(pos)
    result: dict[str, dict[str, list[str]]] = {}
    for pos, (cell, cell_facts) in enumerate(zip(cells, facts, strict=True)):
        providers: dict[str, list[str]] = {}
        for use in [*cell_facts.uses, *cell_facts.deferred_uses]:
            name = use.name
            provider = latest.get(name)
            if provider is None:
                below = [p for p in definers.get(name, ()) if p != pos]
                provider = below[0] if below else None
            if provider is None or provider == pos:
                continue
            provider_id = cells[provider].id
            if provider_id is None:
                continue
            names = providers.setdefault(provider_id, [])
            if name not in names:
                names.append(name)
        if providers and cell.id is not None:
            result[cell.id] = providers
        for name in cell_facts.defs:
            latest[name] = pos
    return result


def dependencies(nb: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """:func:`cell_dependencies` of a notebook dict; empty for notebooks in other languages
    than Python (their dataflow is not analysed)."""
    notebook = dict(nb)
    if not is_python(kernel_language(notebook)):
        return {}
    cells = code_cells(notebook)
    return cell_dependencies(cells, notebook_facts(cells))


def dependents_of(
    graph: Mapping[str, Mapping[str, Sequence[str]]], changed: Sequence[str]
) -> dict[str, str]:
    """Cells that depend, directly or through other cells, on one of ``changed``: ``{dependent
    id: id of the changed cell it depends on}`` (the first one found, breadth first)."""
    readers: dict[str, list[str]] = {}
    for reader, providers in graph.items():
        for provider in providers:
            readers.setdefault(provider, []).append(reader)
    found: dict[str, str] = {}
    for origin in changed:
        queue = [origin]
        while queue:
            current = queue.pop(0)
            for reader in readers.get(current, ()):
                if reader in found or reader in changed:
                    continue
                found[reader] = origin
                queue.append(reader)
    return found
