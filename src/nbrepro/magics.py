"""The ``%nbrepro`` line magic: a face over the recorder (status, save, on, off, config).

It translates the magic's words into calls of :mod:`nbrepro.record.extension` and renders the
answers (the status widget in a Jupyter kernel, text elsewhere). Whatever goes wrong (bad
words, an unreadable notebook, a full disk while saving) is one ``nbrepro: error:`` line on
stderr, never a traceback; a save that fails leaves the notebook file as it was (the write is
atomic).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .errors import InputError, NbreproError, UsageError
from .record.extension import (
    _warn,
    load_ipython_extension,
    save_provenance,
    unload_ipython_extension,
)
from .record.hashing import parse_size
from .record.recorder import Recorder
from .record.secrets import redact
from .textsafe import printable


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
        except NbreproError as exc:  # a failed write too (notebook_io.WriteError): one line
            _warn(f"error: {printable(exc)}")
        except OSError as exc:  # anything else the system refused: still one line
            _warn(f"error: {printable(exc.strerror or exc)}")
        except ValueError as exc:  # shlex: unbalanced quotes
            _warn(f"error: {printable(exc)}")

    def _run(self, argv: list[str]) -> None:
        command, args = (argv[0], argv[1:]) if argv else ("status", [])
        from .record.extension import get_recorder

        recorder = get_recorder()
        if command == "status":
            if args and args != ["--text"]:
                raise UsageError("status takes only --text")
            if getattr(self.shell, "kernel", None) is not None and not args:
                from .widgets import display_status

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


_registered: set[int] = set()


def load(ip: Any) -> None:
    """``%load_ext nbrepro``: start the recorder and add the ``%nbrepro`` magic (once)."""
    load_ipython_extension(ip)
    if id(ip) not in _registered:
        ip.register_magics(NbreproMagics)
        _registered.add(id(ip))
