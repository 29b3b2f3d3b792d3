"""Where runs live: the project root, the runs directory, configuration and git state.

The project root is the nearest folder up from the notebook holding ``pyproject.toml`` or
``.git`` (else the notebook's own folder). Runs go to ``<project root>/.nbrepro/runs`` unless
``[tool.nbrepro] runs_dir`` (relative to the project root) or ``--runs-dir`` says otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InputError

#: Runs directory relative to the project root when nothing else is configured.
DEFAULT_RUNS_DIR = Path(".nbrepro") / "runs"
_ROOT_MARKERS = ("pyproject.toml", ".git")


def find_project_root(start: str | os.PathLike[str]) -> Path:
    """The nearest folder at or above ``start`` (a notebook or a folder) with ``pyproject.toml``
    or ``.git``; ``start``'s folder when there is none."""
    try:
        p = Path(start).resolve()
        folder = p if p.is_dir() else p.parent
        for candidate in (folder, *folder.parents):
            if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
                return candidate
    except RuntimeError:  # a symbolic link loop (Python 3.11's resolve)
        raise InputError(f"{start}: a symbolic link loop") from None
    except OSError as exc:  # a name too long, a folder that cannot be read
        raise InputError(f"{start}: {exc.strerror or exc}") from None
    return folder


def run_settings(project_root: Path) -> tuple[dict[str, Any], Path]:
    """The settings of ``nbrepro run`` (``[tool.nbrepro]`` keys, overridden by
    ``[tool.nbrepro.run]``) from the nearest configuration at or above ``project_root``, and the
    folder that relative paths in them are relative to.

    A malformed ``pyproject.toml`` raises :class:`InputError`.
    """
    from ..config import find_config

    config = find_config(project_root)
    return config.section("run"), config.root or project_root


def resolve_runs_dir(project_root: Path, runs_dir: str | os.PathLike[str] | None = None) -> Path:
    """The runs directory: ``runs_dir`` if given (relative to the current folder), else the
    configured ``runs_dir`` (relative to the configuration file's folder), else
    ``<project root>/.nbrepro/runs``."""
    if runs_dir is not None:
        return Path(runs_dir).resolve()
    settings, base = run_settings(project_root)
    configured = settings.get("runs_dir")
    if configured is not None:
        if not isinstance(configured, str) or not configured:
            raise InputError(f"{base / 'pyproject.toml'}: [tool.nbrepro] runs_dir must be a path")
        return (base / configured).resolve()
    return project_root / DEFAULT_RUNS_DIR


@dataclass(frozen=True)
class GitState:
    """The git commit checked out and whether tracked files have uncommitted changes."""

    commit: str | None
    dirty: bool | None
    branch: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``run.json``."""
        return {"commit": self.commit, "dirty": self.dirty, "branch": self.branch}


def _git(folder: Path, *args: str) -> str | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(folder: Path) -> GitState | None:
    """The git state of the repository holding ``folder``; ``None`` without git or a repository.

    Dirty means tracked files differ from the commit (untracked files, such as the runs
    directory itself, do not count).
    """
    if _git(folder, "rev-parse", "--is-inside-work-tree") is None:
        return None
    head = _git(folder, "rev-parse", "--verify", "--quiet", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    branch = _git(folder, "symbolic-ref", "--short", "--quiet", "HEAD")
    return GitState(
        commit=head.strip() if head else None,
        dirty=bool(status.strip()) if status is not None else None,
        branch=branch.strip() if branch else None,
    )


def redact_uri(uri: str) -> str:
    """A URI without the user name and password it may carry (never recorded)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
