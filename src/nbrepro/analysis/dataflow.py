"""Dataflow rules (NBR2xx) for Python notebooks: names used before, or without, a definition.

The notebook is read as a top-to-bottom run would execute it. A cell that may bind names nobody
can see (``from m import *``, ``%run``, ``exec``...) silences the rules for every cell after it
(and the undefined-name rule everywhere), because a false alarm costs more than a miss.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

from .cells import CodeCell
from .findings import Finding, make_finding
from .scope import CellFacts, Use, cell_facts

#: Names some notebook platforms predefine, keyed by a notebook metadata key prefix.
PLATFORM_NAMES = {
    "application/vnd.databricks": frozenset(
        {"spark", "sc", "sqlContext", "dbutils", "display", "displayHTML", "table", "sql", "udf"}
    ),
}
_FACTS_CACHE_SIZE = 16384


@lru_cache(maxsize=_FACTS_CACHE_SIZE)
def facts_for_source(source: str) -> CellFacts:
    """:func:`~nbrepro.analysis.scope.cell_facts`, cached by source (results are read-only)."""
    return cell_facts(source)


def clear_cache() -> None:
    """Forget cached per-cell analyses (benchmarks measure cold runs with it)."""
    facts_for_source.cache_clear()


def notebook_facts(cells: Sequence[CodeCell]) -> list[CellFacts]:
    """The facts of each code cell, in order."""
    return [facts_for_source(cell.source) for cell in cells]


def _not_found_hint(deleted_runs: Sequence[int]) -> str:
    if deleted_runs:
        runs = ", ".join(f"In [{count}]" for count in deleted_runs[:3])
        more = "..." if len(deleted_runs) > 3 else ""
        return (
            f"; recorded provenance shows cells deleted since ran ({runs}{more}), "
            "one of them probably defined it"
        )
    return " (hidden state: perhaps a cell that was deleted or edited)"


def _ran_first(user: CodeCell, provider: CodeCell) -> str:
    if user.count is not None and provider.count is not None and provider.count < user.count:
        return (
            f"; it worked in the saved session only because {provider.label()} ran first "
            f"(In [{provider.count}] before In [{user.count}])"
        )
    return ""


def dataflow_findings(
    cells: Sequence[CodeCell],
    facts: Sequence[CellFacts],
    active: Collection[str],
    *,
    known_names: Collection[str] = (),
    deleted_runs: Sequence[int] = (),
) -> list[Finding]:
    """NBR201 defined-below, NBR202 undefined-name and NBR203 used-after-del findings.

    ``known_names`` are extra names that always exist (configured builtins, platform names);
    ``deleted_runs`` are execution counts of cells deleted since, from recorded provenance.
    """
    definers: dict[str, list[int]] = {}
    for pos, cell_facts_ in enumerate(facts):
        for name in cell_facts_.defs:
            definers.setdefault(name, []).append(pos)
    opaque = [pos for pos, f in enumerate(facts) if f.opaque]
    any_opaque = bool(opaque)
    findings: list[Finding] = []
    available: set[str] = set()
    deleted: dict[str, tuple[int, int]] = {}  # name -> (position of the deleting cell, line)
    last_opaque = -1
    for pos, (cell, f) in enumerate(zip(cells, facts, strict=True)):
        reported: set[str] = set()
        for use in f.uses:
            name = use.name
            if (
                name in available
                or name in reported
                or use.guarded
                or name in known_names
                or name in f.guarded_names
            ):
                continue
            finding = None
            if name in deleted and deleted[name][0] > last_opaque:
                finding = _used_after_del(cell, cells, use.line, use.column, name, deleted[name])
            elif last_opaque >= 0 or f.opaque:
                continue
            elif name in definers:
                finding = _defined_below(cell, cells, definers[name], pos, use, name)
            elif not any_opaque:
                finding = _undefined(cell, use.line, use.column, name, deleted_runs, False)
            if finding is not None and finding.rule in active:
                findings.append(finding)
                reported.add(name)
        if "NBR202" in active and not any_opaque:
            for use in f.deferred_uses:
                name = use.name
                if name in definers or name in known_names or name in reported:
                    continue
                if name in f.guarded_names:
                    continue
                findings.append(_undefined(cell, use.line, use.column, name, deleted_runs, True))
                reported.add(name)
        available.update(f.defs)
        for name in f.defs:
            deleted.pop(name, None)
        for name, (line, _col) in f.kills.items():
            available.discard(name)
            deleted[name] = (pos, line)
        if f.opaque:
            last_opaque = pos
    return findings


def _defined_below(
    cell: CodeCell,
    cells: Sequence[CodeCell],
    positions: Iterable[int],
    pos: int,
    use: Use,
    name: str,
) -> Finding | None:
    line, column = use.line, use.column
    below = [p for p in positions if p > pos]
    if use.bound_later and not below:
        return make_finding(
            "NBR201",
            cell.index,
            cell.id,
            f"`{name}` is used before this cell defines it and no cell above defines it: "
            f"a top-to-bottom run raises NameError here",
            f"Define `{name}` before this line (in this cell or a cell above).",
            line=line,
            column=column + 1,
        )
    if not below:
        return None
    provider = cells[below[0]]
    return make_finding(
        "NBR201",
        cell.index,
        cell.id,
        f"`{name}` is used before any cell above defines it; {provider.label()} below defines "
        f"it, so a top-to-bottom run raises NameError here{_ran_first(cell, provider)}",
        f"Move {provider.label()} above {cell.label()} (see `nbrepro check --suggest-order`), "
        f"or define `{name}` in or above this cell.",
        line=line,
        column=column + 1,
        related_cells=[provider.index],
    )


def _undefined(
    cell: CodeCell,
    line: int,
    column: int,
    name: str,
    deleted_runs: Sequence[int],
    deferred: bool,
) -> Finding:
    where = "in a function body, " if deferred else ""
    return make_finding(
        "NBR202",
        cell.index,
        cell.id,
        f"`{name}` is used {where}but no cell of the notebook defines it"
        f"{_not_found_hint(deleted_runs)}",
        f"Define `{name}` in a cell above (or restore the cell that defined it), then restart "
        "the kernel and run all cells.",
        line=line,
        column=column + 1,
    )


def _used_after_del(
    cell: CodeCell,
    cells: Sequence[CodeCell],
    line: int,
    column: int,
    name: str,
    deleted_at: tuple[int, int],
) -> Finding:
    deleter = cells[deleted_at[0]]
    where = "this cell" if deleter.index == cell.index else deleter.label()
    return make_finding(
        "NBR203",
        cell.index,
        cell.id,
        f"`{name}` is used after {where} deleted it (`del {name}`, line {deleted_at[1]}) and "
        "no cell in between defines it again: a top-to-bottom run raises NameError here",
        f"Remove `del {name}` from {where}, or define `{name}` again before this use.",
        line=line,
        column=column + 1,
        related_cells=[] if deleter.index == cell.index else [deleter.index],
    )
