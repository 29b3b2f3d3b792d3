"""What every hostile command line must come to, and the notebooks the tests start from.

A refused input exits 2 with exactly one ``nbrepro: error:`` line on stderr (argparse's usage
synopsis may stand above it), no traceback on stdout or stderr, and the input unchanged
(:func:`assert_refused`, :func:`sha`). Commands run in-process through ``nbrepro.cli.main``
(:func:`run_cli`, fast) or as a real process (:func:`run_process`).

Only ``nbrepro.cli`` is imported here, so the suite also runs against an nbrepro without the
modules it tests (to count what failed before).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The real notebooks of the repository (the fuzz tests mutate them).
REAL_NOTEBOOKS = [
    *sorted((REPO / "tests" / "fixtures" / "notebooks").glob("*.ipynb")),
    REPO / "examples" / "analysis.ipynb",
]
#: Characters no line printed for a person may hold raw (tab and newline are structure).
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)

#: A small valid notebook: markdown, a tagged parameters cell with a stream output, a cell with
#: an execute result.
BASE: dict[str, Any] = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    },
    "cells": [
        {"cell_type": "markdown", "id": "m0", "metadata": {}, "source": "# title"},
        {
            "cell_type": "code",
            "id": "c1",
            "metadata": {"tags": ["parameters"]},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}],
            "source": ["n = 1\n", "print(n)"],
        },
        {
            "cell_type": "code",
            "id": "c2",
            "metadata": {},
            "execution_count": 2,
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {"text/plain": ["2"]},
                }
            ],
            "source": "n + 1",
        },
    ],
}
_HASH = "sha256:" + "0" * 64
_TIME = "2024-05-01T12:00:00.000Z"
#: Provenance of the schema's shape (``schemas/provenance.schema.json``) for :data:`BASE`.
PROVENANCE: dict[str, Any] = {
    "schema_version": 1,
    "nbrepro_version": "0.1.0",
    "session": {"id": "session-1", "started": _TIME},
    "environment": {
        "python": {"version": "3.11.7", "implementation": "CPython"},
        "platform": {"system": "Linux", "machine": "x86_64", "release": "6.0"},
        "kernel": {"name": "python3", "language": "python"},
        "packages": {"numpy": "1.26.0"},
        "packages_scope": "imported",
        "packages_digest": _HASH,
        "env_vars": {"TZ": "UTC"},
    },
    "inputs": {"data.csv": {"hash": _HASH, "size": 3, "kind": "file", "produced": False}},
    "cells": {
        "c1": {
            "execution_count": 1,
            "source_hash": _HASH,
            "status": "ok",
            "error": None,
            "inputs": ["data.csv"],
            "outputs": [],
        }
    },
    "executions": [
        {
            "cell_id": "c1",
            "cell_id_source": "frontend",
            "execution_count": 1,
            "source_hash": _HASH,
            "started": _TIME,
            "ended": _TIME,
            "status": "ok",
            "error": None,
            "inputs": ["data.csv"],
            "outputs": [],
        }
    ],
    "deleted_cells": [],
}


def base_notebook(*, provenance: bool = False) -> dict[str, Any]:
    """A deep copy of :data:`BASE` (with :data:`PROVENANCE` under ``metadata.nbrepro``)."""
    nb = copy.deepcopy(BASE)
    if provenance:
        nb["metadata"]["nbrepro"] = copy.deepcopy(PROVENANCE)
    return nb


def sha(path: Path) -> str:
    """The file's sha256 (``"-"`` when it does not exist as a regular file)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    except OSError:
        return "-"


@dataclass
class Outcome:
    """What a command did."""

    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> Outcome:
    """``nbrepro ARGV`` in this process (argparse's ``SystemExit`` taken as the exit code);
    the SIGTERM handler ``nbrepro run`` installs is put back."""
    from nbrepro.cli import main

    handler = signal.getsignal(signal.SIGTERM)
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    finally:
        signal.signal(signal.SIGTERM, handler)
    out, err = capsys.readouterr()
    return Outcome(code, out, err)


def run_process(*argv: Any, cwd: Path, timeout: float = 120, memory: int = 2 * 1024**3) -> Outcome:
    """``python -m nbrepro ARGV`` as a real process (``memory``: its address-space limit, so a
    reader that does not stop cannot take the machine down)."""

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env["PYTHONIOENCODING"] = "utf-8"  # strict, as a UTF-8 terminal is
    args = [a if isinstance(a, (str, bytes)) else str(a) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", *args],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        env=env,
        preexec_fn=limit,
    )
    return Outcome(
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


def error_lines(err: str) -> list[str]:
    """stderr without argparse's usage synopsis (``usage: ...`` and its indented lines)."""
    lines = err.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        while lines and lines[0][:1].isspace():
            lines = lines[1:]
    return lines


def assert_refused(outcome: Outcome, code: int = 2, *, contains: str | None = None) -> None:
    """Exit ``code``, exactly one ``nbrepro: error:`` line, no traceback, nothing unprintable."""
    assert "Traceback" not in outcome.out and "Traceback" not in outcome.err, outcome.err[-2000:]
    assert outcome.code == code, (outcome.code, outcome.err[-2000:])
    lines = error_lines(outcome.err)
    assert len(lines) == 1, outcome.err[-2000:]
    assert lines[0].startswith("nbrepro: error: "), lines
    assert not UNSAFE.search(lines[0]), ascii(lines[0])
    if contains is not None:
        assert contains in lines[0], lines[0]


def assert_printable(text: str) -> None:
    """No control, bidi or line-separator character raw in ``text`` (newlines and tabs aside)."""
    found = UNSAFE.search(text)
    assert found is None, f"raw {found.group()!r} in {text[max(found.start() - 60, 0) :][:160]!r}"


def write(path: Path, content: bytes | str | dict[str, Any] | list[Any]) -> Path:
    """Write a notebook file (a dict or list as JSON) and return its path."""
    if isinstance(content, (dict, list)):
        content = json.dumps(content)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def commands(path: Path | str) -> dict[str, Sequence[str]]:
    """Each command that reads a notebook, called on ``path``."""
    p = str(path)
    return {
        "check": ("check", p),
        "check-json": ("check", "--format", "json", p),
        "verify": ("verify", p),
        "run": ("run", p),
        "env-diff": ("env", "diff", p),
        "env-export": ("env", "export", p),
    }
