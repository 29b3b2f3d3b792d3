"""Building a virtual environment from a lock with uv, cached by the lock's digest.

An environment is built once per :attr:`~nbrepro.envbuild.lock.EnvLock.digest` under the cache
folder (:func:`cache_dir`: ``$NBREPRO_ENV_CACHE``, else ``$XDG_CACHE_HOME/nbrepro/envs``, else
``~/.cache/nbrepro/envs``): in a temporary folder beside its final place (``uv venv
--relocatable``), its marker file written last, then renamed into place, so a half-built
environment is never taken for a built one; two processes building the same lock wait for each
other (a lock file). uv installs from the index pip is configured with
(:mod:`nbrepro.envbuild.index`), and finds Pythons on this machine only (no downloads).

A Python the machine does not have, or a pin the index does not have, raise
:class:`EnvironmentNotRebuilt`: one line naming what is missing, exit code
:data:`EXIT_NOT_REBUILT`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NbreproError, OptionalDependencyMissing
from .index import PipIndex, pip_index
from .lock import KERNEL_REQUIREMENTS, EnvLock

#: Exit code of a verification whose environment could not be rebuilt.
EXIT_NOT_REBUILT = 3
#: Variable naming the cache folder of built environments.
CACHE_VARIABLE = "NBREPRO_ENV_CACHE"
#: The file a built environment carries (written last).
MARKER = "nbrepro-env.json"
#: How every message of :class:`EnvironmentNotRebuilt` begins.
PREFIX = "environment could not be rebuilt: "
#: Seconds uv may take for one step.
UV_TIMEOUT = 900.0
_NO_VERSION = re.compile(
    r"no (?:matching )?versions? of ([A-Za-z0-9][A-Za-z0-9._-]*)((?:==|>=|<=|~=|!=|<|>)[^\s,]+)?"
)
_NOT_FOUND = re.compile(r"[`']?([A-Za-z0-9][A-Za-z0-9._-]*)[`']? was not found in the package")


class EnvironmentNotRebuilt(NbreproError):
    """The recorded environment cannot be built here (a Python or a pin is not available)."""

    exit_code = EXIT_NOT_REBUILT
    http_status = 422

    def __init__(self, problem: str) -> None:
        # A message already saying so (prefixed with a notebook's path) is kept as it is.
        said = PREFIX in problem
        super().__init__(problem if said else PREFIX + problem)


@dataclass(frozen=True)
class BuiltEnvironment:
    """A virtual environment built from a lock."""

    lock: EnvLock
    root: Path
    #: The Python version it runs (may differ from the recorded one in its patch level).
    python_version: str
    #: True when it was already in the cache.
    cached: bool
    #: Seconds spent building (0 when cached).
    build_seconds: float

    @property
    def python(self) -> Path:
        """Its interpreter."""
        return venv_python(self.root)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (in verify reports)."""
        return {
            "lock": self.lock.to_dict(),
            "path": str(self.root),
            "python": self.python_version,
            "cached": self.cached,
            "build_seconds": round(self.build_seconds, 3),
        }


def venv_python(root: Path) -> Path:
    """The interpreter of the virtual environment at ``root``."""
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def cache_dir() -> Path:
    """Where built environments are kept."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nbrepro" / "envs"


def find_uv() -> str:
    """The uv binary (the ``uv`` wheel's, else one on ``PATH``)."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise OptionalDependencyMissing(
        "rebuilding an environment needs uv: pip install 'nbrepro[rebuild]'"
    )


