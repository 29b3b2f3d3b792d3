"""The journal store: SQLite in WAL mode, one row per execution, grouped in kernel lineages.

A *lineage* is the life of one kernel process for one notebook: it starts when a kernel starts
(reason ``"start"``) or restarts (reason ``"restart"``) and ends when the kernel restarts, shuts
down or the server stops. Notebooks are keyed by their absolute path; :meth:`JournalStore.rename`
moves a notebook's (or a folder's) journal to its new path.

Writing never waits for the file: every write is queued (bounded) and committed by a thread of
its own (:mod:`.writer`) with a short busy timeout, retried while another process holds the
file locked, the disk is full or the folder cannot be written. Reading waits at most a short
busy timeout and answers what the file holds with the writes still queued replayed over it
(:class:`.ops.View`): a read right after a write sees it, also while the file is locked.

The store is safe to open from several processes at once (two servers, a server and a CLI):
SQLite's WAL mode lets readers and one writer work concurrently. A corrupt file (not a database,
a bad header, truncated) is moved aside to ``journal.sqlite3.corrupt-<timestamp>`` and a new
journal is started, with a logged warning. A journal written by a newer nbrepro is refused
(:class:`~nbrepro.errors.InputError`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import sqlite
from .ops import (
    EndLineage,
    Forget,
    Op,
    RecordExecution,
    Rename,
    SetRecorder,
    StartLineage,
    View,
    replay_paths,
    sources,
    under,
)
from .records import Execution, Lineage, utcnow_iso
from .sqlite import STORE_VERSION
from .writer import JournalWriter

__all__ = [
    "DEFAULT_FILENAME",
    "STORE_VERSION",
    "Execution",
    "JournalStore",
    "Lineage",
    "default_journal_path",
    "utcnow_iso",
]

#: The journal's file name under the Jupyter data directory's ``nbrepro`` folder.
DEFAULT_FILENAME = "journal.sqlite3"
#: Writes kept in memory at most while the file cannot be written.
MAX_PENDING = 20_000
#: SQLite's busy timeout of one write attempt, and of a read, in seconds.
BUSY_TIMEOUT = 0.05
READ_TIMEOUT = 0.05
#: Seconds between two attempts to open the file for reading.
REOPEN_EVERY = 1.0
#: Lineages whose next sequence number is kept in memory, at most.
MAX_COUNTERS = 10_000


def default_journal_path() -> Path:
    """``<jupyter data dir>/nbrepro/journal.sqlite3``."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "nbrepro" / DEFAULT_FILENAME


