"""Content hashes of data files and directories, streamed and cached by stat.

Algorithm: SHA-256. Measured on the development machine (x86-64 with SHA extensions, OpenSSL
through :mod:`hashlib`, 1 MiB updates over 256 MiB): sha256 1.81 GB/s, sha1 1.93, blake2b 0.86,
md5 0.76, sha512 0.87, blake2s 0.53, sha3_256 0.51. SHA-256 is within 7 % of the fastest, is
collision-resistant (sha1 is not), and is the algorithm of :func:`nbrepro.hashing.source_hash`, so
one algorithm covers the whole provenance. ``benchmarks/bench_record.py`` re-measures it.

Files are read in 1 MiB chunks into one reused buffer (never loaded whole). Results are cached by
``(st_dev, st_ino, st_size, st_mtime_ns)``: an unchanged file is never hashed twice in a process.
A file modified less than :data:`RACY_WINDOW_NS` before it was hashed is not cached (its mtime
could be reused by a write within the filesystem's timestamp granularity, as git's "racily clean"
entries). Files larger than the size cap are not read: their size and mtime are recorded and the
kind is ``"large"``. Directories get a manifest hash over their entries.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

#: The algorithm of every data hash, written as the ``"<algorithm>:"`` prefix.
HASH_ALGORITHM = "sha256"
#: Bytes read per chunk.
CHUNK_SIZE = 1 << 20
#: Default size cap past which files are not hashed (2 GiB).
DEFAULT_SIZE_CAP = 2 << 30
#: Environment variable that sets the size cap (``"500M"``, ``"2GiB"``, ``"1000000"``).
SIZE_CAP_ENV = "NBREPRO_HASH_SIZE_CAP"
#: A file modified this recently before hashing is hashed again next time (10 ms).
RACY_WINDOW_NS = 10_000_000

_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "KIB": 1 << 10,
    "M": 1000**2,
    "MB": 1000**2,
    "MIB": 1 << 20,
    "G": 1000**3,
    "GB": 1000**3,
    "GIB": 1 << 30,
    "T": 1000**4,
    "TB": 1000**4,
    "TIB": 1 << 40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


@dataclass(frozen=True)
class FileHash:
    """The recorded identity of a file or directory.

    ``hash`` is ``"sha256:<hex>"`` (``None`` for kind ``"large"``); ``size`` in bytes (for a
    directory, the total of its files); ``kind`` is ``"file"``, ``"directory"`` or ``"large"``;
    ``mtime_ns`` is the modification time (recorded for ``"large"`` files, where it stands in
    for the content).
    """

    hash: str | None
    size: int
    kind: str
    mtime_ns: int = 0


def parse_size(text: str) -> int:
    """Parse a size such as ``"2GiB"``, ``"500M"`` or ``"1048576"`` into bytes."""
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise InputError(f"invalid size {text!r} (use e.g. 1048576, 500M, 2GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def default_size_cap() -> int:
    """The size cap from ``$NBREPRO_HASH_SIZE_CAP``, else :data:`DEFAULT_SIZE_CAP`.

    An invalid value is ignored (the default applies): the recorder must never fail on it.
    """
    raw = os.environ.get(SIZE_CAP_ENV)
    if not raw:
        return DEFAULT_SIZE_CAP
    try:
        return parse_size(raw)
    except InputError:
        return DEFAULT_SIZE_CAP


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class HashCache:
    """Hashes of files keyed by ``(st_dev, st_ino, st_size, st_mtime_ns)``; thread-safe.

    Holds at most ``max_entries`` entries (the oldest are dropped first). ``hashed`` counts the
    files actually read, so callers and tests can see that a cache hit read nothing.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[int, int, int, int], str] = {}
        self._lock = threading.Lock()
        self.hashed = 0

    def get(self, key: tuple[int, int, int, int]) -> str | None:
        """The cached hash for a stat key, if any."""
        return self._entries.get(key)

    def put(self, key: tuple[int, int, int, int], digest: str) -> None:
        """Remember ``digest`` for a stat key."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = digest

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


#: The process-wide cache used when no other is given.
DEFAULT_CACHE = HashCache()


def _digest_file(path: str | os.PathLike[str]) -> str:
    """Stream a file through SHA-256 in :data:`CHUNK_SIZE` chunks with one reused buffer."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)  # type: ignore[attr-defined]
            if not n:
                break
            h.update(view[:n])
    return f"{HASH_ALGORITHM}:{h.hexdigest()}"


