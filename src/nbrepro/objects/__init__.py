"""A content-addressed object store: files kept once under their SHA-256.

Layout (documented in ``docs/runs.md``)::

    <objects dir>/
      sha256/ab/cdef0123...      one object per content: its hash's hex, split after 2 digits
      tmp/<pid>-<random>         an object being written (removed when its writer died)
      .lock                      shared by writers, exclusive for garbage collection

**Atomicity.** An object is written into ``tmp/`` (same file system), hashed *as written*,
flushed, made read-only and renamed to its hash (one ``rename``): a reader sees a whole object
or none, and a writer killed mid-copy leaves only a temporary file, removed by the next writer
(:meth:`ObjectStore.remove_stale_temporaries`) or ``gc``. An object that exists is never
rewritten (the same content is stored once).

**Copy.** Where the file system can clone (``FICLONE``: Btrfs, XFS, overlay on them) the object
is a reflink — no data is copied, and the clone shares no later modification of the source —
then hashed from the clone (so its name is the hash of exactly what it holds). Elsewhere one
pass reads the source, hashes and writes each block (a block of zeros becomes a hole, so a sparse
file stays sparse). Hard links are never used: a later
in-place write to the source would change the stored object under its name.

Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

#: Bytes read per block (and written per block without reflink).
BLOCK = 1 << 20
_ZERO_BLOCK = bytes(BLOCK)
#: ``ioctl`` request that clones a file's extents (Linux ``FICLONE``).
_FICLONE = 0x40049409
_HASH = "sha256"


class ObjectStoreError(InputError):
    """The object store cannot be read or written (one line, exit code 2)."""


@dataclass(frozen=True)
class StoredObject:
    """An object put into the store: its hash (``sha256:<hex>``), size and how it got there."""

    hash: str
    size: int
    #: ``"existing"`` (already stored), ``"reflink"`` or ``"copy"``.
    how: str


def _hex(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != _HASH or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ObjectStoreError(f"{digest!r}: not a sha256 object hash")
    return hexpart


def _clone(src_fd: int, dst_fd: int) -> bool:
    """Reflink ``src_fd`` into ``dst_fd`` (``False`` where the file system cannot)."""
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
    except OSError:
        return False
    return True


def _hash_fd(fd: int) -> tuple[str, int]:
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    total = 0
    os.lseek(fd, 0, os.SEEK_SET)
    with open(fd, "rb", buffering=0, closefd=False) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            total += n
    return f"{_HASH}:{h.hexdigest()}", total


def _copy_hashing(src_fd: int, dst_fd: int) -> tuple[str, int]:
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    total = 0
    with (
        open(src_fd, "rb", buffering=0, closefd=False) as src,
        open(dst_fd, "wb", buffering=0, closefd=False) as dst,
    ):
        while True:
            n = src.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            h.update(chunk)
            total += n
            if n == BLOCK and buf == _ZERO_BLOCK:
                dst.seek(n, os.SEEK_CUR)  # a block of zeros: a hole (sparse files stay sparse)
                continue
            written = 0
            while written < n:
                written += dst.write(chunk[written:]) or 0
        os.ftruncate(dst_fd, total)  # the size, when the file ends in a hole
    return f"{_HASH}:{h.hexdigest()}", total


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The ``sha256:<hex>`` hash and size of a file (one streamed read)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return _hash_fd(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """The objects under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ObjectStore({str(self.root)!r})"

    def path_for(self, digest: str) -> Path:
        """Where the object of ``digest`` is (or would be)."""
        hexpart = _hex(digest)
        return self.root / _HASH / hexpart[:2] / hexpart[2:]

    def has(self, digest: str) -> bool:
        """Whether the object of ``digest`` is stored."""
        try:
            return self.path_for(digest).is_file()
        except ObjectStoreError:
            return False

    def _ensure(self) -> None:
        try:
            (self.root / "tmp").mkdir(parents=True, exist_ok=True)
            (self.root / _HASH).mkdir(exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(
                f"object store {self.root}: cannot create it: {exc.strerror or exc}"
            ) from None

    @contextlib.contextmanager
    def lock(self, *, exclusive: bool = False) -> Iterator[None]:
        """Hold the store's lock: shared while writing objects and the bundles that name them,
        exclusive while collecting garbage (so no object a bundle is about to name goes)."""
        self._ensure()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def put(self, path: str | os.PathLike[str], expected: str | None = None) -> StoredObject:
        """Store the file at ``path`` and return its object.

        ``expected`` is the file's hash if already known: when that object is stored, nothing is
        read. Raises :class:`ObjectStoreError` when the file cannot be read or stored.
        """
        self._ensure()
        if expected is not None and self.has(expected):
            final = self.path_for(expected)
            with contextlib.suppress(OSError):
                os.utime(final)  # recently used: `gc --min-age` spares it
            return StoredObject(expected, final.stat().st_size, "existing")
        tmp = self.root / "tmp" / f"{os.getpid()}-{secrets.token_hex(6)}"
        try:
            src = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise ObjectStoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            if not stat.S_ISREG(os.fstat(src).st_mode):
                raise ObjectStoreError(f"{path}: not a regular file")
            dst = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                if _clone(src, dst):
                    digest, size = _hash_fd(dst)
                    how = "reflink"
                else:
                    digest, size = _copy_hashing(src, dst)
                    how = "copy"
                os.fsync(dst)
            finally:
                os.close(dst)
            final = self.path_for(digest)
            if final.is_file():
                os.unlink(tmp)
                return StoredObject(digest, size, "existing")
            os.chmod(tmp, 0o444)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(tmp, final)
            return StoredObject(digest, size, how)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ObjectStoreError(f"{path}: cannot store: {exc.strerror or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        finally:
            os.close(src)

    def restore(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the object of ``digest`` to ``dest`` (atomically: a temporary file beside it,
        then a rename; a reflink where the file system can). Raises :class:`ObjectStoreError`."""
        source = self.path_for(digest)
        target = Path(dest)
        tmp = target.with_name(f".{target.name}.nbrepro-{os.getpid()}-{secrets.token_hex(3)}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            src = os.open(source, os.O_RDONLY)
            try:
                dst = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    if not _clone(src, dst):
                        with (
                            open(src, "rb", closefd=False) as a,
                            open(dst, "wb", closefd=False) as b,
                        ):
                            shutil.copyfileobj(a, b, BLOCK)
                    os.fsync(dst)
                finally:
                    os.close(dst)
            finally:
                os.close(src)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if exc.errno == errno.ENOENT and not source.exists():
                raise ObjectStoreError(f"object {digest} is not in {self.root}") from None
            raise ObjectStoreError(f"{dest}: cannot restore: {exc.strerror or exc}") from None

    def objects(self) -> Iterator[tuple[str, Path]]:
        """Every stored object: ``(hash, path)``."""
        base = self.root / _HASH
        try:
            folders = sorted(os.scandir(base), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for folder in folders:
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
                if entry.is_file():
                    yield f"{_HASH}:{folder.name}{entry.name}", Path(entry.path)

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove temporary objects whose writing process is gone; return them."""
        removed: list[Path] = []
        try:
            entries = list(os.scandir(self.root / "tmp"))
        except (FileNotFoundError, NotADirectoryError):
            return removed
        for entry in entries:
            pid_text = entry.name.split("-", 1)[0]
            if pid_text.isdigit() and process_alive(int(pid_text)):
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        return removed

    def gc(self, keep: Iterable[str]) -> tuple[list[str], int]:
        """Remove every object not in ``keep`` (and stale temporaries): the removed hashes and
        the bytes freed. Call it holding the exclusive :meth:`lock`."""
        wanted = set(keep)
        removed: list[str] = []
        freed = 0
        for digest, path in list(self.objects()):
            if digest in wanted:
                continue
            try:
                size = path.stat().st_size
                path.unlink()
            except OSError:
                continue
            removed.append(digest)
            freed += size
        self.remove_stale_temporaries()
        return removed, freed


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (one that cannot be signalled is taken as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
