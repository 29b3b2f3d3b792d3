"""Cause rules read off the difference itself and the stored execution counts: ``timing``
(only measured times differ), ``ordering`` (the same items in another order) and
``rerun-accumulation`` (a cell that updates a name it reads ran more than once before the
notebook was saved: a gap in the stored execution counts)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass

from ...cell_names import cell_label
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell
from ..registry import Claims, rule

_TIMING_CODE = re.compile(
    r"(?:^|=)\s*%%?(?:time|timeit|prun)\b|\btime\.(?:perf_counter|time|monotonic|process_time)"
    r"(?:_ns)?\(|\btimeit\.|\bdefault_timer\(",
    re.MULTILINE,
)
#: A number with its time unit, if any (IPython picks the unit: 1.2 ms, 980 µs).
_MEASURE = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*(?:ns|µs|us|ms|s|min|h)\b)?")
_TIME_UNIT = re.compile(
    r"\d\s*(?:ns|µs|us|ms|s|sec|secs|seconds?|min|minutes?|h)\b|\belapsed\b|\btook\b|\btime",
    re.IGNORECASE,
)


@rule("timing", statuses={"mismatch"})
def timing(cell: FailingCell) -> Claims:
    """The code measures time, and the differing lines differ only in their numbers."""
    c = cell.code
    expected, actual = cell.differing_lines()
    if c is None or not expected or len(expected) != len(actual):
        return
    found = _TIMING_CODE.search(c.source)
    if found is None:
        return
    same_shape = all(
        _MEASURE.sub("#", a) == _MEASURE.sub("#", b) for a, b in zip(expected, actual, strict=True)
    )
    if not same_shape or not any(_TIME_UNIT.search(line) for line in expected + actual):
        yield "timing: the code measures time, but other text differs too"
        return
    what = found.group(0).strip()
    yield Cause(
        "timing",
        f"prints measured times ({what}), which differ from run to run",
        STRENGTH["output-change"],
        [
            Evidence(
                "static-hint",
                f"{cell_label(c.index)} measures time with {what}",
                {"cell": c.index, "what": what},
            ),
            Evidence(
                "diff",
                f"only the numbers differ: {expected[0].strip()[:60]!r} vs "
                f"{actual[0].strip()[:60]!r}",
                {"expected": expected[:5], "actual": actual[:5]},
            ),
        ],
        remedy="mark the cell NBVAL_IGNORE_OUTPUT (or print no timings)",
    )


_ITEMS = re.compile(r"[\s,{}\[\]()]+")


def _items(lines: list[str]) -> list[str]:
    return sorted(item for line in lines for item in _ITEMS.split(line) if item)


@rule("ordering", statuses={"mismatch"})
def ordering(cell: FailingCell) -> Claims:
    """The differing lines hold the same items (or are the same lines) in another order."""
    expected, actual = cell.differing_lines()
    if not expected or cell.runs_differ:
        return
    hints = cell.code.static.of_kind(["hash-order"]) if cell.code is not None else []
    lines_permuted = Counter(expected) == Counter(actual) and expected != actual
    container = any("{" in line or "[" in line for line in expected + actual)
    items = _items(expected)
    items_permuted = len(items) >= 2 and items == _items(actual) and (container or bool(hints))
    # A slice of a set (list(s)[:3]) shows other items in another order: same shape, and the
    # code takes the set's order.
    sliced = bool(hints) and len(expected) == len(actual) and len(items) == len(_items(actual))
    if not (lines_permuted or items_permuted or sliced):
        return
    what = (
        "lines"
        if lines_permuted
        else f"{len(items)} items"
        if items_permuted
        else "kind of items (a set's order decides which)"
    )
    evidence = [
        Evidence(
            "diff",
            f"the same {what} in another order: {expected[0].strip()[:60]!r} vs "
            f"{actual[0].strip()[:60]!r}",
            {"expected": expected[:5], "actual": actual[:5]},
        )
    ]
    evidence += [Evidence("static-hint", f"line {h.line}: {h.message}", h.to_dict()) for h in hints]
    yield Cause(
        "ordering",
        f"shows the same {what} in another order (a set's or dict's iteration order)",
        STRENGTH["output-change"],
        evidence,
        remedy="sort before showing (sorted(...)), or fix PYTHONHASHSEED",
    )


@dataclass(frozen=True)
class _Accumulator:
    """A cell that updates a name it reads, and ran more often than the counts show."""

    index: int
    name: str
    line: int
    count: int
    previous: int


def _updates(source: str) -> list[tuple[str, int]]:
    """(name, line) for every statement that updates a name from its own value."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            found.append((node.target.id, node.lineno))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and any(
                isinstance(n, ast.Name) and n.id == target.id for n in ast.walk(node.value)
            ):
                found.append((target.id, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend", "insert", "update", "add")
            and isinstance(node.func.value, ast.Name)
        ):
            found.append((node.func.value.id, node.lineno))
    return found


def _accumulators(cell: FailingCell) -> list[_Accumulator]:
    """The code cells above (and including) this one that ran more than once before saving."""
    book = cell.notebook
    cells = book.nb.get("cells", [])
    out: list[_Accumulator] = []
    previous: int | None = None
    for code in book.code:
        count = cells[code.index].get("execution_count") if code.index < len(cells) else None
        if not isinstance(count, int):
            continue
        if previous is not None and count - previous > 1:
            for name, line in _updates(code.source):
                if name in code.uses:
                    out.append(_Accumulator(code.index, name, line, count, previous))
                    break
        previous = count
        if code.index >= cell.outcome.index:
            break
    return out


@rule("rerun-accumulation", statuses={"mismatch"})
def rerun_accumulation(cell: FailingCell) -> Claims:
    """A gap in the stored counts just before a cell that updates a name it also reads: it ran
    more than once before saving (this cell, or a cell above whose name this one uses)."""
    c = cell.code
    if c is None:
        return
    for acc in _accumulators(cell):
        if acc.index != c.index and acc.name not in c.uses:
            continue
        runs = acc.count - acc.previous
        counts = Evidence(
            "counts",
            f"{cell_label(acc.index)} is In [{acc.count}] right after In [{acc.previous}]: "
            f"it ran up to {runs} times before the notebook was saved",
            {"cell": acc.index, "execution_count": acc.count, "previous": acc.previous},
        )
        update = Evidence(
            "static-hint",
            f"{cell_label(acc.index)}, line {acc.line}: updates `{acc.name}` from its own value",
            {"cell": acc.index, "name": acc.name, "line": acc.line},
        )
        if acc.index == c.index:
            summary = f"updates `{acc.name}` and ran up to {runs} times before saving"
            strength = STRENGTH["counts"]
        else:
            summary = (
                f"uses `{acc.name}`, which {cell_label(acc.index)} updated in up to {runs} "
                "runs before saving"
            )
            strength = STRENGTH["counts"] - 5
        yield Cause(
            "rerun-accumulation",
            summary,
            strength,
            [counts, update],
            remedy="restart the kernel and run all before saving",
        )
        return
    yield "re-runs: no gap in the stored execution counts before a cell that updates a name"
