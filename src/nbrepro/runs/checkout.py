"""Getting a run's files back: ``runs checkout ID DIR`` and ``runs reproduce --restore-inputs``.

:func:`checkout_run` materialises a run into a new folder: its executed notebook at its path in
the project, the inputs and artifacts kept in the object store at their paths (relative to the
run's working directory, placed as in the project), ``run.json``, ``environment.json``, a
pinned ``requirements.txt`` of the kernel's distributions and ``code.patch`` when the run had
uncommitted changes.

:func:`restored_workdir` builds the working directory a ``--restore-inputs`` reproduction runs
in: a temporary folder mirroring the run's working directory with symbolic links, except that
the run's inputs are the recorded versions from the object store and the run's artifacts are
left out (so the re-run writes its own, never through a link into the project).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..objects import ObjectStore, ObjectStoreError
from .store import ENVIRONMENT_FILE, MANIFEST_FILE, Run
from .versioning import PATCH_FILE, objects_dir


@dataclass
class Checkout:
    """What :func:`checkout_run` wrote, and what it could not."""

    path: Path
    files: list[str] = field(default_factory=list)
    #: Inputs and artifacts not kept in the object store (path → why).
    missing: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": str(self.path), "files": self.files, "missing": self.missing}


def run_objects(run: Run) -> ObjectStore:
    """The object store of the run's runs directory."""
    return ObjectStore(objects_dir(run.path.parent))


def _relative_to_root(manifest: Mapping[str, Any], path: str) -> Path | None:
    """Where a path of the run's working directory lies relative to the project root (``None``
    outside it)."""
    cwd = Path(str((manifest.get("notebook") or {}).get("cwd") or "."))
    if Path(path).is_absolute():
        root = Path(str(manifest.get("project_root") or "/"))
        try:
            return Path(os.path.normpath(path)).relative_to(root)
        except ValueError:
            return None
    if cwd.is_absolute():
        return None
    rel = Path(os.path.normpath(cwd / path))
    return None if rel.parts and rel.parts[0] == ".." else rel


def _requirements(environment: Mapping[str, Any]) -> str:
    packages = environment.get("packages") or {}
    if not isinstance(packages, dict) or not packages:
        return ""
    return "".join(f"{name}=={version}\n" for name, version in sorted(packages.items()))


def checkout_run(run: Run, dest: str | os.PathLike[str]) -> Checkout:
    """Materialise ``run`` into ``dest`` (a new or empty folder); raises :class:`InputError`
    (one line) when ``dest`` is not empty or cannot be written."""
    target = Path(dest).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{dest}: exists and is not an empty folder")
    manifest = run.manifest
    objects = run_objects(run)
    out = Checkout(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        nb_rel = Path(str((manifest.get("notebook") or {}).get("path") or "notebook.ipynb"))
        if nb_rel.is_absolute() or ".." in nb_rel.parts:
            nb_rel = Path(nb_rel.name)
        (target / nb_rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.notebook_path, target / nb_rel)
        out.files.append(nb_rel.as_posix())
        for name in (MANIFEST_FILE, ENVIRONMENT_FILE, PATCH_FILE):
            if (run.path / name).is_file():
                shutil.copyfile(run.path / name, target / name)
                out.files.append(name)
        requirements = _requirements(run.environment())
        if requirements:
            (target / "requirements.txt").write_text(requirements, encoding="utf-8")
            out.files.append("requirements.txt")
    except OSError as exc:
        raise InputError(f"{dest}: cannot write: {exc.strerror or exc}") from None
    for section in ("inputs", "artifacts"):
        for path, entry in sorted((manifest.get(section) or {}).items()):
            if not isinstance(entry, dict):
                continue
            rel = _relative_to_root(manifest, path)
            if rel is None:
                out.missing[path] = "outside the project"
            elif not entry.get("stored"):
                out.missing[path] = "not kept in the object store"
            else:
                try:
                    objects.restore(str(entry["hash"]), target / rel)
                except ObjectStoreError as exc:
                    out.missing[path] = str(exc)
                    continue
                out.files.append(rel.as_posix())
    return out


def restorable_inputs(run: Run) -> tuple[dict[str, str], dict[str, str]]:
    """The run's inputs that ``--restore-inputs`` can give back (path → object hash) and those
    it cannot (path → why)."""
    objects = run_objects(run)
    ok: dict[str, str] = {}
    missing: dict[str, str] = {}
    for path, entry in sorted((run.manifest.get("inputs") or {}).items()):
        if not isinstance(entry, dict):
            continue
        digest = entry.get("hash")
        if Path(path).is_absolute() or ".." in Path(path).parts:
            missing[path] = "outside the working directory"
        elif not entry.get("stored") or not isinstance(digest, str):
            missing[path] = "not kept in the object store (run with --snapshot-inputs)"
        elif not objects.has(digest):
            missing[path] = "its object is gone from the object store"
        else:
            ok[path] = digest
    return ok, missing


def _mirror(source: Path, dest: Path, keep_out: set[Path], prefix: Path) -> None:
    """Fill ``dest`` with links to the entries of ``source``, descending into folders that hold
    an entry of ``keep_out`` (paths relative to the top) and leaving those entries out."""
    for entry in os.scandir(source):
        rel = prefix / entry.name
        if rel in keep_out:
            continue
        if any(rel in k.parents for k in keep_out) and entry.is_dir(follow_symlinks=False):
            (dest / entry.name).mkdir()
            _mirror(Path(entry.path), dest / entry.name, keep_out, rel)
        else:
            os.symlink(entry.path, dest / entry.name)


def restored_workdir(run: Run, cwd: Path, folder: Path) -> Path:
    """Build in ``folder`` (new, empty) the run's working directory with its recorded inputs
    (see the module docstring); returns it. Raises :class:`InputError` when an input cannot
    be restored."""
    restorable, missing = restorable_inputs(run)
    if missing:
        path, why = next(iter(missing.items()))
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise InputError(f"run {run.run_id}: cannot restore input {path}: {why}{more}")
    artifacts = [p for p in (run.manifest.get("artifacts") or {}) if not Path(p).is_absolute()]
    keep_out = {Path(os.path.normpath(p)) for p in [*restorable, *artifacts]}
    objects = run_objects(run)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _mirror(cwd, folder, keep_out, Path())
        for path, digest in restorable.items():
            objects.restore(digest, folder / path)
    except OSError as exc:
        raise InputError(f"{folder}: cannot prepare the inputs: {exc.strerror or exc}") from None
    return folder
