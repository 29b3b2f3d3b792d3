"""Opening the journal's SQLite file: connections, the schema, corrupt files moved aside.

SQLite errors fall in three classes (:func:`classify`):

* ``"retry"`` — the file is locked by another process, the disk is full, the folder is not
  writable (yet): the write is retried later, nothing is lost;
* ``"corrupt"`` — the file is not a database (a text file, a bad header) or is malformed (a
  truncated file): it is moved aside to ``<name>.corrupt-<timestamp>`` (:func:`quarantine`) and a
  new journal is started, as nbformat's signature store does;
* ``"skip"`` — one write does not fit the tables (a constraint): that write is dropped.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

#: Version of the tables below; a store written by a newer nbrepro is refused.
STORE_VERSION = 1

SCHEMA_STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS notebooks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS lineages (
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
)""",
    "CREATE INDEX IF NOT EXISTS lineages_by_notebook ON lineages(notebook_id)",
    """CREATE TABLE IF NOT EXISTS executions (
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
)""",
)

# SQLite's primary result codes (https://www.sqlite.org/rescode.html).
_PERM, _BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR = 3, 5, 6, 7, 8, 10
_CORRUPT, _FULL, _CANTOPEN, _PROTOCOL, _NOTADB = 11, 13, 14, 15, 26
_RETRY_CODES = frozenset({_PERM, _BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _FULL, _CANTOPEN,
                          _PROTOCOL})  # fmt: skip
_CORRUPT_CODES = frozenset({_CORRUPT, _NOTADB})
_RETRY_WORDS = ("locked", "busy", "full", "disk i/o", "unable to open", "readonly", "read-only")
_CORRUPT_WORDS = ("not a database", "malformed", "corrupt")


class NewerStore(Exception):
    """The journal was written by a newer nbrepro (its store version is higher)."""


def classify(exc: BaseException) -> str:
    """``"retry"``, ``"corrupt"`` or ``"skip"``: what to do about a SQLite error (an
    :class:`OSError` around the file is ``"retry"``)."""
    if isinstance(exc, OSError):
        return "retry"
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF
        if primary in _CORRUPT_CODES:
            return "corrupt"
        if primary in _RETRY_CODES:
            return "retry"
    text = str(exc).lower()
    if any(word in text for word in _CORRUPT_WORDS):
        return "corrupt"
    if any(word in text for word in _RETRY_WORDS):
        return "retry"
    if isinstance(exc, sqlite3.OperationalError):
        return "retry"
    return "skip"


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """An autocommit connection usable from any thread (callers serialise its use), with a
    busy timeout of ``timeout`` seconds."""
    db = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def check_readable(db: sqlite3.Connection) -> None:
    """Raise the SQLite error of a file that is not a sound database (bad header, text,
    truncated); a busy file raises its ``database is locked`` error."""
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    row = db.execute("PRAGMA quick_check(1)").fetchone()
    if row is not None and str(row[0]).lower() != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed ({row[0]})")


def stored_version(db: sqlite3.Connection) -> int | None:
    """The store version the file records (``None``: none yet)."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if has_meta is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
    if row is None:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        return None


def check_version(db: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`NewerStore` for a journal of a newer nbrepro."""
    version = stored_version(db)
    if version is not None and version > STORE_VERSION:
        raise NewerStore(f"{path}: journal written by a newer nbrepro (store version {version})")


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Switch the file to WAL mode and create the tables (one immediate transaction); raises
    SQLite's error when the file is locked, and :class:`NewerStore`."""
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        raise sqlite3.OperationalError("database is locked (cannot switch to WAL mode)")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA_STATEMENTS:
            db.execute(statement)
        version = stored_version(db)
        if version is None:
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('version', ?)",
                (str(STORE_VERSION),),
            )
        elif version > STORE_VERSION:
            raise NewerStore(
                f"{path}: journal written by a newer nbrepro (store version {version})"
            )
        db.execute("COMMIT")
    except BaseException:
        rollback(db)
        raise


def rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any (never raises)."""
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def quarantine(path: Path) -> Path:
    """Move a corrupt journal (and its ``-wal``/``-shm`` files) aside to
    ``<name>.corrupt-<timestamp>``; returns the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            try:
                os.replace(side, target.with_name(target.name + suffix))
            except OSError:
                side.unlink(missing_ok=True)
    return target


def close_quietly(db: sqlite3.Connection | None) -> None:
    """Close a connection, ignoring errors."""
    if db is not None:
        with contextlib.suppress(sqlite3.Error):
            db.close()
