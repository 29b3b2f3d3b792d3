"""The environment of a kernel: the one its notebook's code runs in, not always nbrepro's own.

JupyterLab often runs in one environment while notebooks use kernels of others (a kernel
installed with ``python -m ipykernel install --user --name myenv``, a conda environment's kernel).
A notebook's recorded environment is compared with, and runs record, the environment of the
*kernel*: :func:`kernel_environment` finds the kernel's interpreter from its kernelspec and

* when that is this very interpreter (``argv[0]`` is ``python``/``python3``, which
  jupyter_client replaces with ``sys.executable``, or the path of this interpreter), takes the
  in-process :func:`nbrepro.record.environment.snapshot`;
* otherwise runs that interpreter on the source of :mod:`nbrepro.record.interpreter` (standard
  library only; nbrepro need not be installed there and nothing of this environment is put on
  its ``sys.path``) and reads back its Python, platform and installed distributions. The answer
  is cached per interpreter and redone when the interpreter or one of its package folders
  changes.

The interpreter runs with the environment variables the kernel would get (this process's, the
caller's extra ones, the kernelspec's ``env``), so ``PYTHONPATH`` and the user site-packages count
as they do in the kernel; the recorded variables (``env_vars``) are computed from them here,
through the secret gate of :mod:`nbrepro.record.secrets`.

A kernel of another language has no Python environment to compare; a kernel that is not
installed, an interpreter that cannot be found, fails or does not answer within the timeout
gives no environment either: :class:`KernelEnvironment` then carries a one-line ``reason``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Protocol

from . import interpreter
from .environment import recorded_env_vars, snapshot

#: Seconds an interpreter may take to describe itself (starting it and scanning its packages).
DEFAULT_TIMEOUT = 30.0
#: Seconds a failure is remembered before the interpreter is asked again.
FAILURE_TTL = 60.0
#: Variables that change which distributions an interpreter sees (part of the cache key; when
#: the kernel's differ from this process's, even this interpreter is asked in a subprocess).
PATH_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
    "PYTHONPLATLIBDIR",
)
# Interpreter options (before ``-m``) that change ``sys.path``: they are passed on.
_PATH_FLAGS = re.compile(r"-[EIPsS]+")
# What a Python interpreter's file name looks like (python, python3.12, pypy3, python.exe).
_PYTHON_NAME = re.compile(r"(python|pypy)[0-9.]*(\.exe)?", re.IGNORECASE)
# Modules that start a kernel in *another* interpreter (nb_conda_kernels activates the conda
# environment, then starts that environment's Python).
_LAUNCHERS = frozenset({"nb_conda_kernels.runner"})


class KernelSpecLike(Protocol):
    """What is read of a kernelspec (``jupyter_client.kernelspec.KernelSpec`` has it)."""

    argv: list[str]
    language: str
    env: dict[str, str]
    resource_dir: str


@dataclass(frozen=True)
class KernelEnvironment:
    """The environment snapshot of a kernel, or why there is none.

    ``environment``: the ``environment`` object of the provenance schema with every installed
    distribution (``packages_scope: "all"``), ``None`` when unavailable; ``reason`` then says
    why in one line. ``language``: the kernelspec's (``None`` when the kernel is not installed).
    ``interpreter``: the kernel's interpreter (``None`` when not known).
    """

    kernel: str | None
    environment: dict[str, Any] | None
    reason: str | None = None
    language: str | None = None
    interpreter: str | None = None

    @property
    def is_python(self) -> bool:
        """Whether the kernel's language is Python (a Python kernel should have an
        environment: without one, reading it failed)."""
        return (self.language or "").lower() == "python"


class _Unavailable(Exception):
    """No environment for this kernel; the message is the one-line reason."""


@dataclass
class _Described:
    interpreter_key: tuple[int, int]
    path_key: tuple[tuple[str, int], ...]
    facts: dict[str, Any]


_lock = threading.Lock()
_described: dict[tuple[Any, ...], _Described] = {}
_failed: dict[tuple[Any, ...], tuple[float, tuple[int, int], str]] = {}


def kernel_process_environ(
    spec: KernelSpecLike, extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment variables a kernel of ``spec`` starts with, as jupyter_client builds
    them: this process's, then ``extra_env``, then the kernelspec's ``env`` (``$VAR``
    substituted from the former)."""
    environ = dict(os.environ)
    environ.update(extra_env or {})
    spec_env = getattr(spec, "env", None) or {}
    environ.update({k: Template(str(v)).safe_substitute(environ) for k, v in spec_env.items()})
    environ.pop("PYTHONEXECUTABLE", None)
    return environ


