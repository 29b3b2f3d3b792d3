"""What changed since a notebook's provenance was recorded: environment and input files.

``nbrepro verify`` calls :func:`check_drift` before executing a notebook that carries
provenance; the server calls it for a notebook's status. The recorded environment is compared
with the environment of the *kernel* (:mod:`nbrepro.record.kernelenv`), not of the process
asking: when that cannot be read, the environment is "not compared" with a reason, never taken
for unchanged. Files the notebook produced itself are not inputs and are not checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cell_names import cell_label
from ..notebook_io import kernel_name
from ..provenance import get_provenance
from .envdiff import EnvDiff, diff_environments
from .hashing import DEFAULT_CACHE, HashCache, hash_directory, hash_file
from .kernelenv import KernelEnvironment
from .secrets import REDACTED

#: The kernel a notebook without a kernelspec runs in (as ``nbrepro verify`` chooses it).
DEFAULT_KERNEL = "python3"
#: Input statuses that count as drift.
DRIFT_STATUSES = frozenset({"changed", "missing"})


@dataclass(frozen=True)
class CellRef:
    """A cell that read an input: its id and its index in the notebook (``None`` if gone)."""

    id: str
    index: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "index": self.index}


@dataclass
class InputDrift:
    """The state of one recorded input now.

    ``status``: ``"unchanged"``, ``"changed"``, ``"missing"``, or ``"unverifiable"`` (its path
    was redacted because it contained a secret, or it cannot be read).
    """

    path: str
    status: str
    kind: str
    recorded_hash: str | None
    current_hash: str | None
    recorded_size: int | None
    current_size: int | None
    cells: list[CellRef] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "path": self.path,
            "status": self.status,
            "kind": self.kind,
            "recorded": {"hash": self.recorded_hash, "size": self.recorded_size},
            "current": {"hash": self.current_hash, "size": self.current_size},
            "cells": [c.to_dict() for c in self.cells],
        }


@dataclass
class DriftReport:
    """Environment drift and input files changed since recording.

    ``environment`` is ``None`` when no environment was compared: none was recorded (or one
    that cannot be compared, see :func:`recorded_environment_comparable`), or the kernel's
    could not be read; ``environment_unavailable`` then says why, in one line.
    """

    has_provenance: bool
    environment: EnvDiff | None = None
    inputs: list[InputDrift] = field(default_factory=list)
    environment_unavailable: str | None = None

    @property
    def changed_inputs(self) -> list[InputDrift]:
        """Inputs whose content changed or that are missing."""
        return [i for i in self.inputs if i.status in DRIFT_STATUSES]

    @property
    def has_drift(self) -> bool:
        """True when the environment or an input differs from the recording."""
        env = self.environment is not None and not self.environment.is_empty
        return env or bool(self.changed_inputs)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, carried in ``nbrepro verify``'s report."""
        return {
            "has_provenance": self.has_provenance,
            "drift": self.has_drift,
            "environment": self.environment.to_dict() if self.environment else None,
            "environment_unavailable": self.environment_unavailable,
            "inputs": [i.to_dict() for i in self.inputs],
        }

    def summary_lines(self) -> list[str]:
        """One line per difference, for text reports (empty when nothing drifted)."""
        lines: list[str] = []
        if self.environment is not None:
            lines += [f"environment: {line}" for line in self.environment.summary_lines()]
        if self.environment_unavailable:
            lines.append(f"environment not compared: {self.environment_unavailable}")
        for item in self.changed_inputs:
            cells = ", ".join(
                cell_label(c.index, c.id) if c.index is not None else c.id for c in item.cells
            )
            read_by = f"; read by {cells}" if cells else ""
            lines.append(f"input {item.status}: {item.path}{read_by}")
        return lines


def produced_in_directory(
    directory: str, inputs: dict[str, Any], *, recursive: bool = False
) -> set[str]:
    """Relative paths of the files in recorded ``directory`` that the notebook produced itself
    (directly in it, or anywhere below it when its manifest is ``recursive``).

    A directory's manifest leaves them out, at recording and when checking, so a notebook that
    writes its results next to its data does not see its own outputs as input drift.
    """
    folder = "" if directory == "." else directory.rstrip("/") + "/"
    names = set()
    for path, entry in inputs.items():
        if isinstance(entry, dict) and entry.get("produced") and path.startswith(folder):
            rest = path[len(folder) :]
            if rest and (recursive or "/" not in rest):
                names.add(rest)
    return names


def _cells_reading(nb: dict[str, Any], prov: dict[str, Any]) -> dict[str, list[CellRef]]:
    index_of = {
        cell.get("id"): i
        for i, cell in enumerate(nb.get("cells") or [])
        if isinstance(cell, dict) and isinstance(cell.get("id"), str)
    }
    readers: dict[str, list[CellRef]] = {}
    cells = prov.get("cells")
    if not isinstance(cells, dict):  # read_notebook refuses it; a caller's dict may hold it
        return readers
    for cid in sorted(cells, key=lambda c: (index_of.get(c, len(index_of)), str(c))):
        entry = cells[cid]
        paths = entry.get("inputs") if isinstance(entry, dict) else None
        if not isinstance(paths, list):
            continue
        for path in paths:
            readers.setdefault(str(path), []).append(CellRef(cid, index_of.get(cid)))
    return readers


