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
import shlex
import sys
import threading
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import InputError, NbreproError, UsageError
from . import audit, native
from .environment import installed_distributions
from .hashing import parse_size
from .recorder import Recorder
from .secrets import redact

_recorder: Recorder | None = None
_magics_registered: set[int] = set()

#: Where Jupyter and VS Code tell a kernel which notebook it runs.
_SESSION_VARIABLES = ("__session__", "__vsc_ipynb_file__")
_SESSION_ENV = "JPY_SESSION_NAME"


def get_recorder() -> Recorder | None:
    """The recorder of this process (``None`` if the extension was never loaded)."""
    return _recorder


def _warn(message: str) -> None:
    print(f"nbrepro: {redact(message)}", file=sys.stderr)


def load_ipython_extension(ip: Any) -> None:
    """Start recording in shell ``ip`` (idempotent; on failure, warn and leave the kernel be)."""
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
        if id(ip) not in _magics_registered:
            ip.register_magics(NbreproMagics)
            _magics_registered.add(id(ip))
        # Scan the installed distributions in the background (about 0.3 s), so neither this
        # load nor the first read of the provenance waits for it.
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


def _configure(recorder: Recorder, assignments: list[str]) -> list[str]:
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"config expects KEY=VALUE, got {item!r}")
        if key == "hash_size_cap":
            recorder.size_cap = parse_size(value)
        elif key == "journal_cap":
            if not value.isdigit() or int(value) < 1:
                raise UsageError(f"journal_cap must be a positive integer, got {value!r}")
            recorder.journal_cap = int(value)
        elif key == "notebook_dir":
            folder = Path(value).expanduser()
            if not folder.is_dir():
                raise InputError(f"{folder}: not a directory")
            recorder.notebook_dir = os.path.abspath(folder)
        else:
            raise UsageError(
                f"unknown setting {key!r} (known: hash_size_cap, journal_cap, notebook_dir)"
            )
    return [
        f"hash_size_cap={recorder.size_cap}",
        f"journal_cap={recorder.journal_cap}",
        f"notebook_dir={redact(recorder.notebook_dir)}",
    ]


@magics_class
class NbreproMagics(Magics):
    """The ``%nbrepro`` line magic."""

    @line_magic
    def nbrepro(self, line: str) -> None:
        """%nbrepro [status | save [PATH] | on | off | config [KEY=VALUE ...]]"""
        try:
            self._run(shlex.split(line))
        except NbreproError as exc:
            _warn(f"error: {exc}")
        except ValueError as exc:  # shlex: unbalanced quotes
            _warn(f"error: {exc}")

    def _run(self, argv: list[str]) -> None:
        command, args = (argv[0], argv[1:]) if argv else ("status", [])
        recorder = _recorder
        if command == "status":
            if args and args != ["--text"]:
                raise UsageError("status takes only --text")
            if getattr(self.shell, "kernel", None) is not None and not args:
                from ..widgets import display_status

                display_status(self.shell)
            elif recorder is None:
                print("nbrepro recorder: not loaded")
            else:
                print("\n".join(recorder.status_lines()))
        elif command == "save":
            if len(args) > 1:
                raise UsageError("save takes at most one PATH")
            target, changed = save_provenance(self.shell, args[0] if args else None)
            state = "saved to" if changed else "unchanged in"
            print(f"nbrepro: provenance {state} {target}")
        elif command == "on":
            load_ipython_extension(self.shell)
            print("nbrepro: recording")
        elif command == "off":
            unload_ipython_extension(self.shell)
            print("nbrepro: recording paused")
        elif command == "config":
            if recorder is None:
                raise UsageError("the recorder is not loaded (run %load_ext nbrepro)")
            print("\n".join(_configure(recorder, args)))
        else:
            raise UsageError(
                f"unknown subcommand {command!r} (status, save [PATH], on, off, config)"
            )
