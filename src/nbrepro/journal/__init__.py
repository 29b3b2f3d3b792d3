"""The execution journal: every notebook's executions, kept across kernel and server restarts.

The journal is a small SQLite database (WAL mode) written by the server extension as it relays
execute requests and replies, whatever the kernel's language. It is keyed by the notebook's
absolute path and follows renames. Each kernel start or restart opens a new *lineage*: the
executions of one kernel process, in the order they ran.

* :mod:`.store` — :class:`JournalStore`, the public API (writes never wait for the file);
* :mod:`.writer` — the thread that commits queued writes, retried while the file is locked;
* :mod:`.ops` — the writes as values, and their replay over what the file holds;
* :mod:`.sqlite` — connections, the schema, corrupt files moved aside;
* :mod:`.records` — :class:`Lineage` and :class:`Execution`;
* :mod:`.order` — a lineage's executions against the notebook's cell order.
"""

from __future__ import annotations

from .order import OrderReport, execution_order
from .store import DEFAULT_FILENAME, Execution, JournalStore, Lineage, default_journal_path

__all__ = [
    "DEFAULT_FILENAME",
    "Execution",
    "JournalStore",
    "Lineage",
    "OrderReport",
    "default_journal_path",
    "execution_order",
]
