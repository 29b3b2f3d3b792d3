"""The audit hook that sees which files a cell opens and which directories it lists.

Audit hooks cannot be removed, so :func:`install` adds one hook per process, once, and a module
flag gates it: outside a cell :data:`_sink` is ``None`` and the hook returns after one global
load and one comparison. While a cell runs, the hook only appends the event's argument tuple to
a list; resolving paths and hashing happen after the cell (:mod:`nbrepro.record.recorder`).

Recorded tuples: for ``open`` the audit arguments ``(path, mode, flags)`` (``mode`` is ``None``
for :func:`os.open`); for ``os.listdir``/``os.scandir`` ``(path, LISTING, caller_filename)``, so
that the import system's own folder listings can be told apart from the notebook's; for
``sqlite3.connect`` ``(absolute database path, DATABASE, state before connecting)`` (see
:mod:`nbrepro.record.databases`); and, from :mod:`nbrepro.record.native`'s wrappers of readers and
writers that open files in native code, ``(path, NATIVE_READ or NATIVE_WRITE, None)``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from threading import get_ident
from typing import Any

from .databases import database_path, database_state

#: The ``mode`` slot of a recorded directory listing.
LISTING = "<listing>"
#: The ``mode`` slot of a SQLite database the cell connected to.
DATABASE = "<sqlite>"
#: The ``mode`` slots of a file or directory a native reader read or a native writer wrote.
NATIVE_READ = "<native read>"
NATIVE_WRITE = "<native write>"

_sink: list[tuple[Any, ...]] | None = None
_installed = False
#: Threads of the recorder's own (e.g. the background scan of installed distributions), whose
#: file reads are not the notebook's.
_ignored_threads: set[int] = set()


def _hook(event: str, args: tuple[Any, ...]) -> None:
    sink = _sink
    if sink is None:
        return
    if _ignored_threads and get_ident() in _ignored_threads:
        return
    if event == "open":
        sink.append(args)
    elif event == "os.listdir" or event == "os.scandir":
        try:
            caller = sys._getframe(1).f_code.co_filename
        except ValueError:
            caller = ""
        sink.append((args[0], LISTING, caller))
    elif event == "sqlite3.connect":
        try:
            path = database_path(args[0])
            if path is not None:
                sink.append((path, DATABASE, database_state(path)))
        except Exception:  # an exception in an audit hook would abort the user's connect
            return


def collecting() -> bool:
    """Whether a cell is running with recording on (so events are being collected)."""
    return _sink is not None


def note(event: tuple[Any, ...]) -> None:
    """Add an event seen outside the audit hook (a native reader's path), as the hook would."""
    sink = _sink
    if sink is None or (_ignored_threads and get_ident() in _ignored_threads):
        return
    sink.append(event)


@contextmanager
def ignoring_this_thread() -> Iterator[None]:
    """Within this block, files the current thread opens or lists are not recorded."""
    ident = get_ident()
    _ignored_threads.add(ident)
    try:
        yield
    finally:
        _ignored_threads.discard(ident)


def install() -> None:
    """Add the audit hook to this process (only the first call does anything)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


def is_installed() -> bool:
    """Whether this process has the hook."""
    return _installed


def start() -> None:
    """Start collecting events (a new, empty list)."""
    global _sink
    _sink = []


def stop() -> list[tuple[Any, ...]]:
    """Stop collecting; return the events collected since :func:`start` (empty if none)."""
    global _sink
    events, _sink = _sink, None
    return events or []
