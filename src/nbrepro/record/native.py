"""Files that pyarrow (and pandas through it) open in native code, which no audit event shows.

pyarrow opens files in C++, so ``pd.read_parquet``, ``pyarrow.parquet.read_table``,
``pyarrow.dataset.dataset``, ``pyarrow.csv.read_csv`` and their writers raise no ``open`` event.
This module wraps a small set of their public Python entry points (:data:`TARGETS`) so that,
while a cell is recorded, each call notes the local paths it was given; the recorder resolves
and hashes them after the cell like any other event (:mod:`nbrepro.record.recorder`).

* nbrepro never imports pyarrow or pandas: :func:`install` wraps the modules already imported
  and puts an import watcher first on :data:`sys.meta_path`, which wraps a target module right
  after it is executed (before the importer receives it). The watcher costs one set look-up per
  import of a module not yet loaded; nothing on other calls.
* A wrapper calls the original with the same arguments and returns what it returns; what the
  original raises propagates untouched. Outside a cell it adds one function call; inside, the
  noting of paths is guarded so that a failure of nbrepro's own is counted (:data:`failures`),
  never raised.
* Classes are not replaced (``isinstance`` keeps working): their ``__init__`` is wrapped.
* :func:`uninstall` (``%unload_ext nbrepro``) puts every original back and removes the watcher.

Only local paths are noted: strings, ``os.PathLike`` and bytes, lists of them, and ``file://``
URIs, when no filesystem or a local one (``LocalFileSystem``, pyarrow's or fsspec's) is passed.
File objects are not (a Python file object already raised its own ``open`` event).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from . import audit


@dataclass(frozen=True)
class Target:
    """One entry point: ``attribute`` (``"f"`` or ``"Class.__init__"``) of ``module``.

    ``param``/``index`` name the path argument (``index`` counts ``self`` for ``__init__``);
    ``fs_index`` is the positional index of ``filesystem`` when it can be passed positionally;
    ``writes``: the call writes the path rather than reads it. ``aliases`` are modules that
    re-export a function under the same name (``from .core import *``): they are patched too.
    """

    module: str
    attribute: str
    param: str
    index: int
    writes: bool = False
    fs_index: int | None = None
    aliases: tuple[str, ...] = ()


_PQ = "pyarrow.parquet.core"
_PQ_ALIAS = ("pyarrow.parquet",)

#: The wrapped entry points, checked against pyarrow 25 and pandas 3 (``pd.read_parquet`` calls
#: ``pyarrow.parquet.read_table``, which builds a ``ParquetDataset``; ``DataFrame.to_parquet``
#: opens its target with ``pyarrow.OSFile``, so it is wrapped at ``pandas.io.parquet``).
TARGETS: tuple[Target, ...] = (
    Target(_PQ, "ParquetDataset.__init__", "path_or_paths", 1, fs_index=2),
    Target(_PQ, "ParquetFile.__init__", "source", 1),
    Target(_PQ, "ParquetWriter.__init__", "where", 1, writes=True, fs_index=3),
    Target(_PQ, "read_metadata", "where", 0, fs_index=3, aliases=_PQ_ALIAS),
    Target(_PQ, "read_schema", "where", 0, fs_index=3, aliases=_PQ_ALIAS),
    Target("pyarrow.dataset", "dataset", "source", 0, fs_index=3),
    Target("pyarrow.dataset", "parquet_dataset", "metadata_path", 0, fs_index=2),
    Target("pyarrow.dataset", "write_dataset", "base_dir", 1, writes=True),
    Target("pyarrow.csv", "read_csv", "input_file", 0),
    Target("pyarrow.csv", "open_csv", "input_file", 0),
    Target("pyarrow.csv", "write_csv", "output_file", 1, writes=True),
    Target("pyarrow.json", "read_json", "input_file", 0),
    Target("pyarrow.feather", "read_table", "source", 0),
    Target("pyarrow.feather", "read_feather", "source", 0),
    Target("pyarrow.feather", "write_feather", "dest", 1, writes=True),
    Target("pyarrow.ipc", "open_file", "source", 0),
    Target("pyarrow.ipc", "open_stream", "source", 0),
    Target("pandas.io.parquet", "to_parquet", "path", 1, writes=True, fs_index=7),
)


def _trigger(target: Target) -> str:
    """The module whose loading wraps ``target``: ``pyarrow.parquet`` for its ``core``, so that
    the names it re-exports exist when they are patched."""
    return "pyarrow.parquet" if target.module == _PQ else target.module


_TRIGGERS: dict[str, tuple[Target, ...]] = {}
for _target in TARGETS:
    _TRIGGERS[_trigger(_target)] = (*_TRIGGERS.get(_trigger(_target), ()), _target)

_ORIGINAL = "__nbrepro_original__"
#: (owner, name) of every attribute replaced by a wrapper, to put the originals back.
_patched: list[tuple[Any, str]] = []
_watcher: _ImportWatcher | None = None
#: Failures of nbrepro's own while noting a call's paths (never raised into the call).
failures = 0
last_failure: str | None = None

_LOCAL_FILESYSTEMS = ("LocalFileSystem",)


def _local_paths(value: Any) -> Iterator[str]:
    """The local paths named by a path argument (nothing for file objects or remote URIs)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _local_paths(item)
        return
    if isinstance(value, (bytes, os.PathLike)):
        value = os.fsdecode(os.fspath(value))
    if not isinstance(value, str) or not value:
        return
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return  # s3://, gs://, hdfs://, http://: not a local file
        value = unquote(parts.path)
    yield value