def _hash_regular(
    path: str | os.PathLike[str], st: os.stat_result, cache: HashCache | None, size_cap: int
) -> FileHash:
    if st.st_size > size_cap:
        return FileHash(None, st.st_size, "large", st.st_mtime_ns)
    key = _stat_key(st)
    if cache is not None:
        cached = cache.get(key)
        if cached is not None:
            return FileHash(cached, st.st_size, "file", st.st_mtime_ns)
    started = time.time_ns()
    digest = _digest_file(path)
    if cache is not None:
        cache.hashed += 1
        after = os.stat(path)
        # Cache only when the file did not change while it was read and is not racily new.
        if _stat_key(after) == key and started - st.st_mtime_ns > RACY_WINDOW_NS:
            cache.put(key, digest)
    return FileHash(digest, st.st_size, "file", st.st_mtime_ns)


def _skip_in_manifest(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__" or name.endswith(".ipynb")


#: At most this many entries in a recursive manifest: a dataset reader pointed at ``/`` or a
#: home folder must not make the recorder walk and hash the whole disk. A larger tree is
#: recorded without a hash (its drift is "unverifiable").
MAX_TREE_ENTRIES = 20_000


class _TreeTooLarge(Exception):
    """A recursive manifest went past :data:`MAX_TREE_ENTRIES`."""


def _manifest_lines(
    folder: str | os.PathLike[str],
    prefix: str,
    cache: HashCache | None,
    cap: int,
    exclude: Collection[str],
    recursive: bool,
    budget: list[int] | None = None,
    device: int | None = None,
) -> tuple[list[str], int]:
    lines: list[str] = []
    total = 0
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TreeTooLarge
    with os.scandir(folder) as entries:
        items = sorted(
            (
                e
                for e in entries
                if not _skip_in_manifest(e.name) and prefix + e.name not in exclude
            ),
            key=lambda e: e.name,
        )
    for entry in items:
        name = prefix + entry.name
        try:
            if entry.is_dir():
                # A tree never crosses into another filesystem (/proc, /sys, mounts), as
                # ``find -xdev``.
                if (
                    recursive
                    and not entry.is_symlink()
                    and (device is None or entry.stat().st_dev == device)
                ):
                    sub, size = _manifest_lines(
                        entry.path, name + "/", cache, cap, exclude, True, budget, device
                    )
                    lines += sub
                    total += size
                else:
                    lines.append(f"{name}/\t-\n")
                continue
            st = entry.stat()
        except OSError:
            continue
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise _TreeTooLarge
        if not stat.S_ISREG(st.st_mode):
            continue
        fh = _hash_regular(entry.path, st, cache, cap)
        total += fh.size
        ident = fh.hash if fh.hash is not None else f"large:{fh.size}:{fh.mtime_ns}"
        lines.append(f"{name}\t{ident}\n")
    return lines, total


def hash_directory(
    path: str | os.PathLike[str],
    *,
    cache: HashCache | None = DEFAULT_CACHE,
    size_cap: int | None = None,
    exclude: Collection[str] = (),
    recursive: bool = False,
) -> FileHash:
    """A manifest hash of a directory's entries: one level, as a listing reads it, or the whole
    tree (``recursive``), as a dataset reader (a partitioned parquet folder) reads it.

    The manifest lists each entry's name with, for files, the content hash (or ``size:mtime``
    past the size cap) and, one level deep, a ``/`` mark for sub-directories; a recursive
    manifest lists every file below by its ``/``-separated relative path instead. Hidden
    entries, ``__pycache__`` and notebooks are left out (they change without changing what the
    folder holds as data), as are the relative paths in ``exclude`` (files the notebook produced
    there itself). A recursive manifest does not descend into symbolic links to directories
    (they are listed with the ``/`` mark), so a link cycle cannot loop, nor into another
    filesystem; a tree of more than :data:`MAX_TREE_ENTRIES` entries gets no hash (``None``).
    """
    cap = default_size_cap() if size_cap is None else size_cap
    if recursive:
        try:
            lines, total = _manifest_lines(
                path, "", cache, cap, exclude, True, [MAX_TREE_ENTRIES], os.stat(path).st_dev
            )
        except _TreeTooLarge:
            return FileHash(None, 0, "directory", 0)
    else:
        lines, total = _manifest_lines(path, "", cache, cap, exclude, False)
    digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    return FileHash(f"{HASH_ALGORITHM}:{digest}", total, "directory", 0)


def hash_file(
    path: str | os.PathLike[str],
    *,
    cache: HashCache | None = DEFAULT_CACHE,
    size_cap: int | None = None,
) -> FileHash:
    """Hash a file's content (streamed, cached) or a directory's manifest.

    ``size_cap`` defaults to :func:`default_size_cap`; a file above it gets kind ``"large"`` and
    no hash. Pass ``cache=None`` to always read the file. Raises :class:`FileNotFoundError` (or
    another :class:`OSError`) when the path cannot be read, and :class:`ValueError` for paths
    that are neither a regular file nor a directory (pipes, devices: reading could block).
    """
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return hash_directory(path, cache=cache, size_cap=size_cap)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{Path(path)}: not a regular file or directory")
    cap = default_size_cap() if size_cap is None else size_cap
    return _hash_regular(path, st, cache, cap)
