"""The run store: a folder of self-contained, immutable run bundles.

Layout (documented in ``docs/runs.md``)::

    <runs dir>/
      <run id>/
        notebook.ipynb      the executed notebook (parameters injected, outputs)
        run.json            the manifest
        environment.json    the environment snapshot
        mlflow.json         where the run was exported (only after an MLflow export)
        code.patch          uncommitted changes of tracked files (only when dirty)
      .tmp-<pid>-<run id>/  a bundle being written (never listed; removed when its writer died)

A bundle is written into a temporary folder inside the runs directory and renamed into place,
so a reader sees a whole bundle or none, and a run killed half-way leaves no bundle. Nothing
is shared between writers (no index file, no lock): concurrent runs into one store are safe.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..notebook_io import atomic_write_text, dumps_notebook, read_notebook
from ..objects import process_alive
from .project import find_project_root, resolve_runs_dir

MANIFEST_FILE = "run.json"
NOTEBOOK_FILE = "notebook.ipynb"
ENVIRONMENT_FILE = "environment.json"
MLFLOW_FILE = "mlflow.json"
_TMP_PREFIX = ".tmp-"


class RunNotFound(InputError):
    """No run in the store has this id (or id prefix, or name)."""

    http_status = 404


class AmbiguousRunId(InputError):
    """An id prefix matches more than one run."""


def _dump_json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class RunSummary:
    """One line of ``nbrepro runs list``: what identifies a run and how it went."""

    run_id: str
    configuration_id: str
    name: str | None
    notebook: str
    created: str
    duration: float | None
    verdict: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    path: Path
    mlflow_run_id: str | None = None

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], path: Path) -> RunSummary:
        """Build the summary of the bundle at ``path`` from its manifest."""
        timings = manifest.get("timings") or {}
        return cls(
            run_id=str(manifest.get("run_id", path.name)),
            configuration_id=str(manifest.get("configuration_id", "")),
            name=manifest.get("name"),
            notebook=str((manifest.get("notebook") or {}).get("path", "")),
            created=str(timings.get("started", "")),
            duration=timings.get("duration"),
            verdict=str(manifest.get("verdict", "unknown")),
            parameters=dict(manifest.get("parameters") or {}),
            metrics=dict(manifest.get("metrics") or {}),
            path=path,
            mlflow_run_id=_read_mlflow_run_id(path),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the server's ``GET runs`` answers a list of these)."""
        return {
            "run_id": self.run_id,
            "configuration_id": self.configuration_id,
            "name": self.name,
            "notebook": self.notebook,
            "created": self.created,
            "duration": self.duration,
            "verdict": self.verdict,
            "parameters": self.parameters,
            "metrics": self.metrics,
            "path": str(self.path),
            "mlflow_run_id": self.mlflow_run_id,
        }