def kernel_interpreter(spec: KernelSpecLike, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The interpreter a Python kernelspec starts and the ``sys.path`` options it passes it.

    ``argv[0]`` of ``python``/``python3``/``python3.N`` (this version) is this interpreter, as
    jupyter_client makes it; ``{prefix}`` and ``{resource_dir}`` are substituted; other relative
    names are looked up on the kernel's ``PATH``. Raises :class:`_Unavailable`.
    """
    argv = [str(a) for a in (spec.argv or [])]
    if not argv:
        raise _Unavailable("its kernelspec has an empty argv")
    first = argv[0].replace("{prefix}", sys.prefix)
    first = first.replace("{resource_dir}", str(getattr(spec, "resource_dir", "") or ""))
    major, minor = sys.version_info[:2]
    this_version = {"python", f"python{major}", f"python{major}.{minor}"}
    if first in this_version:
        path: str | None = sys.executable
    elif os.path.isabs(first):
        path = first
    else:
        path = shutil.which(first, path=environ.get("PATH"))
    if not path or not os.path.isfile(path):
        raise _Unavailable(f"its interpreter {first!r} cannot be found")
    if not _PYTHON_NAME.fullmatch(os.path.basename(path)):
        raise _Unavailable(f"it starts {os.path.basename(path)!r}, not a Python interpreter")
    flags = []
    for arg in argv[1:]:
        if not _PATH_FLAGS.fullmatch(arg):
            break
        flags.append(arg)
    rest = argv[1 + len(flags) :]
    if len(rest) > 1 and rest[0] == "-m" and rest[1] in _LAUNCHERS:
        raise _Unavailable(f"it starts through {rest[1]}, which chooses its interpreter")
    return os.path.abspath(path), flags


def is_this_interpreter(path: str) -> bool:
    """Whether ``path`` runs this interpreter *in this environment*.

    A virtual environment's ``python`` is a link to its base interpreter, so the resolved files
    alone would take every venv for its base: the folders holding the two must be the same too.
    """
    here = sys.executable
    if os.path.abspath(path) == os.path.abspath(here):
        return True
    same_dir = os.path.realpath(os.path.dirname(path)) == os.path.realpath(os.path.dirname(here))
    return same_dir and os.path.realpath(path) == os.path.realpath(here)


def _stat_key(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns)


def _still_valid(entry: _Described, interpreter_path: str) -> bool:
    try:
        if _stat_key(interpreter_path) != entry.interpreter_key:
            return False
    except OSError:
        return False
    folders = [path for path, mtime in entry.path_key if mtime != 0]
    return interpreter.path_key(folders) == tuple(p for p in entry.path_key if p[1] != 0)


def _run_interpreter(path: str, flags: list[str], environ: dict[str, str], timeout: float) -> Any:
    source = Path(interpreter.__file__).read_text(encoding="utf-8")
    try:
        proc = subprocess.run(
            [path, *flags, "-c", source],
            env=environ,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _Unavailable(f"its interpreter {path} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise _Unavailable(f"its interpreter {path} cannot be run: {exc.strerror or exc}") from None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(interpreter.OUTPUT_MARKER):
            try:
                return json.loads(line[len(interpreter.OUTPUT_MARKER) :])
            except ValueError:
                break
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    detail = errors[-1].strip() if errors else f"exit status {proc.returncode}"
    raise _Unavailable(f"its interpreter {path} could not describe its environment: {detail}")


def _describe(path: str, flags: list[str], environ: dict[str, str], timeout: float) -> Any:
    """The facts of the interpreter at ``path`` (cached; see the module docstring)."""
    key = (path, tuple(flags), tuple(environ.get(v) for v in PATH_VARIABLES))
    with _lock:
        entry = _described.get(key)
        failure = _failed.get(key)
    if entry is not None and _still_valid(entry, path):
        return entry.facts
    try:
        interpreter_key = _stat_key(path)
    except OSError as exc:
        raise _Unavailable(f"its interpreter {path} cannot be read: {exc.strerror}") from None
    recent = failure is not None and time.monotonic() - failure[0] < FAILURE_TTL
    if failure is not None and recent and failure[1] == interpreter_key:
        raise _Unavailable(failure[2])
    try:
        facts = _run_interpreter(path, flags, environ, timeout)
        entry = _Described(
            interpreter_key,
            tuple((str(p), int(m)) for p, m in facts["path_key"]),
            facts,
        )
        for name in ("python", "platform", "packages", "packages_digest"):
            if name not in facts:
                raise _Unavailable(f"its interpreter {path} answered without {name!r}")
    except _Unavailable as exc:
        with _lock:
            _failed[key] = (time.monotonic(), interpreter_key, str(exc))
        raise
    except (KeyError, TypeError, ValueError):
        reason = f"its interpreter {path} answered in an unknown form"
        with _lock:
            _failed[key] = (time.monotonic(), interpreter_key, reason)
        raise _Unavailable(reason) from None
    with _lock:
        _described[key] = entry
        _failed.pop(key, None)
    return facts


def spec_environment(
    spec: KernelSpecLike,
    kernel: str | None = None,
    *,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> KernelEnvironment:
    """The environment of a kernel started from ``spec`` (named ``kernel``).

    ``extra_env``: variables the caller adds to the kernel's environment (``verify --env``).
    """
    label = repr(kernel) if kernel else "the kernel"
    language = str(getattr(spec, "language", "") or "")
    if language.lower() != "python":
        return KernelEnvironment(
            kernel, None, f"kernel {label} runs {language or 'an unknown language'}: "
            "no Python environment to compare", language,
        )  # fmt: skip
    environ = kernel_process_environ(spec, extra_env)
    path: str | None = None
    try:
        path, flags = kernel_interpreter(spec, environ)
        same_paths = all(environ.get(v) == os.environ.get(v) for v in PATH_VARIABLES)
        if is_this_interpreter(path) and not flags and same_paths:
            env = snapshot()
        else:
            facts = _describe(path, flags, environ, timeout)
            env = {
                "python": facts["python"],
                "platform": facts["platform"],
                "packages": dict(facts["packages"]),
                "packages_scope": "all",
                "packages_digest": facts["packages_digest"],
            }
    except _Unavailable as exc:
        return KernelEnvironment(kernel, None, f"kernel {label}: {exc}", language, path)
    env["kernel"] = {
        "name": kernel,
        "language": language,
        "language_version": env["python"].get("version"),
    }
    env["env_vars"] = recorded_env_vars(environ)
    return KernelEnvironment(kernel, env, None, language, path)


def find_kernelspec(kernel: str, spec_manager: Any = None) -> Any:
    """The installed kernelspec called ``kernel``, or a :class:`KernelEnvironment` saying why
    there is none.

    ``spec_manager``: where to look it up (default: a jupyter_client ``KernelSpecManager``,
    which sees every kernel ``jupyter kernelspec list`` shows). Call it in the thread that
    starts kernels: jupyter_client's imports must not race each other in two threads.
    """
    from ..errors import KernelNotFound, NbreproError
    from ..execute.kernels import lookup_kernelspec

    try:
        return lookup_kernelspec(kernel, spec_manager)
    except KernelNotFound:
        return KernelEnvironment(kernel, None, f"kernel {kernel!r} is not installed")
    except NbreproError as exc:
        return KernelEnvironment(kernel, None, exc.raw)


def kernel_environment(
    kernel: str,
    *,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    spec_manager: Any = None,
) -> KernelEnvironment:
    """The environment of the installed kernel called ``kernel`` (see the module docstring);
    ``spec_manager`` as for :func:`find_kernelspec`."""
    found = find_kernelspec(kernel, spec_manager)
    if isinstance(found, KernelEnvironment):
        return found
    return spec_environment(found, kernel, extra_env=extra_env, timeout=timeout)
