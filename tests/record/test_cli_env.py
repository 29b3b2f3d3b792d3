"""``nbrepro env`` and ``nbrepro env diff``: output, secrets, exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nbrepro.cli import main
from nbrepro.notebook_io import write_notebook
from nbrepro.provenance import merge_into_notebook
from nbrepro.record.environment import snapshot
from tests.kernel_session import new_notebook


def _notebook_with_env(path: Path, env: dict[str, Any]) -> Path:
    prov = {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "session": {"id": "s", "started": "2024-01-01T00:00:00.000Z"},
        "environment": env,
        "inputs": {},
        "cells": {},
    }
    write_notebook(merge_into_notebook(new_notebook(["import yaml"]), prov), path)
    return path


def test_env_prints_the_snapshot_without_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_TOKEN", "s3cr3t")
    monkeypatch.setenv("NBREPRO_ENV_ALLOWLIST", "MY_API_TOKEN")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert main(["env"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Python:    CPython ")
    assert "OMP_NUM_THREADS=3" in text
    assert main(["env", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["env_vars"]["OMP_NUM_THREADS"] == "3"
    assert data["packages"]["ipykernel"]
    assert "s3cr3t" not in text + json.dumps(data)
    assert "MY_API_TOKEN" not in text + json.dumps(data)


def test_env_diff_exits_0_when_the_recorded_environment_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _notebook_with_env(tmp_path / "same.ipynb", snapshot(["yaml", "zmq"]))
    assert main(["env", "diff", str(nb)]) == 0
    assert "No environment drift." in capsys.readouterr().out


def test_env_diff_exits_1_and_names_the_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = copy.deepcopy(snapshot(["yaml"]))
    env["packages"]["pyyaml"] = "0.0.1"
    env["packages"]["long-gone-package"] = "1.0"
    env["python"]["version"] = "3.0.0"
    nb = _notebook_with_env(tmp_path / "drift.ipynb", env)
    assert main(["env", "diff", str(nb)]) == 1
    text = capsys.readouterr().out
    assert "package changed: pyyaml 0.0.1 ->" in text
    assert "package removed: long-gone-package 1.0" in text
    assert "Python version: 3.0.0 ->" in text
    assert main(["env", "diff", str(nb), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["drift"] is True
    assert data["packages"]["removed"] == {"long-gone-package": "1.0"}


def test_env_diff_exits_2_on_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.ipynb"
    write_notebook(new_notebook(["1"]), plain)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    for path, message in [
        (tmp_path / "missing.ipynb", "no such notebook"),
        (plain, "no recorded environment"),
        (broken, "not a valid notebook"),
    ]:
        assert main(["env", "diff", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err


def test_env_diff_exit_code_reaches_the_shell(tmp_path: Path) -> None:
    env = copy.deepcopy(snapshot(["yaml"]))
    env["packages"]["pyyaml"] = "0.0.1"
    nb = _notebook_with_env(tmp_path / "drift.ipynb", env)
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "env", "diff", str(nb)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
