"""What is known about a notebook when its diagnosis starts: facts, no decisions.

Per notebook (:class:`NotebookFacts`): the recorded provenance when it applies (the baseline is
the stored outputs it describes), its journal of executions, the deleted cells, the drift of the
environment and of the recorded inputs, who defines each name. Per code cell (:class:`CodeCell`):
its source and hash, the dataflow facts of :mod:`nbrepro.analysis`, the static hints of
:mod:`nbrepro.diagnose.hints`, the names it reads, the recorded entry of its last run (and
whether it was edited since), the recorded inputs of it that changed, and its :class:`Taint`:
the recorded causes that reach it along the names it uses. The facts of one failing cell (its
outcome, what its error names, the failed cell above it stopped at, where the names it used
came from) are in :mod:`nbrepro.diagnose.cell_facts`.

Everything is computed once per notebook, and only for notebooks with failing cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..cell_names import cell_label
from . import evidence
from .causes import Evidence
from .hints import NONDETERMINISM_KINDS, CellStatic, notebook_static

if TYPE_CHECKING:
    from ..analysis.findings import Finding
    from ..analysis.scope import CellFacts
    from ..record.drift import DriftReport, InputDrift
    from ..record.envdiff import EnvDiff

#: Cell statuses that are diagnosed.
FAILING = frozenset({"mismatch", "nondeterministic", "error", "timeout", "kernel-died", "not-run"})


class CellOutcome(Protocol):
    """What verify knows about one code cell (:class:`nbrepro.verify.CellReport` fits)."""

    index: int
    id: str
    status: str
    summary: str
    error_name: str | None
    error_value: str | None
    run_statuses: list[str]


@dataclass
class Taint:
    """A recorded cause a cell passes on to the cells that use the names it defines."""

    cause: str
    #: Completes "uses ...": ``cell 2, which reads data/a.csv, which changed since it ran``.
    summary: str
    #: The cell's own evidence, or ``dataflow`` evidence first when it came from a cell above.
    evidence: list[Evidence]

    @property
    def inherited(self) -> bool:
        """Whether the cause came along a name from a cell above (not the cell's own)."""
        return self.evidence[0].kind == "dataflow"


@dataclass
class CodeCell:
    """One code cell of the notebook."""

    #: Position among the code cells.
    pos: int
    #: 0-based index among all cells (as verify's outcomes and the report count them).
    index: int
    id: str
    source: str
    hash: str
    #: Names it defines, uses, deletes (:func:`nbrepro.analysis.dataflow.facts_for_source`).
    dataflow: CellFacts
    static: CellStatic
    #: Names it reads from the notebook's namespace, in order, without repeats.
    uses: list[str]
    #: Name -> position of the nearest code cell above that defines it (top to bottom).
    above: dict[str, int]
    #: The recorded entry of its last run (``metadata.nbrepro.cells[id]``), when provenance applies.
    recorded: dict[str, Any] | None = None
    #: Its recorded inputs that changed or are missing now.
    changed_inputs: list[InputDrift] = field(default_factory=list)
    #: Cause id -> the recorded cause it carries (its own, or through a name from above).
    taint: dict[str, Taint] = field(default_factory=dict)

    @property
    def edited(self) -> dict[str, Any] | None:
        """The recorded entry when the cell's source changed since it ran."""
        rec = self.recorded
        if rec is not None and rec.get("source_hash") and rec["source_hash"] != self.hash:
            return rec
        return None


@dataclass
class NotebookFacts:
    """Everything the cause rules read about one notebook, computed once."""

    nb: dict[str, Any]
    #: Number of fresh runs made.
    runs: int
    drift: DriftReport | None
    #: The environment the kernel ran with.
    kernel_env: Mapping[str, str]
    code: list[CodeCell]
    #: The recorded provenance (``metadata.nbrepro`` shape) when it describes the baseline.
    provenance: dict[str, Any] | None
    #: Whether any provenance was recorded (even if it does not apply to this baseline).
    has_provenance: bool
    #: The recorded journal of executions, oldest first.
    journal: list[dict[str, Any]] = field(default_factory=list)
    #: Ids of the cells deleted since they ran.
    deleted: set[str] = field(default_factory=set)
    #: The environment's drift, when provenance applies and something differs.
    env: EnvDiff | None = None
    #: Recorded inputs that changed or are missing, when provenance applies.
    changed_inputs: list[InputDrift] = field(default_factory=list)
    #: Code cells by their 0-based index among all cells, and by id.
    by_index: dict[int, CodeCell] = field(init=False, repr=False)
    by_id: dict[str, CodeCell] = field(init=False, repr=False)
    _findings: dict[int, list[Finding]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.by_index = {c.index: c for c in self.code}
        self.by_id = {c.id: c for c in self.code}

    @property
    def recorded_environment(self) -> dict[str, Any]:
        """The recorded environment (packages, env_vars, python, ...), when provenance applies."""
        env = (self.provenance or {}).get("environment") or {}
        return env if isinstance(env, dict) else {}

    @property
    def hash_seed_fixed(self) -> bool:
        """Whether the kernel ran with a fixed ``PYTHONHASHSEED`` (set order is then stable)."""
        value = self.kernel_env.get("PYTHONHASHSEED")
        return value is not None and value != "random"

    def definers(self, name: str) -> list[int]:
        """Positions of every code cell that defines ``name``, top to bottom."""
        return [c.pos for c in self.code if name in c.dataflow.defs]

    def findings(self) -> dict[int, list[Finding]]:
        """``nbrepro check``'s dataflow findings per cell index (computed once, when asked)."""
        if self._findings is None:
            from ..analysis import analyze

            self._findings = {}
            try:
                found = analyze(self.nb, select=["NBR201", "NBR202", "NBR203"])
            except Exception:  # the check must never break a verification
                found = []
            for finding in found:
                self._findings.setdefault(finding.cell_index, []).append(finding)
        return self._findings


def _uses(facts: CellFacts) -> list[str]:
    from ..analysis.scope import is_always_defined

    out: list[str] = []
    for use in [*facts.uses, *facts.deferred_uses]:
        if use.guarded or use.name in out or is_always_defined(use.name):
            continue
        out.append(use.name)
    return out


def _code_cells(nb: dict[str, Any]) -> list[CodeCell]:
    from ..analysis.dataflow import facts_for_source
    from ..hashing import source_hash
    from ..notebook_io import cell_source

    sources, raw = [], []
    for index, cell in enumerate(nb.get("cells", [])):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            raw.append((index, cell))
            sources.append(cell_source(cell))
    statics = notebook_static(sources)
    code: list[CodeCell] = []
    seen: dict[str, int] = {}
    for pos, ((index, cell), source) in enumerate(zip(raw, sources, strict=True)):
        cid = cell.get("id")
        dataflow = facts_for_source(source)
        code.append(
            CodeCell(
                pos=pos,
                index=index,
                id=cid if isinstance(cid, str) and cid else f"index-{index}",
                source=source,
                hash=source_hash(source),
                dataflow=dataflow,
                static=statics[pos],
                uses=_uses(dataflow),
                above=dict(seen),
            )
        )
        for name in dataflow.defs:
            seen[name] = pos
    return code


def _own_taint(c: CodeCell) -> dict[str, Taint]:
    out: dict[str, Taint] = {}
    rec = c.edited
    if rec is not None:
        out["code-edited"] = Taint(
            "code-edited",
            f"{cell_label(c.index)}, which was edited after it ran",
            [evidence.edited(c.index, c.hash, rec)],
        )
    for item in c.changed_inputs:
        out.setdefault(
            "input-changed",
            Taint(
                "input-changed",
                f"{cell_label(c.index)}, which reads {item.path}, "
                f"which {evidence.drift_word(item)}",
                [evidence.changed_input(item)],
            ),
        )
    nondet = [h for h in c.static.hints if h.kind in NONDETERMINISM_KINDS - {"clock"}]
    if nondet:
        out["nondeterminism"] = Taint(
            "nondeterminism",
            f"{cell_label(c.index)}, which {nondet[0].message}",
            [evidence.hint(h, c.index) for h in nondet],
        )
    return out


def _propagate(code: list[CodeCell]) -> None:
    """Pass each cell's taint on to the cells below that use a name it defines last."""
    for c in code:
        for name in c.uses:
            q = c.above.get(name)
            if q is None:
                continue
            for cause, taint in code[q].taint.items():
                if cause in c.taint:
                    continue
                c.taint[cause] = Taint(
                    cause,
                    f"`{name}` from {taint.summary}",
                    [evidence.dataflow(name, code[q].index), *taint.evidence],
                )


def notebook_facts(
    nb: dict[str, Any],
    drift: DriftReport | None,
    runs: int,
    baseline: str,
    kernel_env: Mapping[str, str],
    provenance: Mapping[str, Any] | None = None,
) -> NotebookFacts:
    """The facts of one notebook (arguments as :func:`~nbrepro.diagnose.diagnose_notebook`'s)."""
    from ..provenance import get_provenance

    prov = dict(provenance) if provenance is not None else get_provenance(nb)
    applies = prov if baseline == "stored" else None
    facts = NotebookFacts(
        nb=nb,
        runs=runs,
        drift=drift,
        kernel_env=kernel_env,
        code=_code_cells(nb),
        provenance=applies,
        has_provenance=prov is not None,
    )
    if applies is not None:
        journal = applies.get("executions")
        facts.journal = [
            e for e in (journal if isinstance(journal, list) else []) if isinstance(e, dict)
        ]
        facts.deleted = set(applies.get("deleted_cells") or [])
        if drift is not None:
            if drift.environment is not None and not drift.environment.is_empty:
                facts.env = drift.environment
            facts.changed_inputs = drift.changed_inputs
    rec_cells = (applies or {}).get("cells")
    recorded: dict[str, Any] = rec_cells if isinstance(rec_cells, dict) else {}
    for c in facts.code:
        rec = recorded.get(c.id)
        c.recorded = rec if isinstance(rec, dict) else None
        c.changed_inputs = [
            i for i in facts.changed_inputs if any(ref.id == c.id for ref in i.cells)
        ]
        c.taint = _own_taint(c)
    _propagate(facts.code)
    return facts
