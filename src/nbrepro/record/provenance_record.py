"""The ``metadata.nbrepro`` record, laid out in one place for every producer.

Three producers describe how a notebook's outputs were made, each from what it can see:

* the in-kernel recorder (:meth:`nbrepro.record.recorder.Recorder.provenance`): the whole
  environment, the files each cell read and wrote, the execution journal, deleted cells;
* the server's relay for kernels without the recorder (``"recorder": "relay"``,
  :func:`nbrepro.server.save_hook.relay_provenance`): the kernel's name and language and the
  executions it relayed, no files;
* a stored run (:func:`nbrepro.runs.reproduce.run_provenance`): the run's environment and
  inputs and, per cell, how it went; no journal (a run runs top to bottom).

Each gives its facts to a :class:`ProvenanceRecord`; :meth:`ProvenanceRecord.to_json` lays them
out as ``nbrepro/schemas/provenance.schema.json`` describes (``docs/provenance.md``), with the
same keys in the same order for the same facts: ``schema_version``, ``nbrepro_version``,
``recorder`` (only when not the in-kernel recorder), ``session``, ``environment``, ``inputs``
(sorted by path), ``cells`` (sorted by id), ``executions`` (oldest first) and
``deleted_cells`` (sorted) — the last two only when the producer keeps them.

Core: plain data, standard library only (it is imported in every recording kernel). The
per-entry records are slotted, not frozen: a save builds one per execution (up to the journal
cap of 1,000), and a frozen dataclass costs several times as much to create.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import __version__
from ..provenance import DERIVED_ID_PREFIX, SCHEMA_VERSION

#: ``recorder`` of a record made by the server from relayed messages.
RELAY = "relay"
#: The keys of a record, in the order every producer writes them (those it has).
RECORD_KEYS = (
    "schema_version",
    "nbrepro_version",
    "recorder",
    "session",
    "environment",
    "inputs",
    "cells",
    "executions",
    "deleted_cells",
)

CellIdSource = Literal["frontend", "derived"]


def derived_cell_id(source_hash: str) -> str:
    """The id of a cell whose frontend sent none: ``src-`` + 16 hex digits of its source hash."""
    return DERIVED_ID_PREFIX + source_hash.split(":", 1)[-1][:16]


def kernel_environment(name: str | None, language: str | None) -> dict[str, Any]:
    """The environment of a record that knows only the kernel (``#/$defs/kernel_environment``)."""
    return {"kernel": {"name": name or "", "language": language or ""}}


@dataclass(frozen=True)
class Session:
    """The kernel lineage (or run) that made the executions."""

    id: str
    started: str

    def to_json(self) -> dict[str, Any]:
        """``{"id", "started"}``."""
        return {"id": self.id, "started": self.started}


@dataclass(slots=True)
class InputRecord:
    """A file or directory read or written (``#/$defs/input``)."""

    hash: str | None
    size: int
    kind: Literal["file", "directory", "large"]
    produced: bool = False
    #: Modification time, for ``kind`` ``large`` (not hashed past the size cap).
    mtime_ns: int | None = None
    #: A directory whose manifest covers the whole tree.
    recursive: bool = False

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> InputRecord:
        """The record of an input entry (a recorder's, or a run manifest's: extra keys, such as a
        manifest's ``source``, are not part of it)."""
        mtime = entry.get("mtime_ns")
        return cls(
            hash=entry.get("hash"),
            size=int(entry.get("size") or 0),
            kind=entry.get("kind") or "file",
            produced=bool(entry.get("produced")),
            mtime_ns=mtime if isinstance(mtime, int) else None,
            recursive=bool(entry.get("recursive")),
        )

    def to_json(self) -> dict[str, Any]:
        """``hash, size, kind, produced`` then ``mtime_ns`` and ``recursive`` when they apply."""
        out: dict[str, Any] = {
            "hash": self.hash,
            "size": self.size,
            "kind": self.kind,
            "produced": self.produced,
        }
        if self.mtime_ns is not None:
            out["mtime_ns"] = self.mtime_ns
        if self.recursive:
            out["recursive"] = True
        return out


@dataclass(slots=True)
class CellRecord:
    """A code cell's last execution (``#/$defs/cell``)."""

    source_hash: str
    status: Literal["ok", "error"]
    execution_count: int | None = None
    #: The exception's class name when ``status`` is ``error``.
    error: str | None = None
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ()

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> CellRecord:
        """The record of a cell entry as the recorder keeps it."""
        return cls(
            source_hash=entry["source_hash"],
            status=entry["status"],
            execution_count=entry.get("execution_count"),
            error=entry.get("error"),
            inputs=tuple(entry.get("inputs") or ()),
            outputs=tuple(entry.get("outputs") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        """``execution_count, source_hash, status, error, inputs, outputs``."""
        return {
            "execution_count": self.execution_count,
            "source_hash": self.source_hash,
            "status": self.status,
            "error": self.error,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }


@dataclass(slots=True)
class ExecutionRecord:
    """One execution, in the order they happened (``#/$defs/execution``)."""

    cell_id: str
    source_hash: str
    started: str
    ended: str
    status: Literal["ok", "error"]
    execution_count: int | None = None
    error: str | None = None
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ()
    #: ``frontend``: sent with the execute request; ``derived``: :func:`derived_cell_id`.
    cell_id_source: CellIdSource = "frontend"
    #: Cells the frontend reported deleted with this request (key left out when none).
    deleted_cells: Sequence[str] = ()

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ExecutionRecord:
        """The record of an execution entry as the recorder keeps it."""
        return cls(
            cell_id=entry["cell_id"],
            source_hash=entry["source_hash"],
            started=entry["started"],
            ended=entry["ended"],
            status=entry["status"],
            execution_count=entry.get("execution_count"),
            error=entry.get("error"),
            inputs=tuple(entry.get("inputs") or ()),
            outputs=tuple(entry.get("outputs") or ()),
            cell_id_source=entry.get("cell_id_source") or "frontend",
            deleted_cells=tuple(entry.get("deleted_cells") or ()),
        )

    def cell(self) -> CellRecord:
        """The cell's record when this is its last execution."""
        return CellRecord(
            source_hash=self.source_hash,
            status=self.status,
            execution_count=self.execution_count,
            error=self.error,
            inputs=self.inputs,
            outputs=self.outputs,
        )

    def to_json(self) -> dict[str, Any]:
        """``cell_id, cell_id_source, execution_count, source_hash, started, ended, status,
        error, inputs, outputs`` and ``deleted_cells`` when there are any."""
        out: dict[str, Any] = {
            "cell_id": self.cell_id,
            "cell_id_source": self.cell_id_source,
            "execution_count": self.execution_count,
            "source_hash": self.source_hash,
            "started": self.started,
            "ended": self.ended,
            "status": self.status,
            "error": self.error,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }
        if self.deleted_cells:
            out["deleted_cells"] = list(self.deleted_cells)
        return out


@dataclass(frozen=True)
class ProvenanceRecord:
    """Everything one producer knows of how the outputs were made (see the module docstring)."""

    session: Session
    #: ``#/$defs/environment``, or :func:`kernel_environment` for a relay record.
    environment: Mapping[str, Any]
    inputs: Mapping[str, InputRecord] | None = None
    #: Per cell id its last execution; ``None``: each cell's last one in :attr:`executions`.
    cells: Mapping[str, CellRecord] | None = None
    #: The journal, oldest first; ``None``: the producer keeps none (the key is left out).
    executions: Sequence[ExecutionRecord] | None = None
    #: ``None``: the producer cannot know (the key is left out).
    deleted_cells: Iterable[str] | None = None
    #: ``None``: the in-kernel recorder (the schema's default; the key is left out).
    recorder: str | None = None

    @classmethod
    def from_json(cls, prov: Mapping[str, Any]) -> ProvenanceRecord:
        """The facts of a ``metadata.nbrepro`` object (as a producer wrote it: keys of a kept
        earlier session, such as a cell's ``session``, are not part of a producer's record)."""
        session = prov.get("session") or {}
        executions = prov.get("executions")
        deleted = prov.get("deleted_cells")
        return cls(
            session=Session(str(session.get("id", "")), str(session.get("started", ""))),
            environment=dict(prov.get("environment") or {}),
            inputs={p: InputRecord.from_json(e) for p, e in (prov.get("inputs") or {}).items()},
            cells={c: CellRecord.from_json(e) for c, e in (prov.get("cells") or {}).items()},
            executions=None
            if executions is None
            else [ExecutionRecord.from_json(e) for e in executions],
            deleted_cells=None if deleted is None else list(deleted),
            recorder=prov.get("recorder"),
        )

    def cell_records(self) -> dict[str, CellRecord]:
        """:attr:`cells`, or each cell's last execution when none were given."""
        if self.cells is not None:
            return dict(self.cells)
        return {e.cell_id: e.cell() for e in self.executions or ()}

    def to_json(self) -> dict[str, Any]:
        """The ``metadata.nbrepro`` object (new lists and dicts, safe to change)."""
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "nbrepro_version": __version__}
        if self.recorder is not None:
            out["recorder"] = self.recorder
        inputs = self.inputs or {}
        cells = self.cell_records()
        out.update(
            {
                "session": self.session.to_json(),
                "environment": dict(self.environment),
                "inputs": {path: inputs[path].to_json() for path in sorted(inputs)},
                "cells": {cid: cells[cid].to_json() for cid in sorted(cells)},
            }
        )
        if self.executions is not None:
            out["executions"] = [e.to_json() for e in self.executions]
        if self.deleted_cells is not None:
            out["deleted_cells"] = sorted(set(self.deleted_cells))
        return out


def provenance_record(
    *,
    session: Session,
    environment: Mapping[str, Any],
    inputs: Mapping[str, InputRecord] | None = None,
    cells: Mapping[str, CellRecord] | None = None,
    executions: Sequence[ExecutionRecord] | None = None,
    deleted_cells: Iterable[str] | None = None,
    recorder: str | None = None,
) -> dict[str, Any]:
    """``ProvenanceRecord(...).to_json()``: the ``metadata.nbrepro`` object for these facts."""
    return ProvenanceRecord(
        session=session,
        environment=environment,
        inputs=inputs,
        cells=cells,
        executions=executions,
        deleted_cells=deleted_cells,
        recorder=recorder,
    ).to_json()
