"""The journal store: SQLite in WAL mode, one row per execution, grouped in kernel lineages.

A *lineage* is the life of one kernel process for one notebook: it starts when a kernel starts
(reason ``"start"``) or restarts (reason ``"restart"``) and ends when the kernel restarts, shuts
down or the server stops. Notebooks are keyed by their absolute path; :meth:`JournalStore.rename`
moves a notebook's (or a folder's) journal to its new path.

The store is safe to open from several processes at once (two servers, a server and a CLI):
SQLite's WAL mode lets readers and one writer work concurrently, and a busy timeout makes writers
wait for each other instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError

#: The journal's file name under the Jupyter data directory's ``nbrepro`` folder.
DEFAULT_FILENAME = "journal.sqlite3"
#: Version of the tables below; a store written by a newer nbrepro is refused.
STORE_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notebooks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lineages (
    id TEXT PRIMARY KEY,
    notebook_id INTEGER NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
    kernel_id TEXT,
    kernel_name TEXT,
    language TEXT,
    recorder TEXT,
    reason TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    end_reason TEXT
);
CREATE INDEX IF NOT EXISTS lineages_by_notebook ON lineages(notebook_id);
CREATE TABLE IF NOT EXISTS executions (
    lineage_id TEXT NOT NULL REFERENCES lineages(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    cell_id TEXT,
    execution_count INTEGER,
    source_hash TEXT,
    status TEXT NOT NULL,
    error TEXT,
    started TEXT,
    finished TEXT,
    duration REAL,
    PRIMARY KEY (lineage_id, seq)
);
"""