def _note(target: Target, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    global failures, last_failure
    try:
        fs = kwargs.get("filesystem")
        if fs is None and target.fs_index is not None and len(args) > target.fs_index:
            fs = args[target.fs_index]
        if fs is not None and type(fs).__name__ not in _LOCAL_FILESYSTEMS:
            return
        source = args[target.index] if len(args) > target.index else kwargs.get(target.param)
        mode = audit.NATIVE_WRITE if target.writes else audit.NATIVE_READ
        for path in _local_paths(source):
            audit.note((path, mode, None))
    except Exception as exc:
        failures += 1
        last_failure = f"{target.module}.{target.attribute}: {type(exc).__name__}: {exc}"


def _wrap(original: Callable[..., Any], target: Target) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if audit.collecting():
            _note(target, args, kwargs)
        return original(*args, **kwargs)

    setattr(wrapper, _ORIGINAL, original)
    return wrapper


def _replace(owner: Any, name: str, target: Target) -> None:
    current = getattr(owner, name, None)
    if current is None or hasattr(current, _ORIGINAL) or not callable(current):
        return
    setattr(owner, name, _wrap(current, target))
    _patched.append((owner, name))


def _patch(module_name: str) -> None:
    """Wrap the targets triggered by ``module_name`` (already executed)."""
    for target in _TRIGGERS.get(module_name, ()):
        module = sys.modules.get(target.module)
        if module is None:
            continue
        owner_name, _, name = target.attribute.rpartition(".")
        if owner_name:
            owner = getattr(module, owner_name, None)
            if isinstance(owner, type) and name in owner.__dict__:
                _replace(owner, name, target)
            continue
        original = getattr(module, name, None)
        _replace(module, name, target)
        for alias in target.aliases:
            other = sys.modules.get(alias)
            if other is not None and getattr(other, name, None) is original:
                _replace(other, name, target)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Wraps a target module's entry points right after the module is executed."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _TRIGGERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None or "exec_module" in getattr(loader, "__dict__", {"exec_module": 0}):
            return None  # a loader this cannot hook: the import proceeds as it would without

        def exec_then_patch(module: ModuleType) -> None:
            del loader.exec_module  # type: ignore[union-attr]
            exec_module(module)
            try:
                _patch(fullname)
            except Exception as exc:  # never fail the user's import
                global failures, last_failure
                failures += 1
                last_failure = f"wrapping {fullname}: {type(exc).__name__}: {exc}"

        loader.exec_module = exec_then_patch  # type: ignore[method-assign,union-attr]
        return spec


def install() -> None:
    """Wrap the targets of modules already imported; watch imports for the others."""
    global _watcher
    for module_name in _TRIGGERS:
        if module_name in sys.modules:
            _patch(module_name)
    if _watcher is None:
        _watcher = _ImportWatcher()
        sys.meta_path.insert(0, _watcher)


def uninstall() -> None:
    """Put every original back (where a wrapper is still in place) and stop watching imports."""
    global _watcher
    if _watcher is not None:
        if _watcher in sys.meta_path:
            sys.meta_path.remove(_watcher)
        _watcher = None
    while _patched:
        owner, name = _patched.pop()
        current = getattr(owner, name, None)
        original = getattr(current, _ORIGINAL, None)
        if original is not None:
            setattr(owner, name, original)
