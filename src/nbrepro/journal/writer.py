"""The journal's writer thread: writes queued in memory, committed in batches, retried until
written.

Callers (the server's event loop) only append a write to a bounded queue, which never waits
for the file. The thread commits the queue in order, in batches of one transaction each, with
a short busy timeout: while another process holds the file locked, the disk is full or the
folder cannot be written, it backs off and tries again (nothing is lost, nothing waits), and a
warning says so once. A write the tables refuse (a constraint) is dropped alone. A file found
corrupt is moved aside and a new journal started (:func:`.sqlite.quarantine`).

Readers take :attr:`JournalWriter.commit_lock` while they read the file and look at the writes
not committed yet (:meth:`JournalWriter.pending`): a commit and its removal from the queue
happen under the same lock, so a reader sees every write exactly once.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import sqlite
from .ops import Op, apply

#: Writes committed in one transaction at most.
BATCH = 256
#: Backoff between two attempts on a locked or unwritable file, in seconds.
MIN_DELAY, MAX_DELAY = 0.02, 1.0
#: How long the file may stay unwritable before a warning says so, in seconds.
WARN_AFTER = 1.0
#: Seconds between two warnings that the queue is full.
DROP_WARN_EVERY = 60.0


class JournalWriter:
    """The thread that commits the journal's writes to ``path``.

    ``max_pending`` writes wait at most (a write beyond is dropped, with a warning);
    ``busy_timeout`` is SQLite's wait for a lock per attempt. ``on_corrupt(path)`` is called
    (under :attr:`commit_lock`) when the file turns out corrupt, to move it aside.
    ``disabled``: never write (why), keeping the writes in memory only.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_lineages: int,
        max_pending: int,
        busy_timeout: float,
        log: logging.Logger | Any,
        on_corrupt: Callable[[Path, BaseException], None],
        disabled: str | None = None,
    ) -> None:
        self.path = path
        self.max_lineages = max_lineages
        self.max_pending = max(1, max_pending)
        self.busy_timeout = busy_timeout
        self.log = log
        self.on_corrupt = on_corrupt
        #: Held while committing (and taking the batch off the queue) and while reading.
        self.commit_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: collections.deque[Op] = collections.deque()
        self._submitted = 0
        self._done = 0
        self._dropped = 0
        self._dropped_warned = 0.0
        self._closing = False
        self._deadline: float | None = None
        self._db: sqlite3.Connection | None = None
        self._ready = False
        self._disabled: str | None = disabled
        self._failing_since: float | None = None
        self._last_error: str | None = None
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="nbrepro-journal", daemon=True)
        self._thread.start()

    # -- the callers' side -----------------------------------------------------------------

    def submit(self, op: Op) -> bool:
        """Queue a write; ``False`` when the queue is full (the write is dropped)."""
        with self._cond:
            if self._closing and not self._thread.is_alive():
                self._dropped += 1
                return False
            if len(self._pending) >= self.max_pending:
                self._dropped += 1
                now = time.monotonic()
                if now - self._dropped_warned > DROP_WARN_EVERY:
                    self._dropped_warned = now
                    self.log.warning(
                        "nbrepro: %d journal writes wait for %s already (%s): a write was "
                        "dropped (%d so far)",
                        len(self._pending), self.path, self._last_error or "not written yet",
                        self._dropped,
                    )  # fmt: skip
                return False
            self._pending.append(op)
            self._submitted += 1
            self._cond.notify_all()
            return True

    def pending(self) -> list[Op]:
        """The writes not committed yet, oldest first (hold :attr:`commit_lock`)."""
        with self._cond:
            return list(self._pending)

    @property
    def waiting(self) -> int:
        """How many writes are not committed yet."""
        with self._cond:
            return len(self._pending)

    @property
    def submitted(self) -> int:
        """How many writes were queued so far (a number that grows with every write)."""
        return self._submitted

    @property
    def dropped(self) -> int:
        """How many writes were dropped (the queue was full, or the journal closed)."""
        return self._dropped

    @property
    def disabled(self) -> bool:
        """Whether this writer never writes (a newer store, or opened disabled)."""
        return self._disabled is not None

    @property
    def problem(self) -> str | None:
        """Why writes wait (``None``: they do not)."""
        with self._cond:
            if self._disabled:
                return self._disabled
            if self._failing_since is None:
                return None
            return (
                f"the journal cannot be written ({self._last_error}); "
                f"{len(self._pending)} writes wait in memory"
            )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every write queued so far is committed (or dropped); ``False`` when
        ``timeout`` seconds passed first."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            while self._done < target and self._thread.is_alive():
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return self._done >= target

    def close(self, timeout: float = 5.0) -> int:
        """Write what is queued (for at most ``timeout`` seconds), then stop the thread and
        close the file. Returns the number of writes left unwritten."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + max(0.0, timeout)
            self._cond.notify_all()
        self._thread.join(timeout + 2.0)
        with self._cond:
            left = len(self._pending)
        if left:
            self.log.warning(
                "nbrepro: %d journal writes could not be written to %s (%s)",
                left, self.path, self._last_error or "closed",
            )  # fmt: skip
        return left

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = MIN_DELAY
        while True:
            with self._cond:
                while not self._closing and (self._disabled or (self._ready and not self._pending)):
                    self._cond.wait()
                if self._closing and (
                    self._disabled
                    or not self._pending
                    or time.monotonic() >= (self._deadline or 0.0)
                ):
                    break
                batch = list(self._pending)[:BATCH] if self._ready else []
            try:
                if not self._ready:
                    self._prepare()
                if batch:
                    self._commit(batch)
            except sqlite.NewerStore as exc:
                self._disable(str(exc))
                continue
            except (sqlite3.Error, OSError) as exc:
                what = sqlite.classify(exc)
                if what == "corrupt":
                    self._quarantine(exc)
                    continue
                self._failed(exc)
                self._sleep(delay)
                delay = min(MAX_DELAY, delay * 2)
                continue
            delay = MIN_DELAY
            self._recovered()
        sqlite.close_quietly(self._db)
        self._db = None

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            if self._closing:
                seconds = min(seconds, max(0.0, (self._deadline or 0.0) - time.monotonic()))
            self._cond.wait(seconds)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite.connect(self.path, self.busy_timeout)
        return self._db

    def _prepare(self) -> None:
        db = self._connection()
        sqlite.check_readable(db)
        sqlite.prepare(db, self.path)
        self._ready = True

    def _commit(self, batch: list[Op]) -> None:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            skipped = 0
            for op in batch:
                db.execute("SAVEPOINT op")
                try:
                    apply(db, op, self.max_lineages)
                except sqlite3.Error as exc:
                    if sqlite.classify(exc) != "skip":
                        raise
                    db.execute("ROLLBACK TO op")
                    skipped += 1
                    self.log.debug("nbrepro: journal write %r dropped: %s", op, exc)
                db.execute("RELEASE op")
            with self.commit_lock:
                db.execute("COMMIT")
                with self._cond:
                    for _ in batch:
                        self._pending.popleft()
                    self._done += len(batch)
                    self._cond.notify_all()
        except BaseException:
            sqlite.rollback(db)
            raise

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._cond:
            if isinstance(exc, OSError) and exc.strerror:
                self._last_error = (
                    f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
                )
            else:
                self._last_error = str(exc) or type(exc).__name__
            if self._failing_since is None:
                self._failing_since = now
            waiting = len(self._pending)
            warn = not self._warned and now - self._failing_since >= WARN_AFTER
            if warn:
                self._warned = True
        if self._db is not None:
            sqlite.rollback(self._db)
        if not self._ready:
            # Reconnect next time: the folder or the file may appear or become writable.
            sqlite.close_quietly(self._db)
            self._db = None
        if warn:
            self.log.warning(
                "nbrepro: the journal %s cannot be written (%s); %d writes wait in memory and "
                "are retried",
                self.path, self._last_error, waiting,
            )  # fmt: skip

    def _recovered(self) -> None:
        with self._cond:
            if self._failing_since is None:
                return
            warned = self._warned
            self._failing_since = None
            self._warned = False
        if warned:
            self.log.warning("nbrepro: the journal %s is written again", self.path)

    def _quarantine(self, exc: BaseException) -> None:
        sqlite.close_quietly(self._db)
        self._db = None
        self._ready = False
        with self.commit_lock:
            try:
                self.on_corrupt(self.path, exc)
            except OSError as err:
                self._failed(err)
                self._sleep(MAX_DELAY)

    def _disable(self, reason: str) -> None:
        sqlite.close_quietly(self._db)
        self._db = None
        with self._cond:
            self._disabled = reason
            self._cond.notify_all()
        self.log.warning("nbrepro: %s; executions are kept in memory only", reason)