def utcnow_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds (``2024-05-01T12:00:00.000Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_journal_path() -> Path:
    """``<jupyter data dir>/nbrepro/journal.sqlite3``."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "nbrepro" / DEFAULT_FILENAME


@dataclass(frozen=True)
class Lineage:
    """One kernel process's life for one notebook."""

    id: str
    path: str
    kernel_id: str | None
    kernel_name: str | None
    language: str | None
    #: How executions are recorded: ``"python"`` (in-kernel recorder + relay) or ``"relay"``.
    recorder: str | None
    #: Why the lineage began: ``"start"`` (a new kernel) or ``"restart"``.
    reason: str
    started: str
    ended: str | None
    end_reason: str | None
    #: Number of executions recorded in this lineage.
    executions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class Execution:
    """One execution of a cell, as relayed between the frontend and the kernel."""

    seq: int
    cell_id: str | None
    execution_count: int | None
    source_hash: str | None
    #: ``"ok"``, ``"error"`` or ``"aborted"`` (the kernel's reply status).
    status: str
    #: The exception's name when ``status`` is ``"error"``.
    error: str | None
    started: str | None
    finished: str | None
    duration: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class JournalStore:
    """The execution journal of every notebook, in one SQLite file.

    ``path`` defaults to :func:`default_journal_path`. At most ``max_lineages`` lineages are
    kept per notebook (the oldest are dropped when a new one starts).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, max_lineages: int = 50):
        self._path = Path(path) if path else default_journal_path()
        self.max_lineages = max_lineages
        self._lock = threading.Lock()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self._path), timeout=10.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            with self._transaction():
                row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO meta(key, value) VALUES ('version', ?)", (str(STORE_VERSION),)
                    )
                elif int(row[0]) > STORE_VERSION:
                    raise InputError(
                        f"{self._path}: journal written by a newer nbrepro (store version {row[0]})"
                    )
        except sqlite3.Error as exc:
            raise InputError(f"{self._path}: cannot open the journal: {exc}") from None

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _notebook_id(self, path: str) -> int:
        row = self._db.execute("SELECT id FROM notebooks WHERE path=?", (path,)).fetchone()
        if row is not None:
            return int(row[0])
        cur = self._db.execute(
            "INSERT INTO notebooks(path, created) VALUES (?, ?)", (path, utcnow_iso())
        )
        return int(cur.lastrowid or 0)

    def start_lineage(
        self,
        notebook: str | os.PathLike[str],
        *,
        kernel_id: str | None = None,
        kernel_name: str | None = None,
        language: str | None = None,
        recorder: str | None = None,
        reason: str = "start",
    ) -> Lineage:
        """Open a new lineage for ``notebook`` (absolute path) and return it."""
        path = _key(notebook)
        lineage_id = str(uuid.uuid4())
        started = utcnow_iso()
        with self._lock, self._transaction():
            nb_id = self._notebook_id(path)
            self._db.execute(
                "INSERT INTO lineages(id, notebook_id, kernel_id, kernel_name, language, recorder,"
                " reason, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (lineage_id, nb_id, kernel_id, kernel_name, language, recorder, reason, started),
            )
            stale = self._db.execute(
                "SELECT id FROM lineages WHERE notebook_id=? ORDER BY rowid DESC LIMIT -1 OFFSET ?",
                (nb_id, max(1, self.max_lineages)),
            ).fetchall()
            for (old_id,) in stale:
                self._db.execute("DELETE FROM lineages WHERE id=?", (old_id,))
        return Lineage(
            lineage_id, path, kernel_id, kernel_name, language, recorder, reason, started,
            None, None, 0,
        )  # fmt: skip

    def end_lineage(self, lineage_id: str, reason: str) -> None:
        """Mark a lineage as ended (``reason``: ``"restart"`` or ``"shutdown"``)."""
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE lineages SET ended=?, end_reason=? WHERE id=? AND ended IS NULL",
                (utcnow_iso(), reason, lineage_id),
            )

    def set_recorder(self, lineage_id: str, recorder: str) -> None:
        """Change how a lineage is recorded (e.g. the in-kernel recorder failed to load)."""
        with self._lock, self._transaction():
            self._db.execute("UPDATE lineages SET recorder=? WHERE id=?", (recorder, lineage_id))

    def record_execution(
        self,
        lineage_id: str,
        *,
        cell_id: str | None,
        execution_count: int | None,
        source_hash: str | None,
        status: str,
        error: str | None = None,
        started: str | None = None,
        finished: str | None = None,
        duration: float | None = None,
    ) -> Execution:
        """Append one execution to a lineage; return it with its sequence number."""
        with self._lock, self._transaction():
            row = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM executions WHERE lineage_id=?", (lineage_id,)
            ).fetchone()
            seq = int(row[0]) + 1
            self._db.execute(
                "INSERT INTO executions(lineage_id, seq, cell_id, execution_count, source_hash,"
                " status, error, started, finished, duration) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (lineage_id, seq, cell_id, execution_count, source_hash, status, error,
                 started, finished, duration),
            )  # fmt: skip
        return Execution(
            seq, cell_id, execution_count, source_hash, status, error, started, finished, duration
        )

    def rename(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int:
        """Move the journal of a notebook, or of every notebook under a folder, to a new path.

        A journal already kept under the new path is replaced (the file there was overwritten).
        Returns the number of notebooks moved.
        """
        old_key, new_key = _key(old), _key(new)
        if old_key == new_key:
            return 0
        moved = 0
        with self._lock, self._transaction():
            rows = self._db.execute(
                "SELECT id, path FROM notebooks WHERE path=? OR substr(path, 1, ?)=?",
                (old_key, len(old_key) + 1, old_key + os.sep),
            ).fetchall()
            for nb_id, path in rows:
                target = new_key + path[len(old_key) :]
                self._db.execute("DELETE FROM notebooks WHERE path=?", (target,))
                self._db.execute("UPDATE notebooks SET path=? WHERE id=?", (target, nb_id))
                moved += 1
        return moved

    def forget(self, notebook: str | os.PathLike[str]) -> None:
        """Drop a notebook's journal (the file was deleted)."""
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM notebooks WHERE path=?", (_key(notebook),))

    # -- reading -------------------------------------------------------------------------

    def lineages(self, notebook: str | os.PathLike[str]) -> list[Lineage]:
        """Every kept lineage of a notebook, oldest first."""
        path = _key(notebook)
        with self._lock:
            rows = self._db.execute(
                "SELECT l.id, l.kernel_id, l.kernel_name, l.language, l.recorder, l.reason,"
                " l.started, l.ended, l.end_reason,"
                " (SELECT COUNT(*) FROM executions e WHERE e.lineage_id = l.id)"
                " FROM lineages l JOIN notebooks n ON n.id = l.notebook_id"
                " WHERE n.path=? ORDER BY l.rowid",
                (path,),
            ).fetchall()
        return [Lineage(r[0], path, *r[1:]) for r in rows]

    def executions(self, lineage_id: str) -> list[Execution]:
        """A lineage's executions, in the order they ran."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, cell_id, execution_count, source_hash, status, error, started,"
                " finished, duration FROM executions WHERE lineage_id=? ORDER BY seq",
                (lineage_id,),
            ).fetchall()
        return [Execution(*r) for r in rows]

    def notebooks(self) -> list[str]:
        """Paths of every notebook with a journal, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT path FROM notebooks ORDER BY path").fetchall()
        return [r[0] for r in rows]


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _key(path: str | os.PathLike[str]) -> str:
    """The journal key of a notebook: its absolute, normalised path."""
    return os.path.normpath(os.path.abspath(os.fspath(path)))
