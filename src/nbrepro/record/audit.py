"""The audit hook that sees which files a cell opens and which directories it lists.

Audit hooks cannot be removed, so :func:`install` adds one hook per process, once, and a module
flag gates it: outside a cell :data:`_sink` is ``None`` and the hook returns after one global
load and one comparison. While a cell runs, the hook only appends the event's argument tuple to
a list; resolving paths and hashing happen after the cell (:mod:`nbrepro.record.recorder`).

Recorded tuples: for ``open`` the audit arguments ``(path, mode, flags)`` (``mode`` is ``None``
for :func:`os.open`); for ``os.listdir``/``os.scandir`` ``(path, LISTING, caller_filename)``, so
that the import system's own folder listings can be told apart from the notebook's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from threading import get_ident
from typing import Any

#: The ``mode`` slot of a recorded directory listing.
LISTING = "<listing>"

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
