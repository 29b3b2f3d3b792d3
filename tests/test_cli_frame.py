"""The command line's frame: argument parsing shared by every subcommand, closed output pipes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nbrepro.errors import EXIT_BROKEN_PIPE, EXIT_USAGE

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
    },
    "cells": [
        {
            "cell_type": "code",
            "id": "a",
            "metadata": {},
            "source": "x = 1",
            "outputs": [],
            "execution_count": 1,
        },
    ],
}


def _nbrepro(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nbrepro", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_options_may_stand_between_paths(tmp_path: Path) -> None:
    for name in ("a.ipynb", "b.ipynb"):
        (tmp_path / name).write_text(json.dumps(NOTEBOOK))
    proc = _nbrepro("check", "a.ipynb", "--format", "json", "b.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [entry["path"] for entry in json.loads(proc.stdout)] == ["a.ipynb", "b.ipynb"]


def test_an_unknown_option_between_paths_is_still_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text(json.dumps(NOTEBOOK))
    proc = _nbrepro("check", "a.ipynb", "--bogus", "a.ipynb", cwd=tmp_path)
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.splitlines()[-1] == "nbrepro: error: unrecognized arguments: --bogus a.ipynb"
    proc = _nbrepro("runs", "list", "extra", cwd=tmp_path)
    assert proc.returncode == EXIT_USAGE
    assert "unrecognized arguments: extra" in proc.stderr


@pytest.mark.parametrize("command", [["env"], ["env", "--format", "json"]])
def test_a_closed_output_pipe_exits_quietly_without_a_traceback(command: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before nbrepro writes its first byte
    try:
        proc = subprocess.run(
            ["nbrepro", *command], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write_end)
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert proc.stderr == ""


def test_a_verification_from_the_command_line_skips_the_iri_grammar_nbformat_would_build(
    tmp_path: Path,
) -> None:
    """jsonschema's optional rfc3987_syntax builds lark grammars at import (~1.8 s); the command
    line never checks IRI formats, so nbformat's import on the way to nbclient skips it, while
    a library user's process is left alone."""
    import sys

    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(NOTEBOOK))
    probe = (
        "import sys\n"
        "from nbrepro.cli import main\n"
        f"code = main(['verify', {str(nb)!r}, '-q'])\n"
        "print(code, sys.modules.get('rfc3987_syntax', 'absent'), 'nbclient' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "0 None True", done.stderr
    library = "import sys, nbrepro.verify; print(sys.modules.get('rfc3987_syntax', 'absent'))"
    done = subprocess.run([sys.executable, "-c", library], capture_output=True, text=True)
    assert done.stdout.strip() == "absent"


def test_a_flag_with_an_optional_value_never_takes_the_next_word_as_it(tmp_path: Path) -> None:
    """``--rebuild-env`` alone is ``--rebuild-env=require``, also right before a notebook's
    path; a value is given only with ``=``."""
    from nbrepro.cli import build_parser
    from nbrepro.cli.spec_args import expand_flags_without_value

    build_parser()
    assert expand_flags_without_value(["verify", "--rebuild-env", "nb.ipynb"]) == [
        "verify",
        "--rebuild-env=require",
        "nb.ipynb",
    ]
    assert expand_flags_without_value(
        ["verify", "--rebuild-env=prefer", "--", "--rebuild-env"]
    ) == [
        "verify",
        "--rebuild-env=prefer",
        "--",
        "--rebuild-env",
    ]
