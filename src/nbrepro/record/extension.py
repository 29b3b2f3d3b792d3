"""The IPython extension (``%load_ext nbrepro``, ``%unload_ext nbrepro``) and ``%nbrepro``.

Loading is idempotent and never breaks the kernel: a failure is reported in one line on stderr
and the kernel goes on without recording. The audit hook is added once per process (hooks
cannot be removed); unloading unregisters the cell events, closes the hook's gate and puts back
the native readers' entry points (:mod:`nbrepro.record.native`).

``%nbrepro`` subcommands::

    %nbrepro status [--text]         what is recorded (the default; a widget in a Jupyter kernel)
    %nbrepro save [PATH]             write the provenance into the notebook file
    %nbrepro on | off                resume / pause recording
    %nbrepro config [KEY=VALUE ...]  hash_size_cap, journal_cap, notebook_dir
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from . import audit, native
from .environment import installed_distributions
from .recorder import Recorder
from .secrets import redact

_recorder: Recorder | None = None

#: Where Jupyter and VS Code tell a kernel which notebook it runs.
_SESSION_VARIABLES = ("__session__", "__vsc_ipynb_file__")
_SESSION_ENV = "JPY_SESSION_NAME"


def get_recorder() -> Recorder | None:
    """The recorder of this process (``None`` if the extension was never loaded)."""
    return _recorder


def _warn(message: str) -> None:
    print(f"nbrepro: {redact(message)}", file=sys.stderr)


def load_ipython_extension(ip: Any, *, scan_environment: bool = True) -> None:
    """Start recording in shell ``ip`` (idempotent; on failure, warn and leave the kernel be).

    ``scan_environment=False`` skips the background scan of the installed distributions (a
    run's kernel, whose environment nbrepro reads from outside, does not need it)."""
    global _recorder
    try:
        if _recorder is None or _recorder.shell is not ip:
            _recorder = Recorder(ip)
        recorder = _recorder
        audit.install()
        native.install()
        if not recorder.active:
            recorder.reset_cell_state()
            ip.events.register("pre_run_cell", recorder.pre_run_cell)
            ip.events.register("post_run_cell", recorder.post_run_cell)
            recorder.active = True
        # Scan the installed distributions in the background (about 0.3 s), so neither this
        # load nor the first read of the provenance waits for it.
        if scan_environment:
            threading.Thread(target=_warm_environment, name="nbrepro-env-scan", daemon=True).start()
    except Exception as exc:
        _warn(f"recording not started: {type(exc).__name__}: {exc}")


def _warm_environment() -> None:
    with audit.ignoring_this_thread(), contextlib.suppress(Exception):
        installed_distributions()


def unload_ipython_extension(ip: Any) -> None:
    """Stop recording in shell ``ip`` (what was recorded stays readable)."""
    recorder = _recorder
    if recorder is None or recorder.shell is not ip:
        return
    try:
        if recorder.active:
            recorder.active = False
            ip.events.unregister("pre_run_cell", recorder.pre_run_cell)
            ip.events.unregister("post_run_cell", recorder.post_run_cell)
        recorder.reset_cell_state()
        audit.stop()
        native.uninstall()
    except Exception as exc:
        _warn(f"error while stopping: {type(exc).__name__}: {exc}")


def session_notebook_path(ip: Any) -> Path | None:
    """The notebook file this kernel runs, as Jupyter (``JPY_SESSION_NAME``) or VS Code say."""
    candidates: list[str] = []
    ns = getattr(ip, "user_ns", {}) or {}
    for name in _SESSION_VARIABLES:
        value = ns.get(name)
        if isinstance(value, str) and value:
            candidates.append(value)
    env_value = os.environ.get(_SESSION_ENV)
    if env_value:
        candidates.append(env_value)
    recorder = _recorder
    base = Path(recorder.notebook_dir) if recorder else Path.cwd()
    for raw in candidates:
        path = Path(raw)
        options = [path] if path.is_absolute() else [Path.cwd() / path, base / path.name]
        for option in options:
            if option.suffix == ".ipynb" and option.is_file():
                return option
    return None


def save_provenance(ip: Any, path: str | None) -> tuple[Path, bool]:
    """Merge the live provenance into a notebook file; return (path, whether it changed)."""
    from ..notebook_io import atomic_write_text, dumps_notebook, read_notebook
    from ..provenance import merge_into_notebook

    recorder = _recorder
    if recorder is None:
        raise UsageError("the recorder is not loaded (run %load_ext nbrepro)")
    target = Path(path).expanduser() if path else session_notebook_path(ip)
    if target is None:
        raise UsageError("cannot tell which notebook this kernel runs; use %nbrepro save PATH")
    nb = read_notebook(target)
    text = dumps_notebook(merge_into_notebook(nb, recorder.provenance()))
    try:
        current = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{target}: cannot read: {exc.strerror or exc}") from None
    if current == text:
        return target, False
    atomic_write_text(target, text)
    return target, True
