"""What a run keeps besides its bundle: artifacts and inputs in the object store, the code patch.

* **Artifacts** — files the run wrote inside the project are hashed and stored in the
  project's content-addressed object store (:mod:`nbrepro.objects`), shared by every run, so an
  unchanged file is stored once. Files larger than the object size cap keep only their hash
  and size.
* **Inputs** — with ``--snapshot-inputs`` (or ``snapshot_inputs = true`` under
  ``[tool.nbrepro]``) the inputs are stored as well, so ``runs reproduce --restore-inputs``
  and ``runs checkout`` can give them back after they changed.
* **Code** — the uncommitted changes of tracked files (``git diff HEAD --binary``) as
  ``code.patch`` in the bundle, cut at the patch size cap.

Settings (``[tool.nbrepro]`` or ``[tool.nbrepro.run]``): ``snapshot_inputs`` (bool),
``object_size_cap`` (``"2GiB"``, bytes), ``patch_size_cap`` (``"1MiB"``, bytes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..objects import ObjectStore, ObjectStoreError

#: Files above this size keep only their hash and size (``object_size_cap``).
DEFAULT_OBJECT_SIZE_CAP = 4 << 30
#: The uncommitted diff kept in a bundle is cut at this size (``patch_size_cap``).
DEFAULT_PATCH_SIZE_CAP = 1 << 20
#: The patch file in a bundle.
PATCH_FILE = "code.patch"


@dataclass(frozen=True)
class VersionSettings:
    """What a run keeps: inputs too, and the caps."""

    snapshot_inputs: bool = False
    object_size_cap: int = DEFAULT_OBJECT_SIZE_CAP
    patch_size_cap: int = DEFAULT_PATCH_SIZE_CAP


def _size(value: Any, key: str, where: Path) -> int:
    from ..record.hashing import parse_size

    if isinstance(value, bool):
        raise InputError(f"{where}: [tool.nbrepro] {key} must be a size such as '2GiB'")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return parse_size(value)
        except InputError:
            pass
    raise InputError(f"{where}: [tool.nbrepro] {key} must be a size such as '2GiB'")


def version_settings(
    project_root: Path,
    *,
    snapshot_inputs: bool | None = None,
    object_size_cap: int | None = None,
) -> VersionSettings:
    """The settings of a run: the arguments, else ``[tool.nbrepro]``, else the defaults."""
    from .project import run_settings

    settings, base = run_settings(project_root)
    where = base / "pyproject.toml"
    snap = settings.get("snapshot_inputs", False) if snapshot_inputs is None else snapshot_inputs
    if not isinstance(snap, bool):
        raise InputError(f"{where}: [tool.nbrepro] snapshot_inputs must be true or false")
    cap = object_size_cap
    if cap is None:
        raw = settings.get("object_size_cap")
        cap = DEFAULT_OBJECT_SIZE_CAP if raw is None else _size(raw, "object_size_cap", where)
    raw_patch = settings.get("patch_size_cap")
    patch = (
        DEFAULT_PATCH_SIZE_CAP if raw_patch is None else _size(raw_patch, "patch_size_cap", where)
    )
    return VersionSettings(bool(snap), int(cap), patch)


def objects_dir(runs_dir: Path) -> Path:
    """The object store of a runs directory: ``.nbrepro/objects`` beside the default
    ``.nbrepro/runs``, else ``.objects`` inside the runs directory (never listed as a run)."""
    if runs_dir.name == "runs" and runs_dir.parent.name == ".nbrepro":
        return runs_dir.parent / "objects"
    return runs_dir / ".objects"


def _full(path: str, work_dir: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else work_dir / p


def store_objects(
    objects: ObjectStore,
    entries: Mapping[str, dict[str, Any]],
    work_dir: Path,
    cap: int,
) -> list[str]:
    """Hash and store each file of ``entries`` (path → manifest entry, updated in place with
    ``hash``, ``size`` and ``stored``); files past ``cap`` get their hash and size only.
    Returns a warning per file that could not be stored."""
    from ..record.hashing import hash_file

    warnings = []
    for path, entry in entries.items():
        full = _full(path, work_dir)
        if entry.get("kind") not in (None, "file", "large"):
            entry["stored"] = False  # a directory: its manifest hash only
            continue
        try:
            size = full.stat().st_size
            if size > cap:
                if entry.get("hash") is None:
                    fh = hash_file(full, size_cap=size + 1)
                    entry["hash"] = fh.hash
                entry.update(size=size, stored=False)
                continue
            known = entry.get("hash") if entry.get("size") == size else None
            obj = objects.put(full, known if isinstance(known, str) else None)
        except (OSError, ValueError, ObjectStoreError) as exc:
            entry["stored"] = False
            warnings.append(f"{path}: not kept in the object store: {exc}")
            continue
        if entry.get("hash") not in (None, obj.hash):
            warnings.append(f"{path}: changed while the run was being stored")
        entry.update(hash=obj.hash, size=obj.size, stored=True)
    return warnings


def git_patch(folder: Path, cap: int) -> tuple[bytes, dict[str, Any]] | None:
    """The uncommitted changes of tracked files as a binary patch against ``HEAD`` (cut at
    ``cap`` bytes), and its manifest entry; ``None`` when clean, or without git or a commit."""
    import hashlib
    import shutil
    import subprocess

    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "-C", str(folder), "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff"],
            capture_output=True,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0 or not proc.stdout:
        return None
    full = proc.stdout
    data = full[:cap]
    info = {
        "file": PATCH_FILE,
        "size": len(full),
        "hash": "sha256:" + hashlib.sha256(full).hexdigest(),
        "truncated": len(full) > cap,
    }
    return data, info


def referenced_objects(manifest: Mapping[str, Any]) -> set[str]:
    """The objects a run's manifest names (stored inputs and artifacts)."""
    out: set[str] = set()
    for key in ("inputs", "artifacts"):
        section = manifest.get(key)
        if not isinstance(section, dict):
            continue
        for entry in section.values():
            if (
                isinstance(entry, dict)
                and entry.get("stored")
                and isinstance(entry.get("hash"), str)
            ):
                out.add(entry["hash"])
    return out