def _run_uv(uv: str, args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [uv, *args],
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=UV_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentNotRebuilt(f"uv did not finish within {UV_TIMEOUT:g} s") from None
    except OSError as exc:
        raise EnvironmentNotRebuilt(f"uv cannot be run: {exc.strerror or exc}") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def install_problem(stderr: str, lock: EnvLock) -> str:
    """One line saying which packages the index does not have, from uv's message."""
    missing: list[str] = []
    for name, spec in _NO_VERSION.findall(stderr):
        item = f"{name}{spec}" if spec else name
        if item not in missing:
            missing.append(item)
    for name in _NOT_FOUND.findall(stderr):
        pinned = lock.packages.get(name.lower())
        item = f"{name}=={pinned}" if pinned else name
        if item not in missing:
            missing.append(item)
    if missing:
        return "not available from the package index: " + ", ".join(missing)
    return f"uv could not install {', '.join(lock.requirements) or 'ipykernel'}: " + _last_line(
        stderr
    )


def _python_requests(lock: EnvLock) -> list[str]:
    """What uv is asked for: the recorded version exactly, then its ``X.Y``."""
    prefix = "" if lock.implementation.lower() in ("cpython", "") else "pypy@"
    requests = [f"{prefix}{lock.python}"]
    if lock.python_minor != lock.python:
        requests.append(f"{prefix}{lock.python_minor}")
    return requests


def _create_venv(uv: str, root: Path, lock: EnvLock, environ: dict[str, str]) -> None:
    for request in _python_requests(lock):
        proc = _run_uv(
            uv,
            ["venv", "--quiet", "--relocatable", "--no-python-downloads", "--python", request,
             str(root)],
            environ,
        )  # fmt: skip
        if proc.returncode == 0:
            return
        if "No interpreter found" not in proc.stderr:
            raise EnvironmentNotRebuilt(f"uv venv failed: {_last_line(proc.stderr)}")
    raise EnvironmentNotRebuilt(
        f"Python {lock.python} ({lock.implementation}) is not available on this machine"
    )


def _python_version(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return proc.stdout.strip() or "?"


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (another process building the same lock waits)."""
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cached(root: Path, lock: EnvLock) -> BuiltEnvironment | None:
    try:
        marker = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("digest") != lock.digest:
        return None
    if not venv_python(root).exists():
        return None
    return BuiltEnvironment(lock, root, str(marker.get("python") or "?"), True, 0.0)


def build_environment(
    lock: EnvLock,
    *,
    cache: Path | None = None,
    index: PipIndex | None = None,
    uv_cache: Path | None = None,
) -> BuiltEnvironment:
    """The environment of ``lock``: from the cache, else built with uv (and cached).

    ``cache``: the folder of built environments (default :func:`cache_dir`); ``index``: where
    to install from (default: pip's configuration); ``uv_cache``: uv's own download cache
    (default: uv's). Raises :class:`EnvironmentNotRebuilt`.
    """
    folder = Path(cache) if cache is not None else cache_dir()
    root = folder / lock.short_digest
    found = _cached(root, lock)
    if found is not None:
        return found
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentNotRebuilt(f"cannot create {folder}: {exc.strerror or exc}") from None
    with _build_lock(folder / f"{lock.short_digest}.lock"):
        found = _cached(root, lock)
        if found is not None:
            return found
        return _build(lock, root, index or pip_index(), uv_cache)


def _build(lock: EnvLock, root: Path, index: PipIndex, uv_cache: Path | None) -> BuiltEnvironment:
    uv = find_uv()
    started = time.monotonic()
    environ = dict(os.environ)
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH"):
        environ.pop(name, None)
    environ.update(index.uv_environ())
    environ["UV_PYTHON_DOWNLOADS"] = "never"
    if uv_cache is not None:
        environ["UV_CACHE_DIR"] = str(uv_cache)
    work = Path(tempfile.mkdtemp(prefix=f".build-{lock.short_digest}-", dir=root.parent))
    try:
        _create_venv(uv, work, lock, environ)
        requirements = work / "nbrepro-requirements.txt"
        requirements.write_text(lock.requirements_text(), encoding="utf-8")
        proc = _run_uv(
            uv,
            ["pip", "install", "--quiet", "--compile-bytecode",
             "--python", str(venv_python(work)), *index.uv_args(),
             "-r", str(requirements), *KERNEL_REQUIREMENTS],
            environ,
        )  # fmt: skip
        if proc.returncode != 0:
            raise EnvironmentNotRebuilt(install_problem(proc.stderr, lock))
        version = _python_version(venv_python(work))
        marker = {**lock.to_dict(), "python": version, "built": time.time()}
        (work / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        if root.exists():
            shutil.rmtree(root, ignore_errors=True)
        os.replace(work, root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BuiltEnvironment(lock, root, version, False, time.monotonic() - started)