def check_input(
    path: str,
    entry: dict[str, Any],
    base: Path,
    cache: HashCache | None = DEFAULT_CACHE,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> InputDrift:
    """The state now of one input recorded as ``entry`` (``hash``, ``size``, ``kind`` and, for
    ``large``, ``mtime_ns``) at ``path`` (relative to ``base``); ``exclude``: names left out of a
    directory's manifest (files the notebook produced there)."""
    kind = str(entry.get("kind") or "file")
    rec_hash = entry.get("hash")
    rec_size = entry.get("size")
    item = InputDrift(path, "unchanged", kind, rec_hash, None, rec_size, None)
    if REDACTED in path:
        item.status = "unverifiable"
        return item
    target = Path(path) if os.path.isabs(path) else base / path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        item.status = "missing"
        return item
    except OSError:
        item.status = "unverifiable"
        return item
    if kind == "large":
        item.current_size = st.st_size
        same = st.st_size == rec_size and st.st_mtime_ns == entry.get("mtime_ns")
        item.status = "unchanged" if same else "changed"
        return item
    try:
        if kind == "file" and rec_size is not None and st.st_size != rec_size:
            item.current_size = st.st_size
            item.status = "changed"
            return item
        if kind == "directory":
            recursive = entry.get("recursive") is True
            current = hash_directory(target, cache=cache, exclude=exclude, recursive=recursive)
        else:
            # A file recorded with a hash is hashed whatever its size now, so it can be compared.
            current = hash_file(target, cache=cache, size_cap=max(st.st_size, 1))
    except FileNotFoundError:
        item.status = "missing"
        return item
    except (OSError, ValueError):
        item.status = "unverifiable"
        return item
    item.current_hash, item.current_size = current.hash, current.size
    if kind == "directory" and (current.hash is None or rec_hash is None):
        item.status = "unverifiable"  # a tree too large to manifest, then or now
        return item
    item.status = "unchanged" if current.hash == rec_hash else "changed"
    return item


def recorded_environment_comparable(prov: dict[str, Any]) -> bool:
    """Whether ``prov`` recorded a Python environment to compare with a kernel's: not when the
    server recorded it from relayed messages only (``"recorder": "relay"``, a kernel of another
    language), which describe the kernel but not its interpreter or packages."""
    env = prov.get("environment")
    if prov.get("recorder") == "relay" or not isinstance(env, dict):
        return False
    return isinstance(env.get("python"), dict) and bool(env["python"])


def check_drift(
    nb: dict[str, Any],
    notebook_dir: Path,
    current_env: dict[str, Any] | KernelEnvironment | None = None,
    *,
    kernel: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    cache: HashCache | None = DEFAULT_CACHE,
) -> DriftReport:
    """Compare a notebook's recorded provenance with the environment and files as they are now.

    ``notebook_dir`` resolves the recorded relative input paths. ``current_env``: the environment
    to compare with, a snapshot or a :class:`KernelEnvironment` (one without an environment
    makes the comparison "not compared" with its reason). By default it is the environment of
    the kernel ``kernel`` (default: the notebook's kernelspec, else ``python3``) started with
    ``extra_env`` added (:func:`nbrepro.record.kernelenv.kernel_environment`); only the recorded
    packages are compared. A notebook without provenance gives a report with
    ``has_provenance`` false and no drift.
    """
    prov = get_provenance(nb)
    if prov is None:
        return DriftReport(has_provenance=False)
    report = DriftReport(has_provenance=True)
    recorded_env = prov.get("environment")
    if isinstance(recorded_env, dict) and recorded_environment_comparable(prov):
        if current_env is None:
            from .kernelenv import kernel_environment

            name = kernel or kernel_name(nb) or DEFAULT_KERNEL
            current_env = kernel_environment(name, extra_env=extra_env)
        if isinstance(current_env, KernelEnvironment):
            report.environment_unavailable = current_env.reason
            current_env = current_env.environment
        if current_env is not None:
            report.environment = diff_environments(recorded_env, current_env)
    readers = _cells_reading(nb, prov)
    inputs = prov.get("inputs")
    inputs = inputs if isinstance(inputs, dict) else {}
    base = Path(notebook_dir)
    for path in sorted(inputs):
        entry = inputs[path]
        if not isinstance(entry, dict) or entry.get("produced"):
            continue
        exclude = (
            produced_in_directory(path, inputs, recursive=entry.get("recursive") is True)
            if entry.get("kind") == "directory"
            else set()
        )
        item = check_input(path, entry, base, cache, exclude)
        item.cells = readers.get(path, [])
        report.inputs.append(item)
    return report
