"""SQLite databases a notebook connects to: the file behind a ``sqlite3.connect`` argument, and
a cheap fingerprint that tells whether a cell wrote it.

SQLite opens its files in C, so no ``open`` audit event is raised; Python raises
``sqlite3.connect`` with the ``database`` argument instead (see :mod:`nbrepro.record.audit`).
In-memory databases (``":memory:"``, ``file::memory:``, ``mode=memory``, ``vfs=memdb``) and
SQLite's private temporary database (``""``) have no file and are not recorded.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote

#: ``(size, mtime_ns)`` of a file, or ``None`` when it does not exist.
FileStamp = tuple[int, int] | None
#: The fingerprint of a database: stamps of the database file and of its write-ahead log.
DatabaseState = tuple[FileStamp, FileStamp]

_MEMORY = ":memory:"


def _from_uri(uri: str) -> str | None:
    """The file of a ``file:`` URI (as ``sqlite3.connect(..., uri=True)`` takes it)."""
    rest, _, query = uri[len("file:") :].partition("?")
    rest = rest.partition("#")[0]
    options = parse_qs(query)
    if options.get("mode") == ["memory"] or options.get("vfs") == ["memdb"]:
        return None
    if rest.startswith("//"):  # file://host/path: SQLite accepts only an empty host or localhost
        host, slash, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            return None
        rest = slash + path
    path = unquote(rest)
    return None if path in ("", _MEMORY) else path


def database_path(database: object) -> str | None:
    """The absolute path of the file behind ``sqlite3.connect``'s ``database`` argument.

    ``None`` for in-memory and temporary databases and for arguments that name no path.
    A string starting with ``file:`` is read as a URI (``uri=True`` is not visible to the audit
    hook; a plain file literally named ``file:…`` is not a realistic case).
    """
    if isinstance(database, (bytes, os.PathLike)):
        database = os.fsdecode(os.fspath(database))
    if not isinstance(database, str):
        return None
    path = _from_uri(database) if database.startswith("file:") else database
    if not path or path == _MEMORY:
        return None
    return os.path.abspath(path)


def _stamp(path: str) -> FileStamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def database_state(path: str) -> DatabaseState:
    """Stamps of the database file and of its ``-wal`` log (WAL mode writes go there first).

    An empty log counts as none: SQLite creates it empty when a reader opens a WAL database and
    deletes it when the last connection closes, neither of which writes anything.
    """
    wal = _stamp(path + "-wal")
    return (_stamp(path), wal if wal and wal[0] else None)
