"""Cause attribution: for each cell that did not reproduce, say why, with evidence.

The inputs are what ``nbrepro verify`` already has: the notebook (with its recorded provenance,
``metadata.nbrepro``), each failing cell's outcome (status, error, runs), the drift report of
the recorded environment and inputs, how many fresh runs were made and what the baseline was.
The diagnosis adds one ``ast`` pass over the code cells (:mod:`nbrepro.diagnose.hints`), the
cached per-cell dataflow facts of :mod:`nbrepro.analysis`, and a walk of the recorded journal.
It runs only when a cell failed, so reproducible notebooks pay nothing.

Every claim carries its evidence; a cell for which nothing was found gets ``unknown`` with the
list of what was checked. Nothing here executes code or reads files other than the notebook's
recorded inputs (already hashed by the drift check).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..cell_names import cell_label, cell_numbers
from .causes import STRENGTH, Cause, CellDiagnosis, Evidence
from .hints import NONDETERMINISM_KINDS, CellStatic, Hint, notebook_static

if TYPE_CHECKING:
    from ..analysis.scope import CellFacts
    from ..record.drift import DriftReport, InputDrift
    from ..record.envdiff import EnvDiff

#: Cell statuses that are diagnosed.
FAILING = frozenset({"mismatch", "nondeterministic", "error", "timeout", "kernel-died", "not-run"})
_NETWORK_ERRORS = frozenset(
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
#: Environment variables -> top-level modules whose results they change.
_VAR_MODULES = {
    "TZ": {"time", "datetime", "pandas", "zoneinfo", "calendar", "dateutil", "pytz"},
    "LANG": {"locale", "time", "datetime", "calendar"},
    "LANGUAGE": {"locale", "gettext"},
    "PYTHONIOENCODING": {"sys", "io"},
    "PYTHONUTF8": {"sys", "io", "locale"},
}
_THREAD_MODULES = {"numpy", "scipy", "torch", "sklearn", "pandas", "tensorflow", "numexpr"}
_DRIFT_WORDS = {"missing": "is missing now", "changed": "changed since it ran"}
_NOTE_RUNS = "1 run (pass --runs 2 to check determinism)"


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
class NotebookDiagnosis:
    """The diagnosis of one notebook: per failing cell, and one line for the whole notebook."""

    cells: dict[int, CellDiagnosis] = field(default_factory=dict)
    #: ``not reproducible: cell 7 reads data/train.csv, which changed since it ran``.
    summary: str = ""
    #: Mechanical remedies (``--suggest``), see :mod:`nbrepro.diagnose.remedies`.
    remedies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (cells keyed by index as strings)."""
        return {
            "summary": self.summary,
            "cells": {str(i): d.to_dict() for i, d in sorted(self.cells.items())},
            "remedies": list(self.remedies),
        }


@dataclass
class _Code:
    pos: int
    index: int
    id: str
    source: str
    hash: str
    facts: CellFacts
    static: CellStatic


@dataclass
class _Taint:
    """A recorded cause a cell passes on to the cells that use the names it defines."""

    cause: str
    summary: str
    evidence: list[Evidence]


