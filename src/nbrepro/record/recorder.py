"""The in-kernel recorder: an execution journal, the files each cell read and wrote, and hashes.

One :class:`Recorder` per IPython shell. ``pre_run_cell`` notes the cell (id, count, source hash,
start) and opens the audit sink; ``post_run_cell`` closes it, then resolves and filters the paths,
hashes what was read (cached by stat) and stores the execution. :meth:`Recorder.provenance`
assembles the ``metadata.nbrepro`` object (see ``docs/provenance.md``).

Robustness: every event handler catches its own exceptions; they are counted and shown by
``%nbrepro status``, never raised into the user's cell.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import os
import re
import site
import sys
import sysconfig
import tempfile
import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..hashing import source_hash
from ..provenance import DERIVED_ID_PREFIX
from . import audit, native
from .databases import DatabaseState, database_state
from .drift import produced_in_directory
from .environment import snapshot
from .hashing import HashCache, default_size_cap, hash_directory, hash_file
from .provenance_record import (
    CellRecord,
    ExecutionRecord,
    InputRecord,
    Session,
    provenance_record,
)
from .secrets import redact, redactor

#: Executions kept in the journal by default (the oldest are dropped first).
DEFAULT_JOURNAL_CAP = 1000

# Cells made only of recorder commands are not journaled: they change no result, and saving
# provenance must not change the provenance it saves.
_CONTROL_CELL = re.compile(
    r"^(\s*%(nbrepro|load_ext\s+nbrepro|unload_ext\s+nbrepro|reload_ext\s+nbrepro)\b[^\n]*\n?)+\s*$"
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_IGNORED_PARTS = ("__pycache__",)
_IGNORED_SUFFIXES = (".pyc",)
_SYSTEM_PREFIXES = ("/proc", "/dev", "/sys", "/etc", "/usr/share", "/usr/lib", "/run")
_IMPORTLIB_CALLERS = ("<frozen importlib", "<frozen zipimport")
_NATIVE_MODES = (audit.NATIVE_READ, audit.NATIVE_WRITE)


def _now() -> str:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _package_dir(module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(file)) if file else None


def ignored_prefixes(shell: Any = None) -> tuple[str, ...]:
    """Folders whose files are never inputs: the interpreter, packages, IPython's and Jupyter's
    own state, and system folders."""
    dirs: set[str] = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    dirs.update(p for p in sysconfig.get_paths().values() if p)
    with contextlib.suppress(AttributeError):  # old virtualenv site.py: no getsitepackages
        dirs.update(site.getsitepackages())
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user_site, str):
        dirs.add(user_site)
    for name in ("IPython", "ipykernel", "nbrepro", "jupyter_client", "jupyter_core", "zmq"):
        pkg = _package_dir(name)
        if pkg:
            dirs.add(pkg)
    profile = getattr(getattr(shell, "profile_dir", None), "location", None)
    if isinstance(profile, str):
        dirs.add(profile)
    ipython_dir = getattr(shell, "ipython_dir", None)
    if isinstance(ipython_dir, str):
        dirs.add(ipython_dir)
    try:
        from jupyter_core import paths

        dirs.update([paths.jupyter_runtime_dir(), paths.jupyter_config_dir()])
    except ImportError:
        pass
    # ipykernel writes each cell's code to <tmp>/ipykernel_<pid>/ for tracebacks and debugging.
    dirs.add(os.path.join(tempfile.gettempdir(), f"ipykernel_{os.getpid()}"))
    home = os.path.expanduser("~")
    dirs.update(
        os.path.join(home, p) for p in (".cache/matplotlib", ".config/matplotlib", ".matplotlib")
    )
    connection_file = getattr(getattr(shell, "kernel", None), "connection_file", None)
    if isinstance(connection_file, str):
        dirs.add(connection_file)
    cleaned = {os.path.abspath(d) for d in dirs if d}
    return tuple(sorted({d.rstrip(os.sep) + os.sep for d in cleaned} | set(_SYSTEM_PREFIXES)))


def _classify(mode: Any, flags: Any) -> tuple[bool, bool]:
    """``(reads, writes)`` for an ``open`` audit event."""
    if isinstance(mode, str):
        writes = any(c in mode for c in "wax+")
        reads = "r" in mode or "+" in mode
        return reads, writes
    if isinstance(flags, int):
        acc = flags & os.O_ACCMODE
        writes = bool(flags & _WRITE_FLAGS)
        reads = acc in (os.O_RDONLY, os.O_RDWR)
        return reads, writes
    return True, False


class Recorder:
    """Records the executions of one IPython shell (see the module docstring)."""

    def __init__(self, shell: Any, notebook_dir: str | os.PathLike[str] | None = None) -> None:
        self.shell = shell
        self.notebook_dir = os.path.abspath(notebook_dir or os.getcwd())
        started = _now()
        self.session = {"id": str(uuid.uuid4()), "started": started}
        self.active = False
        self.size_cap = default_size_cap()
        self.cache = HashCache()
        self.cells: dict[str, dict[str, Any]] = {}
        self.executions: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=DEFAULT_JOURNAL_CAP
        )
        self.inputs: dict[str, dict[str, Any]] = {}
        self.directories: dict[str, str] = {}  # recorded path -> absolute path (hashed lazily)
        self.trees: set[str] = set()  # directories read as a whole tree (recursive manifest)
        self.produced_dirs: set[str] = set()  # directories a native writer wrote
        # SQLite databases connected to in this session -> their state at the start of the cell
        # (or when last seen), to tell whether a cell wrote them.
        self.databases: dict[str, DatabaseState] = {}
        self.deleted: set[str] = set()
        self.imported: set[str] = set()
        self.errors = 0
        self.last_error: str | None = None
        self._current: dict[str, Any] | None = None
        self._depth = 0
        self._ignored = ignored_prefixes(shell)
        self._baseline_modules = _top_level_modules()
        self._module_count = len(sys.modules)

    # -- configuration ---------------------------------------------------------------------

    @property
    def journal_cap(self) -> int:
        """How many executions the journal keeps."""
        return self.executions.maxlen or DEFAULT_JOURNAL_CAP

    @journal_cap.setter
    def journal_cap(self, value: int) -> None:
        self.executions = collections.deque(self.executions, maxlen=max(1, int(value)))

    # -- events ----------------------------------------------------------------------------

    def _fail(self, where: str, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = redact(f"{where}: {type(exc).__name__}: {exc}")

    def reset_cell_state(self) -> None:
        """Forget any cell in progress (when recording is switched on or off inside a cell)."""
        self._current = None
        self._depth = 0

    def pre_run_cell(self, info: Any) -> None:
        """IPython ``pre_run_cell``: note the cell and start collecting file events."""
        if not self.active:
            return
        self._depth += 1
        if self._depth > 1:
            return  # a cell run from inside a cell belongs to the outer one
        try:
            raw = getattr(info, "raw_cell", "") or ""
            if _CONTROL_CELL.match(raw):
                self._current = None
                return
            meta = self._request_metadata()
            cell_id = getattr(info, "cell_id", None) or meta.get("cellId")
            shash = source_hash(raw)
            id_source = "frontend"
            if not isinstance(cell_id, str) or not cell_id:
                cell_id = DERIVED_ID_PREFIX + shash.split(":", 1)[1][:16]
                id_source = "derived"
            deleted = meta.get("deletedCells") or []
            deleted_ids = sorted({str(d) for d in deleted if isinstance(d, str)})
            started = _now()
            self._current = {
                "cell_id": cell_id,
                "cell_id_source": id_source,
                "source_hash": shash,
                "started": started,
                "deleted_cells": deleted_ids,
            }
            if len(sys.modules) != self._module_count:
                # Imported between cells (a silent request, a thread): not by the notebook.
                self._baseline_modules = _top_level_modules() - self.imported
            self._module_count = len(sys.modules)
            for path in self.databases:
                self.databases[path] = database_state(path)
            audit.start()
        except Exception as exc:
            self._current = None
            self._fail("pre_run_cell", exc)

    def post_run_cell(self, result: Any) -> None:
        """IPython ``post_run_cell``: store the execution with the files it read and wrote."""
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth > 0:
            return
        events = audit.stop()
        current, self._current = self._current, None
        if current is None or not self.active:
            return
        try:
            self._finish(current, result, events)
        except Exception as exc:
            self._fail("post_run_cell", exc)

    def _request_metadata(self) -> dict[str, Any]:
        kernel = getattr(self.shell, "kernel", None)
        get_parent = getattr(kernel, "get_parent", None)
        if get_parent is None:
            return {}
        try:
            parent = get_parent("shell")
        except TypeError:
            parent = get_parent()
        meta = parent.get("metadata") if isinstance(parent, dict) else None
        return meta if isinstance(meta, dict) else {}

    def _finish(self, current: dict[str, Any], result: Any, events: list[tuple[Any, ...]]) -> None:
        ended = _now()
        error = None
        if result is None:  # ipykernel passes None when the cell's coroutine was cancelled
            error = "Interrupted"
        elif not getattr(result, "success", True):
            exc = getattr(result, "error_in_exec", None) or getattr(
                result, "error_before_exec", None
            )
            error = type(exc).__name__ if exc is not None else "Error"
        count = getattr(result, "execution_count", None)
        reads, writes = self._files(events)
        self.deleted.update(current["deleted_cells"])
        if len(sys.modules) != self._module_count:
            self._note_imports()
        execution = {
            "cell_id": current["cell_id"],
            "cell_id_source": current["cell_id_source"],
            "execution_count": count,
            "source_hash": current["source_hash"],
            "started": current["started"],
            "ended": ended,
            "status": "ok" if error is None else "error",
            "error": error,
            "inputs": reads,
            "outputs": writes,
        }
        if current["deleted_cells"]:
            execution["deleted_cells"] = current["deleted_cells"]
        self.executions.append(execution)
        self.cells[current["cell_id"]] = {
            "execution_count": count,
            "source_hash": current["source_hash"],
            "status": execution["status"],
            "error": error,
            "inputs": reads,
            "outputs": writes,
        }

    def _note_imports(self) -> None:
        self._module_count = len(sys.modules)
        self.imported.update(_top_level_modules() - self._baseline_modules)

    # -- files -----------------------------------------------------------------------------

    def _display_path(self, abspath: str, scrub: Callable[[str], str] = redact) -> str:
        """How ``abspath`` is recorded: relative to the notebook's folder when inside it, with
        secrets scrubbed (``scrub``: a :func:`.secrets.redactor` made once per cell)."""
        if abspath == self.notebook_dir:
            return "."
        base = self.notebook_dir.rstrip(os.sep) + os.sep
        if abspath.startswith(base):
            rel = abspath[len(base) :]
            return scrub(Path(rel).as_posix())
        return scrub(Path(abspath).as_posix())

    def _is_ignored(self, abspath: str) -> bool:
        if abspath.startswith(self._ignored) or abspath.endswith(_IGNORED_SUFFIXES):
            return True
        return any(part in abspath for part in _IGNORED_PARTS)

    def _files(self, events: list[tuple[Any, ...]]) -> tuple[list[str], list[str]]:
        """Resolve, filter and hash the files of one execution; return (read, written) paths."""
        read: dict[str, str] = {}
        written: dict[str, str] = {}
        listed: dict[str, str] = {}
        connected: dict[str, DatabaseState] = {}
        folders: set[str] = set()  # directories a native reader or writer was given
        scrub = redactor() if events or self.databases else redact
        seen: dict[tuple[Any, Any, Any], None] = {}
        for event in events:
            if event in seen:
                continue
            seen[event] = None
            raw_path, mode = event[0], event[1]
            if raw_path is None or isinstance(raw_path, int):
                continue
            try:
                abspath = os.path.abspath(os.fsdecode(os.fspath(raw_path)))
            except (TypeError, ValueError):
                continue
            if self._is_ignored(abspath):
                continue
            if mode == audit.LISTING:
                caller = event[2] if len(event) > 2 else ""
                if isinstance(caller, str) and caller.startswith(_IMPORTLIB_CALLERS):
                    continue
                listed.setdefault(abspath, self._display_path(abspath, scrub))
                continue
            if mode == audit.DATABASE:
                connected.setdefault(abspath, event[2])
                continue
            shown = self._display_path(abspath, scrub)
            if mode in _NATIVE_MODES:
                writes = mode == audit.NATIVE_WRITE
                if os.path.isdir(abspath):
                    folders.add(abspath)
                    self.directories[shown] = abspath
                    self.trees.add(shown)
                    if writes:
                        self.produced_dirs.add(shown)
                    (written if writes else read).setdefault(abspath, shown)
                    continue
                reads = not writes
            else:
                reads, writes = _classify(mode, event[2] if len(event) > 2 else None)
            if writes:
                written.setdefault(abspath, shown)
            if reads:
                read.setdefault(abspath, shown)
        if self.databases or connected:
            self._databases(connected, read, written, scrub)
        for abspath, shown in written.items():
            if abspath not in folders:
                self._record_file(abspath, shown, produced=True)
        for abspath, shown in read.items():
            if abspath not in written and abspath not in folders:
                self._record_file(abspath, shown, produced=False)
        for abspath, shown in listed.items():
            if os.path.isdir(abspath):
                self.directories[shown] = abspath
                read.setdefault(abspath, shown)
        return sorted(set(read.values())), sorted(set(written.values()))

    def _databases(
        self,
        connected: dict[str, DatabaseState],
        read: dict[str, str],
        written: dict[str, str],
        scrub: Callable[[str], str],
    ) -> None:
        """Sort the SQLite databases of this cell into read and written.

        A database the cell connected to was read; one whose file (or write-ahead log) changed
        during the cell, or that the connection created, was written, whichever connection
        (of this cell or an earlier one) wrote it. Changes made between cells (by another
        process) are not the notebook's: the next cell starts from the state it finds.
        """
        for path, before in connected.items():
            self.databases.setdefault(path, before)
        for path, before in self.databases.items():
            now = database_state(path)
            self.databases[path] = now
            if now[0] is None:
                continue  # never created (the connection failed) or deleted
            shown = self._display_path(path, scrub)
            if before[0] is None or now != before:
                written.setdefault(path, shown)
            if path in connected:
                read.setdefault(path, shown)

    def _record_file(self, abspath: str, shown: str, *, produced: bool) -> None:
        try:
            fh = hash_file(abspath, cache=self.cache, size_cap=self.size_cap)
        except (OSError, ValueError):
            return  # gone (a temporary file), unreadable, or not a regular file: not recorded
        previous = self.inputs.get(shown)
        produced = produced or bool(previous and previous.get("produced"))
        produced = produced or self._in_produced_directory(shown)
        entry: dict[str, Any] = {
            "hash": fh.hash,
            "size": fh.size,
            "kind": fh.kind,
            "produced": produced,
        }
        if fh.kind == "large":
            entry["mtime_ns"] = fh.mtime_ns
        self.inputs[shown] = entry

    def _in_produced_directory(self, shown: str) -> bool:
        """Whether ``shown`` is, or lies in, a directory a native writer wrote."""
        return shown in self.produced_dirs or any(
            shown.startswith(folder + "/") for folder in self.produced_dirs
        )

    def _directory_entries(self) -> dict[str, dict[str, Any]]:
        """Manifest hashes of listed directories, computed now (produced files left out): one
        level for a listing, the whole tree for a folder a dataset reader read or wrote."""
        out: dict[str, dict[str, Any]] = {}
        for shown, abspath in self.directories.items():
            recursive = shown in self.trees
            produced = self._in_produced_directory(shown)
            exclude = produced_in_directory(shown, self.inputs, recursive=recursive)
            try:
                fh = hash_directory(
                    abspath,
                    cache=self.cache,
                    size_cap=self.size_cap,
                    exclude=() if produced else exclude,
                    recursive=recursive,
                )
            except OSError:
                continue
            entry: dict[str, Any] = {
                "hash": fh.hash,
                "size": fh.size,
                "kind": "directory",
                "produced": produced,
            }
            if recursive:
                entry["recursive"] = True
            out[shown] = entry
        return out

    # -- provenance ------------------------------------------------------------------------

    def imported_modules(self) -> set[str]:
        """Top-level modules the notebook imported (in its cells, or bound in its namespace)."""
        names = set(self.imported)
        ns = getattr(self.shell, "user_ns", None) or {}
        hidden = getattr(self.shell, "user_ns_hidden", None) or {}
        for name, value in list(ns.items()):
            if name.startswith("_") or name in hidden:
                continue
            if isinstance(value, types.ModuleType):
                module: Any = value.__name__
            elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
                module = value.__dict__.get("__module__") if isinstance(value, type) else None
                module = module or getattr(value, "__module__", None)
            else:
                # The type's module, never the object's own attributes: no side effects.
                module = type(value).__module__
            if isinstance(module, str):
                names.add(module.split(".", 1)[0])
        names.discard("builtins")
        names.discard("__main__")
        return names

    def kernel_info(self) -> dict[str, Any]:
        """The kernel part of the environment, as this kernel describes itself."""
        kernel = getattr(self.shell, "kernel", None)
        info = getattr(kernel, "language_info", None)
        if not isinstance(info, dict):
            return {}
        out: dict[str, Any] = {}
        if info.get("name"):
            out["language"] = str(info["name"])
        if info.get("version"):
            out["language_version"] = str(info["version"])
        return out

    def environment(self) -> dict[str, Any]:
        """The environment snapshot for the modules this notebook imported."""
        return snapshot(self.imported_modules(), kernel=self.kernel_info())

    def provenance(self) -> dict[str, Any]:
        """The ``metadata.nbrepro`` object for what this kernel has recorded so far (laid out
        by :mod:`.provenance_record`, as every producer's)."""
        inputs = dict(self.inputs)
        inputs.update(self._directory_entries())
        return provenance_record(
            session=Session(self.session["id"], self.session["started"]),
            environment=self.environment(),
            inputs={path: InputRecord.from_json(entry) for path, entry in inputs.items()},
            cells={cid: CellRecord.from_json(entry) for cid, entry in self.cells.items()},
            executions=[ExecutionRecord.from_json(entry) for entry in self.executions],
            deleted_cells=self.deleted,
        )

    def status_lines(self) -> list[str]:
        """The plain-text summary ``%nbrepro status`` prints."""
        produced = sum(1 for e in self.inputs.values() if e.get("produced"))
        lines = [
            f"nbrepro recorder: {'recording' if self.active else 'paused'}",
            f"  session:       {self.session['id']} (started {self.session['started']})",
            f"  notebook dir:  {redact(self.notebook_dir)}",
            f"  cells:         {len(self.cells)} recorded, {len(self.executions)} executions "
            f"in the journal (cap {self.journal_cap})",
            f"  files:         {len(self.inputs) - produced} inputs, {produced} produced, "
            f"{len(self.directories)} directories",
            f"  deleted cells: {len(self.deleted)}",
            f"  hash size cap: {self.size_cap} bytes",
            f"  recorder errors: {self.errors + native.failures}",
        ]
        last_error = self.last_error or native.last_failure
        if last_error:
            lines.append(f"  last error:    {redact(last_error)}")
        return lines


def _top_level_modules() -> set[str]:
    return {name.split(".", 1)[0] for name in list(sys.modules)}
