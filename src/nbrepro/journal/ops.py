"""The journal's writes as values: applied to SQLite by the writer thread, and replayed over
what the file holds by readers, so that a read answers every write asked for so far, also
while the file is locked or cannot be written.

Each write is one small frozen dataclass (:data:`Op`). :func:`apply` runs one in an open
transaction; :class:`View` replays the writes not yet committed over rows read from the file.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, replace

from .records import Execution, Lineage, utcnow_iso


@dataclass(frozen=True)
class StartLineage:
    """A kernel (re)started for a notebook: a new lineage."""

    lineage: Lineage


@dataclass(frozen=True)
class EndLineage:
    """A lineage ended (restart, shutdown)."""

    lineage_id: str
    ended: str
    reason: str


@dataclass(frozen=True)
class SetRecorder:
    """How a lineage is recorded changed."""

    lineage_id: str
    recorder: str


@dataclass(frozen=True)
class RecordExecution:
    """One execution appended to a lineage (its ``seq`` assigned by the store)."""

    lineage_id: str
    execution: Execution


@dataclass(frozen=True)
class Rename:
    """A notebook or a folder moved (the journal kept under the new path is replaced)."""

    old: str
    new: str


@dataclass(frozen=True)
class Forget:
    """A notebook was deleted: drop its journal."""

    path: str


Op = StartLineage | EndLineage | SetRecorder | RecordExecution | Rename | Forget


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or lies below it."""
    return path == prefix or path.startswith(prefix + os.sep)


def apply(db: sqlite3.Connection, op: Op, max_lineages: int) -> None:
    """Run one write in the open transaction of ``db``."""
    if isinstance(op, StartLineage):
        lin = op.lineage
        nb_id = _notebook_id(db, lin.path)
        db.execute(
            "INSERT INTO lineages(id, notebook_id, kernel_id, kernel_name, language, recorder,"
            " reason, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (lin.id, nb_id, lin.kernel_id, lin.kernel_name, lin.language, lin.recorder,
             lin.reason, lin.started),
        )  # fmt: skip
        stale = db.execute(
            "SELECT id FROM lineages WHERE notebook_id=? ORDER BY rowid DESC LIMIT -1 OFFSET ?",
            (nb_id, max(1, max_lineages)),
        ).fetchall()
        for (old_id,) in stale:
            db.execute("DELETE FROM lineages WHERE id=?", (old_id,))
    elif isinstance(op, EndLineage):
        db.execute(
            "UPDATE lineages SET ended=?, end_reason=? WHERE id=? AND ended IS NULL",
            (op.ended, op.reason, op.lineage_id),
        )
    elif isinstance(op, SetRecorder):
        db.execute("UPDATE lineages SET recorder=? WHERE id=?", (op.recorder, op.lineage_id))
    elif isinstance(op, RecordExecution):
        ex = op.execution
        db.execute(
            "INSERT INTO executions(lineage_id, seq, cell_id, execution_count, source_hash,"
            " status, error, started, finished, duration) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (op.lineage_id, ex.seq, ex.cell_id, ex.execution_count, ex.source_hash, ex.status,
             ex.error, ex.started, ex.finished, ex.duration),
        )  # fmt: skip
    elif isinstance(op, Rename):
        rows = db.execute(
            "SELECT id, path FROM notebooks WHERE path=? OR substr(path, 1, ?)=?",
            (op.old, len(op.old) + 1, op.old + os.sep),
        ).fetchall()
        for nb_id, path in rows:
            target = op.new + path[len(op.old) :]
            db.execute("DELETE FROM notebooks WHERE path=?", (target,))
            db.execute("UPDATE notebooks SET path=? WHERE id=?", (target, nb_id))
    elif isinstance(op, Forget):
        db.execute("DELETE FROM notebooks WHERE path=?", (op.path,))


def _notebook_id(db: sqlite3.Connection, path: str) -> int:
    row = db.execute("SELECT id FROM notebooks WHERE path=?", (path,)).fetchone()
    if row is not None:
        return int(row[0])
    cur = db.execute("INSERT INTO notebooks(path, created) VALUES (?, ?)", (path, utcnow_iso()))
    return int(cur.lastrowid or 0)


def sources(paths: set[str], ops: list[Op]) -> set[str]:
    """Every path whose journal the pending renames in ``ops`` move onto one of ``paths``
    (``paths`` included): what a reader must read from the file."""
    found = set(paths)
    for op in reversed(ops):
        if isinstance(op, Rename):
            for path in list(found):
                if under(path, op.new):
                    found.add(op.old + path[len(op.new) :])
    return found


class View:
    """Lineages of some notebooks as the file holds them, with the pending writes replayed."""

    def __init__(self, rows: dict[str, list[Lineage]], max_lineages: int) -> None:
        self.by_path = {path: list(lineages) for path, lineages in rows.items()}
        self.max_lineages = max(1, max_lineages)

    def replay(self, ops: list[Op]) -> View:
        """Apply ``ops`` (oldest first) as the writer will."""
        for op in ops:
            if isinstance(op, StartLineage):
                kept = self.by_path.setdefault(op.lineage.path, [])
                kept.append(op.lineage)
                del kept[: -self.max_lineages]
            elif isinstance(op, EndLineage):
                self._update(op.lineage_id, ended=op.ended, end_reason=op.reason, only_open=True)
            elif isinstance(op, SetRecorder):
                self._update(op.lineage_id, recorder=op.recorder)
            elif isinstance(op, RecordExecution):
                self._count(op.lineage_id)
            elif isinstance(op, Rename):
                for path in [p for p in self.by_path if under(p, op.old)]:
                    moved = self.by_path.pop(path)
                    if moved:
                        target = op.new + path[len(op.old) :]
                        self.by_path[target] = [replace(lin, path=target) for lin in moved]
            elif isinstance(op, Forget):
                self.by_path.pop(op.path, None)
        return self

    def _find(self, lineage_id: str) -> tuple[list[Lineage], int] | None:
        for lineages in self.by_path.values():
            for i, lin in enumerate(lineages):
                if lin.id == lineage_id:
                    return lineages, i
        return None

    def _update(self, lineage_id: str, *, only_open: bool = False, **changes: str) -> None:
        hit = self._find(lineage_id)
        if hit is None:
            return
        lineages, i = hit
        if only_open and lineages[i].ended is not None:
            return
        lineages[i] = replace(lineages[i], **changes)  # type: ignore[arg-type]

    def _count(self, lineage_id: str) -> None:
        hit = self._find(lineage_id)
        if hit is not None:
            lineages, i = hit
            lineages[i] = replace(lineages[i], executions=lineages[i].executions + 1)

    def lineages(self, path: str) -> list[Lineage]:
        """The lineages of one notebook, oldest first."""
        return list(self.by_path.get(path, []))


def replay_paths(paths: set[str], ops: list[Op]) -> set[str]:
    """The notebooks with a journal once ``ops`` are applied to those of the file (``paths``)."""
    found = set(paths)
    for op in ops:
        if isinstance(op, StartLineage):
            found.add(op.lineage.path)
        elif isinstance(op, Rename):
            for path in [p for p in found if under(p, op.old)]:
                found.discard(path)
                found.add(op.new + path[len(op.old) :])
        elif isinstance(op, Forget):
            found.discard(op.path)
    return found