def _read_mlflow_run_id(path: Path) -> str | None:
    try:
        data = json.loads((path / MLFLOW_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("run_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


@dataclass
class Run:
    """A stored run: its bundle folder and manifest."""

    path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def run_id(self) -> str:
        """The run id."""
        return str(self.manifest["run_id"])

    @property
    def summary(self) -> RunSummary:
        """The run's summary line."""
        return RunSummary.from_manifest(self.manifest, self.path)

    @property
    def notebook_path(self) -> Path:
        """The executed notebook of the run."""
        return self.path / NOTEBOOK_FILE

    def notebook(self) -> dict[str, Any]:
        """The executed notebook, parsed."""
        return read_notebook(self.notebook_path)

    def environment(self) -> dict[str, Any]:
        """The environment snapshot of the run."""
        return dict(json.loads((self.path / ENVIRONMENT_FILE).read_text(encoding="utf-8")))

    def mlflow(self) -> dict[str, Any] | None:
        """Where the run was exported to MLflow, if it was."""
        try:
            return dict(json.loads((self.path / MLFLOW_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the manifest plus the bundle's path and MLflow export."""
        return {**self.manifest, "path": str(self.path), "mlflow": self.mlflow()}


class RunStore:
    """The runs of a project.

    ``root`` is either a runs directory or a project root: a folder holding ``pyproject.toml``,
    ``.git`` or ``.nbrepro`` is a project root, and its runs directory is the configured one
    (``[tool.nbrepro] runs_dir``) or ``.nbrepro/runs``; any other folder is the runs
    directory itself. The folder need not exist yet.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        try:
            p = Path(root).resolve()
            found = any((p / m).exists() for m in ("pyproject.toml", ".git", ".nbrepro"))
        except RuntimeError:  # a symbolic link loop (Python 3.11's resolve)
            raise InputError(f"{root}: a symbolic link loop") from None
        except OSError as exc:  # a name too long
            raise InputError(f"{root}: {exc.strerror or exc}") from None
        self.runs_dir = resolve_runs_dir(p) if found else p

    @classmethod
    def for_notebook(
        cls, notebook: str | os.PathLike[str], runs_dir: str | os.PathLike[str] | None = None
    ) -> RunStore:
        """The store a notebook's runs go to (its project's, or ``runs_dir``)."""
        store = cls.__new__(cls)
        store.runs_dir = resolve_runs_dir(find_project_root(notebook), runs_dir)
        return store

    def __repr__(self) -> str:
        return f"RunStore({str(self.runs_dir)!r})"

    def _bundles(self) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(self.runs_dir), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if not entry.name.startswith(".") and entry.is_dir():
                path = Path(entry.path)
                if (path / MANIFEST_FILE).is_file():
                    yield path

    def _load(self, path: Path) -> Run | None:
        try:
            manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return Run(path, manifest) if isinstance(manifest, dict) else None

    def list(self, notebook: str | os.PathLike[str] | None = None) -> list[RunSummary]:
        """Every run, oldest first; only those of ``notebook`` (its path relative to the project
        root, as recorded, or any path to the same file) when given."""
        wanted = self._notebook_key(notebook) if notebook is not None else None
        summaries = []
        for path in self._bundles():
            run = self._load(path)
            if run is None:
                continue
            if wanted is not None and not self._matches_notebook(run, wanted):
                continue
            summaries.append(run.summary)
        return summaries

    @staticmethod
    def _notebook_key(notebook: str | os.PathLike[str]) -> tuple[str, str]:
        p = Path(notebook)
        return Path(notebook).as_posix(), str(p.resolve()) if p.exists() else ""

    @staticmethod
    def _matches_notebook(run: Run, wanted: tuple[str, str]) -> bool:
        nb = run.manifest.get("notebook") or {}
        rel, absolute = wanted
        return nb.get("path") == rel or (bool(absolute) and nb.get("absolute_path") == absolute)

    def get(self, run_id: str) -> Run:
        """The run with this id, unique id prefix, or unique name.

        Raises :class:`RunNotFound` or :class:`AmbiguousRunId` (one-line messages).
        """
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise RunNotFound(f"{run_id!r}: not a run id")
        exact = self.runs_dir / run_id
        if (exact / MANIFEST_FILE).is_file():
            run = self._load(exact)
            if run is not None:
                return run
        matches = [p for p in self._bundles() if p.name.startswith(run_id)]
        if not matches:
            named = [
                r
                for r in map(self._load, self._bundles())
                if r and r.manifest.get("name") == run_id
            ]
            if len(named) == 1:
                return named[0]
            if len(named) > 1:
                ids = ", ".join(r.run_id for r in named[:5])
                raise AmbiguousRunId(f"{run_id!r}: {len(named)} runs have this name ({ids})")
            raise RunNotFound(f"{run_id!r}: no such run in {self.runs_dir}")
        if len(matches) > 1:
            ids = ", ".join(p.name for p in matches[:5])
            raise AmbiguousRunId(f"{run_id!r}: matches {len(matches)} runs ({ids}...)")
        run = self._load(matches[0])
        if run is None:
            raise RunNotFound(f"{run_id!r}: the run's manifest is unreadable")
        return run

    def ensure_writable(self) -> None:
        """Create the runs directory if needed; raise :class:`InputError` (one line) when it
        cannot be created or written (checked before a run executes, not after)."""
        try:
            if self.runs_dir.exists() and not self.runs_dir.is_dir():
                raise InputError(f"runs directory {self.runs_dir}: not a directory")
            self.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"runs directory {self.runs_dir}: cannot create it: {exc.strerror or exc}"
            ) from None
        if not os.access(self.runs_dir, os.W_OK | os.X_OK):
            raise InputError(f"runs directory {self.runs_dir}: not writable")

    def write(
        self,
        manifest: Mapping[str, Any],
        notebook: Mapping[str, Any],
        environment: Mapping[str, Any],
        extra_files: Mapping[str, bytes] | None = None,
    ) -> Run:
        """Write a new bundle atomically and return it (``extra_files``: more files of the
        bundle by name, e.g. the code patch).

        The files go to ``.tmp-<pid>-<run id>/`` in the runs directory, which is then renamed to
        ``<run id>/``; any failure removes the temporary folder.
        """
        run_id = str(manifest["run_id"])
        self.ensure_writable()
        self.remove_stale_temporaries()
        tmp = self.runs_dir / f"{_TMP_PREFIX}{os.getpid()}-{run_id}"
        final = self.runs_dir / run_id
        try:
            tmp.mkdir()
            (tmp / NOTEBOOK_FILE).write_text(dumps_notebook(dict(notebook)), encoding="utf-8")
            (tmp / ENVIRONMENT_FILE).write_text(_dump_json(environment), encoding="utf-8")
            (tmp / MANIFEST_FILE).write_text(_dump_json(manifest), encoding="utf-8")
            extra = dict(extra_files or {})
            for name, data in extra.items():
                (tmp / Path(name).name).write_bytes(data)
            for name in (NOTEBOOK_FILE, ENVIRONMENT_FILE, MANIFEST_FILE, *extra):
                with open(tmp / name, "rb") as fh:
                    os.fsync(fh.fileno())
            os.rename(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InputError(
                f"run {run_id}: cannot write its bundle in {self.runs_dir}: {exc.strerror or exc}"
            ) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Run(final, dict(manifest))

    def record_mlflow(self, run: Run, export: Mapping[str, Any]) -> None:
        """Note in the bundle where the run was exported (``mlflow.json``, written atomically)."""
        atomic_write_text(run.path / MLFLOW_FILE, _dump_json(export))

    def remove_stale_temporaries(self) -> builtins.list[Path]:
        """Remove temporary bundle folders whose writing process is gone; return them."""
        removed: builtins.list[Path] = []
        try:
            entries = list(os.scandir(self.runs_dir))
        except (FileNotFoundError, NotADirectoryError):
            return removed
        for entry in entries:
            if not entry.name.startswith(_TMP_PREFIX):
                continue
            pid_text = entry.name[len(_TMP_PREFIX) :].split("-", 1)[0]
            if pid_text.isdigit() and process_alive(int(pid_text)):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
        return removed
