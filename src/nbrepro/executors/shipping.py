"""``--ship-inputs``: executions on workers that do not share this machine's files.

Without a shared filesystem a worker cannot open the notebook's data. With ``--ship-inputs``
the client sends, with each task, the files the notebook reads — the inputs recorded in its
provenance (never the ones it produced) and the files named with ``--include GLOB`` — as
paths relative to the kernel's working folder. The worker writes them into a scratch folder
of its own, runs the kernel there, and sends back every file the notebook created or changed
in it; the client writes those into the working folder (each atomically), as a shared
filesystem would have left them. The scratch folder is removed whatever happens.

What travels is capped (:data:`MAX_SHIPPED_BYTES` out, :data:`MAX_PRODUCED_BYTES` back): a
notebook whose data is larger needs a shared filesystem; that is a one-line error, before
anything runs. A path that would leave the folder (absolute, ``..``, a symbolic link out of
it) is never shipped, written or accepted back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..optionspec import mention

if TYPE_CHECKING:
    from ..execute.engine import ExecutionResult
    from .task import ExecuteRequest

#: At most this many bytes of input files travel with one task.
MAX_SHIPPED_BYTES = 256 * 1024 * 1024
#: At most this many bytes of produced files come back from one task; larger ones are left out
#: (and named in the result's warnings).
MAX_PRODUCED_BYTES = 256 * 1024 * 1024


class ShippingError(InputError):
    """The inputs of a notebook cannot be shipped to a worker (too large, or outside its folder)."""


def _relative(path: str) -> PurePosixPath | None:
    """``path`` as a relative POSIX path that stays inside its folder, else ``None``."""
    text = path.replace("\\", "/")
    pure = PurePosixPath(text)
    if not text or pure.is_absolute() or ".." in pure.parts or "\x00" in text:
        return None
    parts = [part for part in pure.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symbolic links resolved) lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def _recorded_inputs(nb: Mapping[str, Any]) -> Iterator[tuple[str, bool]]:
    """The recorded inputs the notebook read (not produced): ``(path, is_directory)``."""
    metadata = nb.get("metadata")
    prov = metadata.get("nbrepro") if isinstance(metadata, dict) else None
    inputs = prov.get("inputs") if isinstance(prov, dict) else None
    if not isinstance(inputs, dict):
        return
    for path, entry in inputs.items():
        if isinstance(path, str) and isinstance(entry, dict) and not entry.get("produced"):
            yield path, entry.get("kind") == "directory"


def _files_under(folder: Path) -> Iterator[Path]:
    """Every regular file below ``folder`` (symbolic links not followed)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def inputs_to_ship(
    nb: Mapping[str, Any], cwd: str | os.PathLike[str], include: Iterable[str] = ()
) -> dict[str, bytes]:
    """The files to send with a task: recorded inputs of ``nb`` and ``include`` globs, relative
    to ``cwd`` (the kernel's working folder), with their contents.

    Recorded inputs that are missing or lie outside ``cwd`` are left out (the worker's kernel
    sees what it would see); a glob that matches nothing, or more than
    :data:`MAX_SHIPPED_BYTES` in all, raises :class:`ShippingError`.
    """
    root = Path(cwd)
    chosen: dict[str, Path] = {}

    def add(path: Path) -> None:
        if not path.is_file() or not _inside(root, path):
            return
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        chosen.setdefault(rel, path)

    for recorded, is_directory in _recorded_inputs(nb):
        rel = _relative(recorded)
        if rel is None:
            continue
        target = root / rel
        if is_directory and target.is_dir() and _inside(root, target):
            for path in _files_under(target):
                add(path)
        else:
            add(target)
    for pattern in include:
        rel_pattern = _relative(pattern)
        if rel_pattern is None:
            raise ShippingError(
                f"{mention('include', pattern)}: a pattern relative to the notebook's folder"
            )
        matched = sorted(root.glob(str(rel_pattern)))
        files = [p for p in matched if p.is_file()] + [
            f for p in matched if p.is_dir() for f in _files_under(p)
        ]
        if not files:
            raise ShippingError(f"{mention('include', pattern)}: matches no file in {root}")
        for path in files:
            add(path)
    total = 0
    shipped: dict[str, bytes] = {}
    for name, path in sorted(chosen.items()):
        total += path.stat().st_size
        if total > MAX_SHIPPED_BYTES:
            raise ShippingError(
                f"{mention('ship_inputs')}: the inputs exceed {MAX_SHIPPED_BYTES >> 20} MiB "
                f"(at {name}); use a filesystem the workers share instead"
            )
        shipped[name] = path.read_bytes()
    return shipped


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_shipped(request: ExecuteRequest) -> ExecutionResult:
    """Run ``request`` (which carries its input files) in a scratch folder of this worker and
    return the result with the files the notebook created or changed there."""
    from .task import run_request

    files = dict(request.files or {})
    scratch = Path(tempfile.mkdtemp(prefix="nbrepro-shipped-"))
    try:
        for rel_text, data in files.items():
            rel = _relative(rel_text)
            if rel is None:
                continue
            target = scratch / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        sent = {name: _digest(data) for name, data in files.items()}

        result = run_request(dataclasses.replace(request, cwd=str(scratch), files=None))
        produced: dict[str, bytes] = {}
        left_out: list[str] = []
        total = 0
        for path in _files_under(scratch):
            name = path.relative_to(scratch).as_posix()
            data = path.read_bytes()
            if sent.get(name) == _digest(data):
                continue
            total += len(data)
            if total > MAX_PRODUCED_BYTES:
                left_out.append(name)
                continue
            produced[name] = data
        result.produced_files = produced
        if left_out:
            result.ran_on = {**result.ran_on, "produced_left_out": left_out}
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_back(produced: Mapping[str, bytes], cwd: str | os.PathLike[str]) -> list[str]:
    """Write the files a worker produced into ``cwd``, each atomically; return the paths
    written. A path that would leave ``cwd`` is refused (left out)."""
    root = Path(cwd)
    written: list[str] = []
    for rel_text, data in sorted(produced.items()):
        rel = _relative(rel_text)
        if rel is None:
            continue
        target = root / rel
        if not _inside(root, target.parent if target.parent.exists() else root):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _inside(root, target.parent):
            continue
        mode = target.stat().st_mode & 0o7777 if target.is_file() else 0o644
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        written.append(rel.as_posix())
    return written