class JournalStore:
    """The execution journal of every notebook, in one SQLite file.

    ``path`` defaults to :func:`default_journal_path`. At most ``max_lineages`` lineages are
    kept per notebook (the oldest are dropped when a new one starts). ``max_pending`` writes
    wait in memory at most while the file cannot be written; ``busy_timeout`` and
    ``read_timeout`` bound how long one attempt waits for another process's lock. ``log``
    receives the warnings (default: the ``nbrepro.journal`` logger). ``disabled``: do not
    open the file at all (why), keeping the journal in memory only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_lineages: int = 50,
        max_pending: int = MAX_PENDING,
        busy_timeout: float = BUSY_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        log: Any = None,
        disabled: str | None = None,
    ) -> None:
        self._path = Path(path) if path else default_journal_path()
        self.max_lineages = max_lineages
        self.read_timeout = read_timeout
        self.log = log if log is not None else logging.getLogger("nbrepro.journal")
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._reader: sqlite3.Connection | None = None
        self._reader_tried = 0.0
        self._open_error: str | None = None
        self._closed = False
        if disabled is None:
            self._open_reader()
        self._writer = JournalWriter(
            self._path,
            max_lineages=max_lineages,
            max_pending=max_pending,
            busy_timeout=busy_timeout,
            log=self.log,
            on_corrupt=self._corrupt,
            disabled=disabled,
        )

    @classmethod
    def unavailable(
        cls, path: str | os.PathLike[str] | None, reason: str, log: Any = None
    ) -> JournalStore:
        """A store that never touches its file (``reason``: why), keeping the journal of this
        process in memory (bounded)."""
        return cls(path, log=log, disabled=reason)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def problem(self) -> str | None:
        """Why the journal is not (fully) written to its file now (``None``: it is)."""
        return self._writer.problem or self._open_error

    @property
    def waiting(self) -> int:
        """Writes not committed to the file yet."""
        return self._writer.waiting

    @property
    def version(self) -> int:
        """A number that changes with every write asked for (what a read answers depends on
        nothing else of this process)."""
        return self._writer.submitted

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write so far is in the file; ``False`` when ``timeout`` seconds
        passed first (the writes stay queued)."""
        return self._writer.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for at most ``timeout`` seconds) and close the file."""
        if self._closed:
            return
        self._closed = True
        self._writer.close(timeout)
        with self._writer.commit_lock:
            sqlite.close_quietly(self._reader)
            self._reader = None

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -------------------------------------------------------------------------

    def _open_reader(self) -> None:
        """Open the reading connection; move a corrupt file aside; refuse a newer store."""
        self._reader_tried = time.monotonic()
        db: sqlite3.Connection | None = None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite.connect(self._path, self.read_timeout)
            try:
                sqlite.check_readable(db)
                sqlite.check_version(db, self._path)
            except sqlite3.Error as exc:
                if sqlite.classify(exc) != "corrupt":
                    raise
                sqlite.close_quietly(db)
                db = None
                self._move_aside(exc)
                db = sqlite.connect(self._path, self.read_timeout)
        except sqlite.NewerStore as exc:
            sqlite.close_quietly(db)
            raise InputError(str(exc)) from None
        except (sqlite3.Error, OSError) as exc:
            if not _locked(exc):  # a locked file is read once the lock is gone
                sqlite.close_quietly(db)
                db = None
                self._open_error = f"cannot open the journal {self._path}: {_reason(exc)}"
                self.log.warning(
                    "nbrepro: %s; executions are kept in memory and written once it can be",
                    self._open_error,
                )
        self._reader = db

    def _move_aside(self, exc: BaseException) -> None:
        moved = sqlite.quarantine(self._path)
        self.log.warning(
            "nbrepro: the journal %s is corrupt (%s): moved aside to %s; a new journal starts",
            self._path, exc, moved.name,
        )  # fmt: skip

    def _corrupt(self, path: Path, exc: BaseException) -> None:
        """The writer found the file corrupt (called under the commit lock)."""
        sqlite.close_quietly(self._reader)
        self._reader = None
        if path.exists():
            self._move_aside(exc)

    def _db(self) -> sqlite3.Connection | None:
        """The reading connection (hold the commit lock), reopened now and then when it
        could not be opened."""
        if (
            self._reader is None
            and not self._closed
            and not self._writer.disabled
            and time.monotonic() - self._reader_tried >= REOPEN_EVERY
            and self._path.exists()
        ):
            self._reader_tried = time.monotonic()
            try:
                self._reader = sqlite.connect(self._path, self.read_timeout)
                self._open_error = None
            except sqlite3.Error:
                self._reader = None
        return self._reader

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query (hold the commit lock); none when the file cannot be read now."""
        db = self._db()
        if db is None:
            return []
        try:
            return list(db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            self.log.debug("nbrepro: journal read failed (%s): answering what is known", exc)
            return []

    # -- writing -------------------------------------------------------------------------

    def _submit(self, op: Op) -> None:
        if not self._writer.submit(op):
            self.log.debug("nbrepro: journal write dropped: %r", op)

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
        lineage = Lineage(
            str(uuid.uuid4()), _key(notebook), kernel_id, kernel_name, language, recorder,
            reason, utcnow_iso(), None, None, 0,
        )  # fmt: skip
        with self._lock:
            self._seq[lineage.id] = 0
            while len(self._seq) > MAX_COUNTERS:
                self._seq.pop(next(iter(self._seq)))
        self._submit(StartLineage(lineage))
        return lineage

    def end_lineage(self, lineage_id: str, reason: str) -> None:
        """Mark a lineage as ended (``reason``: ``"restart"`` or ``"shutdown"``)."""
        self._submit(EndLineage(lineage_id, utcnow_iso(), reason))

    def set_recorder(self, lineage_id: str, recorder: str) -> None:
        """Change how a lineage is recorded (e.g. the in-kernel recorder failed to load)."""
        self._submit(SetRecorder(lineage_id, recorder))

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
        with self._lock:
            last = self._seq.get(lineage_id)
        if last is None:  # a lineage this store did not start: continue after its executions
            last = max((ex.seq for ex in self.executions(lineage_id)), default=0)
        with self._lock:
            seq = max(last, self._seq.get(lineage_id, 0)) + 1
            self._seq[lineage_id] = seq
        execution = Execution(
            seq, cell_id, execution_count, source_hash, status, error, started, finished, duration
        )
        self._submit(RecordExecution(lineage_id, execution))
        return execution

    def rename(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> int:
        """Move the journal of a notebook, or of every notebook under a folder, to a new path.

        A journal already kept under the new path is replaced (the file there was overwritten).
        Returns the number of notebooks moved.
        """
        old_key, new_key = _key(old), _key(new)
        if old_key == new_key:
            return 0
        moved = sum(1 for path in self.notebooks() if under(path, old_key))
        self._submit(Rename(old_key, new_key))
        return moved

    def forget(self, notebook: str | os.PathLike[str]) -> None:
        """Drop a notebook's journal (the file was deleted)."""
        self._submit(Forget(_key(notebook)))

    # -- reading -------------------------------------------------------------------------

    def lineages(self, notebook: str | os.PathLike[str]) -> list[Lineage]:
        """Every kept lineage of a notebook, oldest first."""
        path = _key(notebook)
        with self._writer.commit_lock:
            ops = self._writer.pending()
            wanted = sorted(sources({path}, ops))
            marks = ",".join("?" * len(wanted))
            rows = self._query(
                "SELECT n.path, l.id, l.kernel_id, l.kernel_name, l.language, l.recorder,"
                " l.reason, l.started, l.ended, l.end_reason,"
                " (SELECT COUNT(*) FROM executions e WHERE e.lineage_id = l.id)"
                " FROM lineages l JOIN notebooks n ON n.id = l.notebook_id"
                f" WHERE n.path IN ({marks}) ORDER BY l.rowid",
                tuple(wanted),
            )
        found: dict[str, list[Lineage]] = {p: [] for p in wanted}
        for row in rows:
            found.setdefault(row[0], []).append(Lineage(row[1], row[0], *row[2:]))
        return View(found, self.max_lineages).replay(ops).lineages(path)

    def executions(self, lineage_id: str) -> list[Execution]:
        """A lineage's executions, in the order they ran."""
        with self._writer.commit_lock:
            ops = self._writer.pending()
            rows = self._query(
                "SELECT seq, cell_id, execution_count, source_hash, status, error, started,"
                " finished, duration FROM executions WHERE lineage_id=? ORDER BY seq",
                (lineage_id,),
            )
        found = [Execution(*r) for r in rows]
        found += [
            op.execution
            for op in ops
            if isinstance(op, RecordExecution) and op.lineage_id == lineage_id
        ]
        return found

    def notebooks(self) -> list[str]:
        """Paths of every notebook with a journal, sorted."""
        with self._writer.commit_lock:
            ops = self._writer.pending()
            rows = self._query("SELECT path FROM notebooks")
        return sorted(replay_paths({r[0] for r in rows}, ops))


def _locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.Error) and ("locked" in text or "busy" in text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _key(path: str | os.PathLike[str]) -> str:
    """The journal key of a notebook: its absolute, normalised path."""
    return os.path.normpath(os.path.abspath(os.fspath(path)))
