"""The facts of one failing cell: its outcome and what follows from it, no decisions.

What its error names (a module, a file, the network, a name), which recorded inputs that error
explains, the failed cell above whose missing definition it stopped at (:class:`Upstream`), the
cell that stopped the run before it ran, whether its fresh runs disagree, and, for every name it
used, where that name came from when it is not the cell that defines it above
(:class:`NameOrigin`, from the recorded journal or, without one, from its ``NameError``).
The cause rules (:mod:`nbrepro.diagnose.rules`) read these and decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..cell_names import cell_label
from .hints import NONDETERMINISM_KINDS, Hint

if TYPE_CHECKING:
    from ..record.drift import InputDrift
    from .causes import CellDiagnosis
    from .facts import CellOutcome, CodeCell, NotebookFacts

NETWORK_ERRORS = frozenset(
    {
        "URLError",
        "HTTPError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "gaierror",
        "herror",
        "RemoteDisconnected",
        "SSLError",
        "ReadTimeout",
        "ConnectTimeout",
        "ProxyError",
        "MaxRetryError",
        "NewConnectionError",
        "ClientConnectorError",
        "InvalidURL",
    }
)
_MODULE_RE = re.compile(r"No module named '([^']+)'")
_FILE_RE = re.compile(r"No such file or directory: '([^']+)'")
_NAME_RE = re.compile(r"name '([^']+)' is not defined")


@dataclass
class Upstream:
    """The cell raised ``NameError`` for ``name``, which its nearest definer above would have
    defined had it not failed in this run."""

    name: str
    definer: CodeCell
    #: The definer's outcome (its error).
    failed: CellOutcome
    #: The index of the root cell (the definer, or the root it is itself a consequence of).
    root: int
    root_id: str
    #: The diagnoses of the definer and of the root cell.
    parent: CellDiagnosis | None
    root_diagnosis: CellDiagnosis | None


@dataclass
class NameOrigin:
    """A name the cell used that did not come from the cell that defines it above.

    ``kind``: ``ran-elsewhere`` (the journal: another cell defined it last before the cell ran),
    ``ghost`` (the journal: no cell above defines it, and a deleted cell or code outside the
    notebook's cells ran before it), ``defined-below`` (no journal to tell: the cell's
    ``NameError`` names it and only a cell below defines it), ``undefined`` (the ``NameError``
    names it and no cell defines it).
    """

    name: str
    kind: str
    #: Whether the cell's ``NameError`` names it.
    failed: bool
    #: Position of the cell that defined it before the cell ran (``ran-elsewhere``).
    source: int | None = None
    #: The journal entry of that definition, or of the ghost run (``ghost``).
    entry: dict[str, Any] | None = None
    #: Position of the code cell above that defines it top to bottom.
    top: int | None = None
    #: The execution count of the cell's own recorded run.
    used_at: Any = None
    #: Indices of the cells below it that define it.
    below: list[int] = field(default_factory=list)


@dataclass
class FailingCell:
    """Everything the cause rules read about one failing cell."""

    outcome: CellOutcome
    notebook: NotebookFacts
    #: Its code cell (``None``: the outcome names no code cell of the notebook).
    code: CodeCell | None
    #: ``module``, ``file`` or ``network`` when its error names one of those; else ``None``.
    error_kind: str | None = None
    #: The module of a ``ModuleNotFoundError``; the path of a ``FileNotFoundError``.
    missing_module: str | None = None
    missing_path: str | None = None
    #: The name of its ``NameError``.
    failed_name: str | None = None
    #: Missing recorded inputs its error accounts for (the module's source, the file).
    explained_inputs: list[InputDrift] = field(default_factory=list)
    upstream: Upstream | None = None
    #: Why no upstream cause is claimed although a cell above may be involved.
    upstream_note: str | None = None
    #: For a cell that never ran: the cell where the kernel died or the timeout struck.
    stopper: CellOutcome | None = None
    #: The position in the journal of its last recorded run (``None``: none recorded).
    journal_position: int | None = None
    origins: list[NameOrigin] = field(default_factory=list)

    @property
    def error_name(self) -> str | None:
        """The exception the cell raised in this run (``None``: it raised none)."""
        return self.outcome.error_name if self.outcome.status == "error" else None

    @property
    def runs_differ(self) -> bool:
        """Whether its fresh runs disagreed."""
        o = self.outcome
        return o.status == "nondeterministic" or len(set(o.run_statuses) - {"skipped"}) > 1

    @property
    def root(self) -> int | None:
        """The index of the failing cell this one is a consequence of (``None``: its own)."""
        if self.upstream is not None:
            return self.upstream.root
        if self.outcome.status == "not-run" and self.stopper is not None:
            return self.stopper.index
        return None

    @property
    def explained_paths(self) -> set[str]:
        """The paths of :attr:`explained_inputs`."""
        return {item.path for item in self.explained_inputs}

    def nondeterminism_hints(self) -> list[Hint]:
        """Its own hints of run-to-run variation (set order only without a fixed hash seed)."""
        if self.code is None:
            return []
        kinds = set(NONDETERMINISM_KINDS)
        if self.notebook.hash_seed_fixed:
            kinds.discard("hash-order")
        return self.code.static.of_kind(kinds)

    @property
    def stored(self) -> dict[str, Any]:
        """The cell as stored in the notebook (its outputs and execution count)."""
        cells = self.notebook.nb.get("cells", [])
        index = self.outcome.index
        cell = cells[index] if 0 <= index < len(cells) else {}
        return cell if isinstance(cell, dict) else {}

    def differing_lines(self) -> tuple[list[str], list[str]]:
        """The lines its comparison's diff removed (expected) and added (actual), after
        normalisation; both empty when there is no textual diff."""
        expected: list[str] = []
        actual: list[str] = []
        for line in str(getattr(self.outcome, "diff", "") or "").splitlines():
            if line.startswith(("--- ", "+++ ", "@@")):
                continue
            if line.startswith("-"):
                expected.append(line[1:])
            elif line.startswith("+"):
                actual.append(line[1:])
        return expected, actual

    def observed(self) -> list[str]:
        """What the run itself shows, for ``checked`` (before any rule runs)."""
        o = self.outcome
        if o.status == "error":
            return [f"error: {o.error_name or ''}: {o.error_value or ''}".rstrip(": ")]
        if o.status == "not-run" and self.stopper is None:
            return ["run: not executed, and no cell stopped the run"]
        return []


def _classify_error(cell: FailingCell) -> None:
    o, book = cell.outcome, cell.notebook
    name, value = o.error_name or "", o.error_value or ""
    module = _MODULE_RE.search(value)
    if name in ("ModuleNotFoundError", "ImportError") and module:
        cell.error_kind, cell.missing_module = "module", module.group(1)
        top = module.group(1).split(".")[0]
        for item in book.changed_inputs:
            stem = item.path.rsplit("/", 1)[-1]
            if (
                item.status == "missing"
                and stem in (f"{top}.py", "__init__.py")
                and (f"{top}.py" in item.path or f"/{top}/" in f"/{item.path}")
            ):
                cell.explained_inputs.append(item)
    elif name == "FileNotFoundError" or (name in ("OSError", "IOError") and _FILE_RE.search(value)):
        path = _FILE_RE.search(value)
        cell.error_kind, cell.missing_path = "file", path.group(1) if path else None
        if cell.missing_path is not None:
            wanted = cell.missing_path.replace("\\", "/").removeprefix("./")
            for item in book.changed_inputs:
                if item.status == "missing" and (
                    item.path == wanted or item.path.endswith("/" + wanted)
                ):
                    cell.explained_inputs.append(item)
    elif name in NETWORK_ERRORS or "Connection refused" in value or "Name or service" in value:
        cell.error_kind = "network"


def _find_upstream(
    cell: FailingCell, outcomes: Sequence[CellOutcome], earlier: Mapping[int, CellDiagnosis]
) -> None:
    """A ``NameError`` for a name that a failed cell above would have defined."""
    c, name, book = cell.code, cell.failed_name, cell.notebook
    if c is None or name is None:
        return
    status = {x.index: x for x in outcomes}
    definer: CodeCell | None = None
    for q in range(c.pos - 1, -1, -1):
        above = book.code[q]
        if name not in above.dataflow.defs and not above.dataflow.opaque:
            continue
        failed = status.get(above.index)
        if failed is not None and failed.status == "error":
            if definer is None and name not in above.dataflow.defs:
                # Which names ``from m import *`` or ``%run`` would bind is not known.
                cell.upstream_note = (
                    f"upstream: {cell_label(above.index)} failed and may define `{name}` "
                    f"({above.dataflow.opaque_reason}); not claimed: its names are not known"
                )
                return
            definer = definer or above
        elif name in above.dataflow.defs:
            # A cell above binds the name and ran: the failure is not what removed it.
            cell.upstream_note = (
                f"upstream: `{name}` is defined above by {cell_label(above.index)}, which ran"
            )
            return
    if definer is None:
        return
    parent = earlier.get(definer.index)
    root = parent.root if parent is not None and parent.root is not None else definer.index
    cell.upstream = Upstream(
        name=name,
        definer=definer,
        failed=status[definer.index],
        root=root,
        root_id=next((x.id for x in outcomes if x.index == root), ""),
        parent=parent,
        root_diagnosis=earlier.get(root),
    )


def _journal_position(cell: FailingCell) -> int | None:
    c, book = cell.code, cell.notebook
    if c is None or book.provenance is None:
        return None
    rec = c.recorded
    if rec is None or rec.get("session") is not None:
        return None
    count = rec.get("execution_count")
    for k in range(len(book.journal) - 1, -1, -1):
        entry = book.journal[k]
        if entry.get("cell_id") == c.id and entry.get("execution_count") == count:
            return k
    return None


def _static_origin(cell: FailingCell, name: str) -> NameOrigin | None:
    c, book = cell.code, cell.notebook
    assert c is not None
    below = [book.code[p].index for p in book.definers(name) if p > c.pos]
    if below:
        return NameOrigin(name, "defined-below", True, below=below)
    if c.above.get(name) is None and not any(q.dataflow.opaque for q in book.code[: c.pos]):
        return NameOrigin(name, "undefined", True)
    return None


def _journal_origin(cell: FailingCell, name: str, k: int, failed: bool) -> NameOrigin | None:
    c, book = cell.code, cell.notebook
    assert c is not None
    top = c.above.get(name)
    actual: int | None = None
    actual_entry: dict[str, Any] | None = None
    ghosts: list[dict[str, Any]] = []
    for j in range(k - 1, -1, -1):
        entry = book.journal[j]
        other = book.by_id.get(str(entry.get("cell_id")))
        if other is None:
            ghosts.append(entry)
            continue
        if name in other.dataflow.defs:
            actual, actual_entry = other.pos, entry
            break
    used_at = book.journal[k].get("execution_count")
    if actual is not None and actual != top:
        return NameOrigin(
            name,
            "ran-elsewhere",
            failed,
            source=actual,
            entry=actual_entry,
            top=top,
            used_at=used_at,
        )
    if actual is None and top is None and ghosts:
        below = [book.code[p].index for p in book.definers(name) if p > c.pos]
        return NameOrigin(name, "ghost", failed, entry=ghosts[0], used_at=used_at, below=below)
    if failed and actual is None:
        return _static_origin(cell, name)
    return None


def _find_origins(cell: FailingCell) -> None:
    c = cell.code
    if c is None:
        return
    k = cell.journal_position
    names = list(c.uses)
    failed_name = cell.failed_name
    if failed_name and failed_name not in names:
        names.append(failed_name)
    upstream = cell.upstream.name if cell.upstream is not None else None
    for name in names:
        if name == failed_name and name == upstream:
            continue
        origin: NameOrigin | None = None
        if k is not None:
            origin = _journal_origin(cell, name, k, name == failed_name)
        elif name == failed_name:
            origin = _static_origin(cell, name)
        if origin is not None:
            cell.origins.append(origin)


def failing_cell(
    book: NotebookFacts,
    outcome: CellOutcome,
    outcomes: Sequence[CellOutcome],
    earlier: Mapping[int, CellDiagnosis],
) -> FailingCell:
    """The facts of one failing cell; ``earlier``: the diagnoses of the failing cells above."""
    cell = FailingCell(outcome, book, book.by_index.get(outcome.index))
    if outcome.status == "not-run":
        cell.stopper = next((x for x in outcomes if x.status in ("kernel-died", "timeout")), None)
        return cell
    if outcome.error_name == "NameError":
        match = _NAME_RE.search(outcome.error_value or "")
        cell.failed_name = match.group(1) if match else None
    if outcome.status == "error":
        _classify_error(cell)
        _find_upstream(cell, outcomes, earlier)
    cell.journal_position = _journal_position(cell)
    _find_origins(cell)
    return cell