def _short(digest: Any) -> str:
    text = str(digest)
    algo, _, hexpart = text.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else text[:19]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _Notebook:
    """Everything the attribution reads, computed once per notebook."""

    def __init__(
        self,
        nb: dict[str, Any],
        drift: DriftReport | None,
        runs: int,
        baseline: str,
        kernel_env: Mapping[str, str],
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        from ..analysis.dataflow import facts_for_source
        from ..hashing import source_hash
        from ..notebook_io import cell_source
        from ..provenance import get_provenance

        self.nb = nb
        self.runs = runs
        self.drift = drift
        self.kernel_env = kernel_env
        sources, raw = [], []
        for index, cell in enumerate(nb.get("cells", [])):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                raw.append((index, cell))
                sources.append(cell_source(cell))
        statics = notebook_static(sources)
        self.code: list[_Code] = []
        for pos, ((index, cell), source) in enumerate(zip(raw, sources, strict=True)):
            cid = cell.get("id")
            self.code.append(
                _Code(
                    pos,
                    index,
                    cid if isinstance(cid, str) and cid else f"index-{index}",
                    source,
                    source_hash(source),
                    facts_for_source(source),
                    statics[pos],
                )
            )
        self.by_index = {c.index: c for c in self.code}
        self.by_id = {c.id: c for c in self.code}
        prov = dict(provenance) if provenance is not None else get_provenance(nb)
        #: Recorded provenance applies: the baseline is the stored outputs it describes.
        self.prov: dict[str, Any] | None = prov if baseline == "stored" else None
        self.has_prov = prov is not None
        rec_cells = (self.prov or {}).get("cells")
        self.recorded: dict[str, Any] = rec_cells if isinstance(rec_cells, dict) else {}
        journal = (self.prov or {}).get("executions")
        self.journal: list[dict[str, Any]] = [
            e for e in (journal if isinstance(journal, list) else []) if isinstance(e, dict)
        ]
        self.deleted = set((self.prov or {}).get("deleted_cells") or [])
        self.top: list[dict[str, int]] = []
        seen: dict[str, int] = {}
        for c in self.code:
            self.top.append(dict(seen))
            for name in c.facts.defs:
                seen[name] = c.pos
        self.definers: dict[str, list[int]] = {}
        for c in self.code:
            for name in c.facts.defs:
                self.definers.setdefault(name, []).append(c.pos)
        self.env: EnvDiff | None = None
        self.changed_inputs: list[InputDrift] = []
        if drift is not None and self.prov is not None:
            if drift.environment is not None and not drift.environment.is_empty:
                self.env = drift.environment
            self.changed_inputs = drift.changed_inputs
        self.taint: list[dict[str, _Taint]] = [self._own_taint(c) for c in self.code]
        self._propagate()
        self._findings: dict[int, list[Any]] | None = None

    # -- per-cell facts -------------------------------------------------------------------

    def uses(self, c: _Code) -> list[str]:
        """Names the cell reads from the notebook's namespace, in order, without repeats."""
        from ..analysis.scope import is_always_defined

        out: list[str] = []
        for use in [*c.facts.uses, *c.facts.deferred_uses]:
            if use.guarded or use.name in out or is_always_defined(use.name):
                continue
            out.append(use.name)
        return out

    def edited(self, c: _Code) -> dict[str, Any] | None:
        """The cell's recorded entry when its source changed since it ran."""
        rec = self.recorded.get(c.id)
        if isinstance(rec, dict) and rec.get("source_hash") and rec["source_hash"] != c.hash:
            return rec
        return None

    def inputs_of(self, c: _Code) -> list[InputDrift]:
        """Changed or missing recorded inputs this cell read."""
        return [i for i in self.changed_inputs if any(ref.id == c.id for ref in i.cells)]

    def findings(self) -> dict[int, list[Any]]:
        """``nbrepro check``'s dataflow findings per cell index (computed once)."""
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

    # -- taint: recorded causes that flow along names -------------------------------------

    def _own_taint(self, c: _Code) -> dict[str, _Taint]:
        out: dict[str, _Taint] = {}
        rec = self.edited(c)
        if rec is not None:
            out["code-edited"] = _Taint(
                "code-edited",
                f"{cell_label(c.index)}, which was edited after it ran",
                [_edited_evidence(c, rec)],
            )
        for item in self.inputs_of(c):
            out.setdefault(
                "input-changed",
                _Taint(
                    "input-changed",
                    f"{cell_label(c.index)}, which reads {item.path}, which {_drift_word(item)}",
                    [_input_evidence(item)],
                ),
            )
        nondet = [h for h in c.static.hints if h.kind in NONDETERMINISM_KINDS - {"clock"}]
        if nondet:
            out["nondeterminism"] = _Taint(
                "nondeterminism",
                f"{cell_label(c.index)}, which {nondet[0].message}",
                [_hint_evidence(h, c) for h in nondet],
            )
        return out

    def _propagate(self) -> None:
        for c in self.code:
            for name in self.uses(c):
                q = self.top[c.pos].get(name)
                if q is None:
                    continue
                for cause, taint in self.taint[q].items():
                    if cause in self.taint[c.pos]:
                        continue
                    self.taint[c.pos][cause] = _Taint(
                        cause,
                        f"`{name}` from {taint.summary}",
                        [
                            Evidence(
                                "dataflow",
                                f"uses `{name}`, defined above by {cell_label(self.code[q].index)}",
                                {"name": name, "defined_by": self.code[q].index},
                            ),
                            *taint.evidence,
                        ],
                    )


def _edited_evidence(c: _Code, rec: dict[str, Any]) -> Evidence:
    count = rec.get("execution_count")
    ran = f" (In [{count}])" if count is not None else ""
    return Evidence(
        "source-hash",
        f"{cell_label(c.index)}: recorded source {_short(rec.get('source_hash'))}{ran} "
        f"differs from the current {_short(c.hash)}",
        {
            "cell": c.index,
            "recorded": rec.get("source_hash"),
            "current": c.hash,
            "execution_count": count,
        },
    )


def _drift_word(item: InputDrift) -> str:
    return _DRIFT_WORDS.get(item.status, item.status)


def _input_evidence(item: InputDrift) -> Evidence:
    now = "is missing" if item.status == "missing" else f"is {_short(item.current_hash)}"
    if item.kind == "large":
        now = "has another size or modification time"
    return Evidence(
        "input",
        f"{item.path}: recorded {_short(item.recorded_hash)} ({item.recorded_size} bytes), "
        f"now {now}",
        item.to_dict(),
    )


def _hint_evidence(hint: Hint, c: _Code) -> Evidence:
    return Evidence(
        "static-hint",
        f"{cell_label(c.index)}, line {hint.line}: {hint.message}",
        {"cell": c.index, **hint.to_dict()},
    )


def _error_evidence(outcome: CellOutcome) -> Evidence:
    return Evidence(
        "error",
        f"raised {outcome.error_name}: {outcome.error_value}",
        {"error_name": outcome.error_name, "error_value": outcome.error_value},
    )


class _Attributor:
    """Diagnose one failing cell."""

    def __init__(
        self,
        book: _Notebook,
        outcome: CellOutcome,
        outcomes: Sequence[CellOutcome],
        earlier: Mapping[int, CellDiagnosis],
    ):
        self.book = book
        self.outcome = outcome
        self.outcomes = outcomes
        #: The diagnoses of the failing cells above (to follow a consequence to its root).
        self.earlier = earlier
        self.code = book.by_index.get(outcome.index)
        self.diag = CellDiagnosis(outcome.index, outcome.id)
        self.folded_paths: set[str] = set()
        self.missing_module: str | None = None
        #: The name whose definer above failed, when this cell's error is a consequence of it.
        self.upstream_name: str | None = None

    def run(self) -> CellDiagnosis:
        status = self.outcome.status
        if status in ("kernel-died", "timeout"):
            self._stopped()
        if status == "not-run":
            self._not_run()
            self.diag.finish()
            return self.diag
        if status == "error":
            self._error()
            self._upstream_failure()
        if self.code is not None:
            self._provenance()
            self._order()
            self._nondeterminism()
            if self.upstream_name is None:
                self._network()
        if self.upstream_name is None:
            self._weak_environment()
        self.diag.finish()
        return self.diag

    # -- what the run itself shows ----------------------------------------------------------

    def _stopped(self) -> None:
        o = self.outcome
        observed = Evidence(
            "run",
            f"{o.status} while executing (run statuses: {', '.join(o.run_statuses)})",
            {"status": o.status, "run_statuses": list(o.run_statuses), "detail": o.summary},
        )
        if o.status == "kernel-died":
            summary = "killed the kernel"
        else:
            summary = f"ran past the timeout ({o.summary})" if o.summary else "ran past the timeout"
        self.diag.add(Cause(o.status, summary, STRENGTH["observed"], [observed]))
        self.diag.checked.append(f"run: {o.status}")

    def _not_run(self) -> None:
        stopper = next((x for x in self.outcomes if x.status in ("kernel-died", "timeout")), None)
        if stopper is None:
            self.diag.checked.append("run: not executed, and no cell stopped the run")
            return
        what = "the kernel died at" if stopper.status == "kernel-died" else "a timeout stopped"
        self.diag.add(
            Cause(
                stopper.status,
                f"never ran: {what} {cell_label(stopper.index)}",
                STRENGTH["observed"],
                [
                    Evidence(
                        "run",
                        f"not executed: {what} {cell_label(stopper.index, stopper.id)}",
                        {"stopped_at": stopper.index, "status": stopper.status},
                    )
                ],
            )
        )
        self.diag.checked.append(f"run: not executed ({what} {cell_label(stopper.index)})")
        self.diag.root = stopper.index

    def _error(self) -> None:
        o = self.outcome
        name, value = o.error_name or "", o.error_value or ""
        self.diag.checked.append(f"error: {name}: {value}".rstrip(": "))
        module = _MODULE_RE.search(value)
        if name in ("ModuleNotFoundError", "ImportError") and module:
            self._missing_module(module.group(1))
        elif name == "FileNotFoundError" or (
            name in ("OSError", "IOError") and _FILE_RE.search(value)
        ):
            path = _FILE_RE.search(value)
            self._missing_file(path.group(1) if path else None)
        elif name in _NETWORK_ERRORS or "Connection refused" in value or "Name or service" in value:
            evidence = [_error_evidence(o)]
            if self.code is not None:
                evidence += [
                    _hint_evidence(h, self.code) for h in self.code.static.of_kind(["network"])
                ]
            self.diag.add(
                Cause(
                    "external-resource",
                    f"could not reach a network resource ({name})",
                    STRENGTH["error"],
                    evidence,
                )
            )

    def _upstream_failure(self) -> None:
        """A ``NameError`` for a name that a failed cell above would have defined."""
        book, c, o = self.book, self.code, self.outcome
        match = _NAME_RE.search(o.error_value or "") if o.error_name == "NameError" else None
        if c is None or match is None:
            return
        name = match.group(1)
        status = {x.index: x for x in self.outcomes}
        definer: _Code | None = None
        for q in range(c.pos - 1, -1, -1):
            above = book.code[q]
            if name not in above.facts.defs and not above.facts.opaque:
                continue
            failed = status.get(above.index)
            if failed is not None and failed.status == "error":
                if definer is None and name not in above.facts.defs:
                    # Which names ``from m import *`` or ``%run`` would bind is not known.
                    self.diag.checked.append(
                        f"upstream: {cell_label(above.index)} failed and may define `{name}` "
                        f"({above.facts.opaque_reason}); not claimed: its names are not known"
                    )
                    return
                definer = definer or above
            elif name in above.facts.defs:
                # A cell above binds the name and ran: the failure is not what removed it.
                self.diag.checked.append(
                    f"upstream: `{name}` is defined above by {cell_label(above.index)}, which ran"
                )
                return
        if definer is None:
            return
        failed = status[definer.index]
        how = f"defines `{name}`"
        evidence = [
            _error_evidence(o),
            Evidence(
                "dataflow",
                f"{cell_label(definer.index)} {how} and failed first: "
                f"{failed.error_name}: {failed.error_value}",
                {
                    "name": name,
                    "defined_by": definer.index,
                    "defined_by_id": definer.id,
                    "error_name": failed.error_name,
                    "error_value": failed.error_value,
                },
            ),
        ]
        parent = self.earlier.get(definer.index)
        root_index = definer.index
        if parent is not None and parent.root is not None:
            root_index = parent.root
            evidence += [e for e in parent.cause.evidence if e.kind == "dataflow"]
        root = self.earlier.get(root_index)
        root_summary = root.cause.summary if root is not None else "failed"
        root_id = next((x.id for x in self.outcomes if x.index == root_index), "")
        evidence.append(
            Evidence(
                "upstream",
                f"root cause: {cell_label(root_index)} {root_summary}",
                {
                    "root_cell": root_index,
                    "root_cell_id": root_id,
                    "root_cause": root.cause.id if root is not None else None,
                },
            )
        )
        via = f"{cell_label(definer.index)} ({how}) failed"
        if root_index != definer.index:
            via += f" because {cell_label(root_index)} did"
        self.upstream_name = name
        self.diag.root = root_index
        self.diag.add(
            Cause(
                "upstream-failed",
                f"fails because {via}; root cause: {cell_label(root_index)} {root_summary}",
                STRENGTH["error"],
                evidence,
            )
        )

    def _missing_module(self, module: str) -> None:
        self.missing_module = module
        top = module.split(".")[0]
        evidence = [_error_evidence(self.outcome)]
        env = (self.book.prov or {}).get("environment") or {}
        packages = env.get("packages") if isinstance(env, dict) else None
        recorded = ""
        if isinstance(packages, dict):
            for pkg, version in packages.items():
                if _canonical(pkg) == _canonical(top):
                    recorded = f" (recorded: {pkg} {version})"
                    evidence.append(
                        Evidence(
                            "package",
                            f"the recorded environment had {pkg} {version}",
                            {"name": pkg, "recorded": version, "current": None},
                        )
                    )
        if self.book.env is not None:
            for name, version in self.book.env.removed.items():
                if _canonical(name) == _canonical(top) and not recorded:
                    recorded = f" (recorded: {name} {version})"
        for item in self.book.changed_inputs:
            stem = item.path.rsplit("/", 1)[-1]
            if (
                item.status == "missing"
                and stem in (f"{top}.py", "__init__.py")
                and (f"{top}.py" in item.path or f"/{top}/" in f"/{item.path}")
            ):
                self.folded_paths.add(item.path)
                evidence.append(_input_evidence(item))
        self.diag.add(
            Cause(
                "missing-module",
                f"imports {module}, which is not installed{recorded}",
                STRENGTH["error"],
                evidence,
            )
        )

    def _missing_file(self, path: str | None) -> None:
        evidence = [_error_evidence(self.outcome)]
        note = ""
        if path is not None:
            wanted = path.replace("\\", "/").removeprefix("./")
            for item in self.book.changed_inputs:
                if item.status == "missing" and (
                    item.path == wanted or item.path.endswith("/" + wanted)
                ):
                    self.folded_paths.add(item.path)
                    evidence.append(_input_evidence(item))
                    note = ", which it read when the notebook ran"
        shown = path or "a file"
        self.diag.add(
            Cause(
                "missing-file",
                f"opens {shown}, which does not exist{note}",
                STRENGTH["error"],
                evidence,
            )
        )

    # -- recorded provenance ----------------------------------------------------------------

    def _provenance(self) -> None:
        book, c = self.book, self.code
        assert c is not None
        if book.prov is None:
            why = (
                "recorded provenance applies to the stored outputs only"
                if book.has_prov
                else ("no recorded provenance")
            )
            self.diag.checked.append(
                f"provenance: {why}: edits, inputs, environment and execution history not checked"
            )
            return
        rec = book.recorded.get(c.id)
        edited = book.edited(c)
        if edited is not None:
            count = edited.get("execution_count")
            ran = f" (In [{count}])" if count is not None else ""
            self.diag.add(
                Cause(
                    "code-edited",
                    f"was edited after it ran{ran}",
                    STRENGTH["recorded"],
                    [_edited_evidence(c, edited)],
                )
            )
        elif isinstance(rec, dict):
            self.diag.checked.append("source: unchanged since it ran")
        else:
            self.diag.checked.append("source: no recorded execution of this cell")
        own = book.inputs_of(c)
        for item in own:
            if item.path in self.folded_paths:
                continue
            self.diag.add(
                Cause(
                    "input-changed",
                    f"reads {item.path}, which {_DRIFT_WORDS.get(item.status, item.status)}",
                    STRENGTH["recorded"],
                    [_input_evidence(item)],
                )
            )
        read = rec.get("inputs") if isinstance(rec, dict) else None
        if not own:
            n = len(read) if isinstance(read, list) else 0
            self.diag.checked.append(f"inputs: {n} recorded for this cell, none changed")
        for cause in ("code-edited", "input-changed"):
            taint = book.taint[c.pos].get(cause)
            if (
                taint is not None
                and self.upstream_name is None
                and cause not in self.diag.cause_ids
                and taint.evidence[0].kind == "dataflow"
            ):
                self.diag.add(
                    Cause(
                        cause, f"uses {taint.summary}", STRENGTH["upstream"], list(taint.evidence)
                    )
                )
        if self.upstream_name is None:
            self._environment()
        else:
            self.diag.checked.append(
                "environment, upstream edits and inputs: not attributed (the cell stopped at "
                f"`{self.upstream_name}`, which a failed cell above defines)"
            )

    def _environment(self) -> None:
        book, c = self.book, self.code
        assert c is not None
        env = book.env
        if env is None:
            self.diag.checked.append(
                "environment: no drift" if book.drift is not None else "environment: not checked"
            )
            return
        modules = {m.lower() for m in c.static.modules}
        canon = {_canonical(m) for m in modules}
        touched: list[tuple[str, Evidence]] = []
        for change in env.changed:
            if _canonical(change.name) in canon or self._provides(change.name, modules):
                message = f"{change.name} {change.recorded} -> {change.current}"
                touched.append((change.name, Evidence("package", message, change.to_dict())))
        gone = _canonical((self.missing_module or "").split(".")[0])
        for name, version in env.removed.items():
            if _canonical(name) in canon and _canonical(name) != gone:
                details = {"name": name, "recorded": version, "current": None}
                message = f"{name} {version} -> not installed"
                touched.append((name, Evidence("package", message, details)))
        for var in env.env_vars:
            if self._var_matters(var.name, modules):
                message = f"${var.name}: {_show(var.recorded)} -> {_show(var.current)}"
                touched.append((f"${var.name}", Evidence("env-var", message, var.to_dict())))
        for change in env.python:
            message = f"Python {change.name}: {change.recorded} -> {change.current}"
            touched.append(("Python", Evidence("python", message, change.to_dict())))
        if touched:
            subject, first = touched[0]
            self.diag.add(
                Cause(
                    "environment-changed",
                    f"depends on {subject}, which changed since it ran ({first.message})",
                    STRENGTH["imported"],
                    [evidence for _, evidence in touched],
                )
            )
        else:
            self.diag.checked.append(
                "environment: differs ("
                + "; ".join(env.summary_lines()[:3])
                + "), not in what this cell visibly uses"
            )

    def _provides(self, dist: str, modules: set[str]) -> bool:
        """Whether an installed distribution ``dist`` provides one of ``modules``."""
        from ..record.environment import distributions_for_modules

        wanted = _canonical(dist)
        try:
            return any(_canonical(d) == wanted for d in distributions_for_modules(modules))
        except Exception:  # metadata of a broken distribution: no evidence either way
            return False

    def _var_matters(self, name: str, modules: set[str]) -> bool:
        c = self.code
        assert c is not None
        if name in c.static.env_reads:
            return True
        if name == "PYTHONHASHSEED":
            return bool(c.static.of_kind(["hash-order"]))
        if name.startswith("LC_"):
            return bool(modules & _VAR_MODULES["LANG"])
        if name.endswith("_NUM_THREADS") or name.endswith("_MAX_THREADS"):
            return bool(modules & _THREAD_MODULES)
        return bool(modules & _VAR_MODULES.get(name, set()))

    def _weak_environment(self) -> None:
        env = self.book.env
        if env is None or self.diag.causes or self.outcome.status == "not-run":
            return
        lines = [line for line in env.summary_lines() if not line.startswith("platform release")]
        if not lines:
            return
        self.diag.add(
            Cause(
                "environment-changed",
                f"did not reproduce, and the environment changed since it ran ({lines[0]}; "
                "not visibly used by this cell)",
                STRENGTH["weak"],
                [Evidence("environment", line) for line in lines],
            )
        )

    # -- execution order and hidden state ---------------------------------------------------

    def _recorded_position(self) -> int | None:
        c = self.code
        assert c is not None
        rec = self.book.recorded.get(c.id)
        if not isinstance(rec, dict) or rec.get("session") is not None:
            return None
        count = rec.get("execution_count")
        for k in range(len(self.book.journal) - 1, -1, -1):
            entry = self.book.journal[k]
            if entry.get("cell_id") == c.id and entry.get("execution_count") == count:
                return k
        return None

    def _order(self) -> None:
        book, c = self.book, self.code
        assert c is not None
        failed_name = None
        if self.outcome.error_name == "NameError":
            match = _NAME_RE.search(self.outcome.error_value or "")
            failed_name = match.group(1) if match else None
        k = self._recorded_position() if book.prov is not None else None
        names = book.uses(c)
        if failed_name and failed_name not in names:
            names.append(failed_name)
        claimed = False
        for name in names:
            top = book.top[c.pos].get(name)
            if name == failed_name and name == self.upstream_name:
                continue
            if k is not None:
                claimed |= self._journal_order(name, top, k, name == failed_name)
            elif name == failed_name:
                claimed |= self._static_order(name)
        if k is None:
            note = "no recorded journal for this cell's last run" if book.prov is not None else ""
            if note:
                self.diag.checked.append(f"execution history: {note}")
        elif not claimed:
            self.diag.checked.append(
                "execution history: every name it uses came from the cell that defines it above"
            )

    def _journal_order(self, name: str, top: int | None, k: int, failed: bool) -> bool:
        book, c = self.book, self.code
        assert c is not None
        actual: int | None = None
        actual_entry: dict[str, Any] | None = None
        ghosts: list[dict[str, Any]] = []
        for j in range(k - 1, -1, -1):
            entry = book.journal[j]
            other = book.by_id.get(str(entry.get("cell_id")))
            if other is None:
                ghosts.append(entry)
                continue
            if name in other.facts.defs:
                actual, actual_entry = other.pos, entry
                break
        ran_at = book.journal[k].get("execution_count")
        if actual is not None and actual_entry is not None and actual != top:
            where = "below it" if actual > c.pos else "above it"
            then = (
                f"top to bottom it comes from {cell_label(book.code[top].index)}"
                if top is not None
                else "top to bottom no cell above defines it"
            )
            source = book.code[actual].index
            self.diag.add(
                Cause(
                    "execution-order",
                    f"used `{name}` from {cell_label(source)} ({where}) when it ran; {then}",
                    STRENGTH["journal"],
                    [
                        Evidence(
                            "journal",
                            f"`{name}` was last defined by {cell_label(book.code[actual].index)} "
                            f"(In [{actual_entry.get('execution_count')}]) before this cell ran "
                            f"(In [{ran_at}])",
                            {
                                "name": name,
                                "defined_by": book.code[actual].index,
                                "defined_at": actual_entry.get("execution_count"),
                                "used_at": ran_at,
                                "top_down_definer": book.code[top].index
                                if top is not None
                                else None,
                            },
                        ),
                        *self._finding_evidence(name),
                    ],
                )
            )
            return True
        if actual is None and top is None and ghosts:
            ghost = ghosts[0]
            gid = str(ghost.get("cell_id"))
            what = (
                f"the cell with id {gid}, deleted since"
                if gid in book.deleted
                else f"code run outside the notebook's cells ({gid})"
            )
            below = [book.code[p].index for p in book.definers.get(name, []) if p > c.pos]
            defined = (
                f"only {cell_label(below[0])}, below it, defines it"
                if below
                else "no cell of the notebook defines it"
            )
            evidence = [
                Evidence(
                    "journal",
                    f"{what} ran (In [{ghost.get('execution_count')}]) before this cell ran "
                    f"(In [{ran_at}]); {defined}",
                    {
                        "name": name,
                        "ran": gid,
                        "ran_at": ghost.get("execution_count"),
                        "used_at": ran_at,
                        "deleted": gid in book.deleted,
                    },
                ),
                *self._finding_evidence(name),
            ]
            if failed:
                evidence.insert(0, _error_evidence(self.outcome))
            self.diag.add(
                Cause(
                    "hidden-state",
                    f"uses `{name}` ({defined}); it came from {what}",
                    STRENGTH["journal"],
                    evidence,
                )
            )
            return True
        if failed and actual is None:
            return self._static_order(name)
        return False

    def _static_order(self, name: str) -> bool:
        book, c = self.book, self.code
        assert c is not None
        below = [book.code[p].index for p in book.definers.get(name, []) if p > c.pos]
        evidence = [_error_evidence(self.outcome), *self._finding_evidence(name)]
        if below:
            self.diag.add(
                Cause(
                    "execution-order",
                    f"uses `{name}`, which only {cell_label(below[0])} (below it) defines",
                    STRENGTH["static-finding"],
                    evidence,
                )
            )
            return True
        if book.top[c.pos].get(name) is None and not any(
            q.facts.opaque for q in book.code[: c.pos]
        ):
            self.diag.add(
                Cause(
                    "hidden-state",
                    f"uses `{name}`, which no cell of the notebook defines",
                    STRENGTH["static-finding"],
                    evidence,
                )
            )
            return True
        return False

    def _finding_evidence(self, name: str) -> list[Evidence]:
        out = []
        for finding in self.book.findings().get(self.outcome.index, []):
            if f"`{name}`" in finding.message or f"'{name}'" in finding.message:
                out.append(
                    Evidence(
                        "check-finding",
                        f"nbrepro check {finding.rule} ({finding.name}) about `{name}`",
                        finding.to_dict(),
                    )
                )
        return out

    # -- nondeterminism and outside resources -----------------------------------------------

    def _hash_seed_fixed(self) -> bool:
        value = self.book.kernel_env.get("PYTHONHASHSEED")
        return value is not None and value != "random"

    def _nondeterminism(self) -> None:
        book, c, o = self.book, self.code, self.outcome
        assert c is not None
        kinds = set(NONDETERMINISM_KINDS)
        if self._hash_seed_fixed():
            kinds.discard("hash-order")
        own = c.static.of_kind(kinds)
        statuses = set(o.run_statuses)
        differ = o.status == "nondeterministic" or len(statuses - {"skipped"}) > 1
        if differ:
            detail = (
                o.summary
                if o.status == "nondeterministic"
                else (f"run statuses differ: {', '.join(o.run_statuses)}")
            )
            evidence = [Evidence("runs", detail, {"run_statuses": list(o.run_statuses)})]
            evidence += [_hint_evidence(h, c) for h in own]
            upstream = book.taint[c.pos].get("nondeterminism")
            if not own and upstream is not None and upstream.evidence[0].kind == "dataflow":
                evidence += upstream.evidence
            self.diag.add(
                Cause(
                    "nondeterminism",
                    "gives different outputs in fresh runs",
                    STRENGTH["runs-differ"],
                    evidence,
                )
            )
            return
        if o.status != "mismatch":
            return
        if book.runs > 1:
            clock = c.static.of_kind(["clock"])
            if clock:
                self.diag.add(
                    Cause(
                        "external-resource",
                        f"reads the clock ({clock[0].what}), which moved on since it ran; "
                        f"{book.runs} fresh runs agree",
                        STRENGTH["static-hint"] + 5,
                        [_hint_evidence(h, c) for h in clock]
                        + [Evidence("runs", f"{book.runs} fresh runs agree on this cell")],
                    )
                )
            self.diag.checked.append(f"determinism: {book.runs} fresh runs agree")
            return
        self.diag.checked.append(f"determinism: {_NOTE_RUNS}")
        if own:
            self.diag.add(
                Cause(
                    "nondeterminism",
                    f"{own[0].message}",
                    STRENGTH["static-hint"],
                    [_hint_evidence(h, c) for h in own],
                )
            )
            return
        upstream = book.taint[c.pos].get("nondeterminism")
        if upstream is not None and upstream.evidence[0].kind == "dataflow":
            self.diag.add(
                Cause(
                    "nondeterminism",
                    f"uses {upstream.summary}",
                    STRENGTH["static-hint"] - 5,
                    list(upstream.evidence),
                )
            )
        else:
            self.diag.checked.append(
                "static hints: no unseeded randomness, clock, uuid or set order"
            )

    def _network(self) -> None:
        c, o = self.code, self.outcome
        assert c is not None
        if "external-resource" in self.diag.cause_ids or o.status not in ("mismatch", "error"):
            return
        network = c.static.of_kind(["network"])
        if network:
            self.diag.add(
                Cause(
                    "external-resource",
                    f"depends on the network ({network[0].what})",
                    STRENGTH["static-hint"],
                    [_hint_evidence(h, c) for h in network],
                )
            )
        reads = sorted(c.static.env_reads)
        if reads:
            recorded = set(((self.book.prov or {}).get("environment") or {}).get("env_vars") or {})
            unrecorded = [r for r in reads if r not in recorded]
            if unrecorded:
                self.diag.checked.append(
                    "reads environment variables the recorder does not keep: "
                    + ", ".join(f"${r}" for r in unrecorded)
                )


def _show(value: str | None) -> str:
    return "unset" if value is None else repr(value)


def diagnose_notebook(
    nb: dict[str, Any],
    outcomes: Sequence[CellOutcome],
    *,
    drift: DriftReport | None = None,
    runs: int = 1,
    baseline: str = "stored",
    kernel_env: Mapping[str, str] | None = None,
    status: str = "not-reproduced",
    provenance: Mapping[str, Any] | None = None,
) -> NotebookDiagnosis:
    """Diagnose every failing cell of one verified notebook.

    ``outcomes`` are verify's cell reports (any objects with the :class:`CellOutcome` fields);
    ``drift`` the drift check of the recorded provenance (``None``: not checked); ``runs`` the
    number of fresh runs made; ``baseline`` ``stored``, ``against`` or ``none`` (recorded
    provenance describes the stored outputs only); ``kernel_env`` the environment the kernel ran
    with (default: this process's); ``status`` the notebook's verdict (for the summary line);
    ``provenance`` what is known of how the stored outputs were made, in the shape of
    ``metadata.nbrepro``, when it is not the notebook's own (a stored run: its manifest, see
    :func:`nbrepro.runs.reproduce.run_provenance`); ``drift`` is then the drift of that.
    """
    failing = [o for o in outcomes if o.status in FAILING]
    result = NotebookDiagnosis()
    if not failing:
        return result
    env = dict(os.environ if kernel_env is None else kernel_env)
    book = _Notebook(nb, drift, runs, baseline, env, provenance)
    for outcome in sorted(failing, key=lambda o: o.index):
        result.cells[outcome.index] = _Attributor(book, outcome, outcomes, result.cells).run()
    result.summary = summary_line(result, status)
    return result


def summary_line(diagnosis: NotebookDiagnosis, status: str) -> str:
    """One line for the notebook: its strongest root cause, the cells that failed because of it,
    and how many other cells failed on their own account.

    Consequences (cells whose :attr:`~CellDiagnosis.root` is another failing cell) are not
    counted as separate problems: they are listed after the root cell they follow from.
    """
    if not diagnosis.cells:
        return ""
    roots = [d for d in diagnosis.cells.values() if d.root is None] or list(
        diagnosis.cells.values()
    )
    lead = min(roots, key=lambda d: (d.cause.id == "unknown", -d.cause.strength, d.index))
    head = "could not run" if status == "could-not-run" else "not reproducible"
    follow = sorted(i for i, d in diagnosis.cells.items() if _root_of(diagnosis, d) == lead.index)
    follow = [i for i in follow if i != lead.index]
    parts = []
    if follow:
        shown = cell_numbers(follow[:5]) + (", ..." if len(follow) > 5 else "")
        word = "cell" if len(follow) == 1 else "cells"
        parts.append(f"{word} {shown} failed because of it")
    others = len(roots) - 1
    if others:
        parts.append(f"and {others} more cell{'s' if others != 1 else ''}")
    more = f" ({'; '.join(parts)})" if parts else ""
    return f"{head}: {cell_label(lead.index)} {lead.cause.summary}{more}"


def _root_of(diagnosis: NotebookDiagnosis, cell: CellDiagnosis) -> int:
    """The index of the cell at the end of ``cell``'s chain of consequences."""
    seen = {cell.index}
    while cell.root is not None and cell.root not in seen and cell.root in diagnosis.cells:
        seen.add(cell.root)
        cell = diagnosis.cells[cell.root]
    return cell.index
