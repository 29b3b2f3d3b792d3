"""The command line's behaviour when whoever reads its output goes away (``| head``)."""

from __future__ import annotations

import os
import subprocess

import pytest

from nbrepro.errors import EXIT_BROKEN_PIPE


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
