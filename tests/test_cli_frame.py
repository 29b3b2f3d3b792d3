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
