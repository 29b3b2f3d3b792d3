"""The Binder demo notebook (made by binder/make_demo.py) shows every kind of nbrepro flag."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nbrepro.analysis.findings import RULES
from nbrepro.notebook_io import read_notebook

BINDER = Path(__file__).resolve().parents[2] / "binder"
DEMO = BINDER / "demo.ipynb"


def _nbrepro(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrepro", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """The demo and its data in a scratch folder (verify keeps nothing, but be safe)."""
    shutil.copy(DEMO, tmp_path / "demo.ipynb")
    shutil.copytree(BINDER / "data", tmp_path / "data")
    return tmp_path


def test_demo_check_reports_each_static_flag_on_its_cell(demo_copy: Path):
    result = _nbrepro("check", "demo.ipynb", "--format", "json", cwd=demo_copy)

    assert result.returncode == 1, result.stderr
    [entry] = json.loads(result.stdout)
    found = {(f["rule"], f["cell_id"]) for f in entry["findings"]}
    expected = {
        ("NBR101", "scale"),  # out-of-order execution
        ("NBR201", "scale"),  # use before definition
        ("NBR301", "report"),  # edited after it ran
        ("NBR202", "above"),  # hidden state from a deleted cell
        ("NBR102", "summary"),  # never run
        ("NBR203", "above"),  # used after `del` in a cell above
        ("NBR103", "pasted"),  # outputs without an execution count
        ("NBR104", "above"),  # an execution whose outputs are not in the notebook
    }
    assert expected <= found
    assert {rule for rule, _cell in found} == set(RULES)  # every kind of static flag
    hidden = next(f for f in entry["findings"] if f["rule"] == "NBR202")
    assert "deleted" in hidden["message"]


def test_demo_records_changed_input_data_and_environment_drift(demo_copy: Path):
    from nbrepro.record.drift import check_drift

    report = check_drift(read_notebook(demo_copy / "demo.ipynb"), demo_copy)

    [changed] = report.changed_inputs
    assert (changed.path, changed.status) == ("data/measurements.csv", "changed")
    assert [cell.id for cell in changed.cells] == ["load-data"]
    env = _nbrepro("env", "diff", "demo.ipynb", "--format", "json", cwd=demo_copy)
    assert env.returncode == 1, env.stderr
    assert "pyyaml" in env.stdout


def test_demo_provenance_names_no_local_folder():
    text = DEMO.read_text(encoding="utf-8")
    assert "/tmp/" not in text and "/home/" not in text and "/work/" not in text
    prov = json.loads(text)["metadata"]["nbrepro"]
    assert list(prov["inputs"]) == ["data/measurements.csv"]


@pytest.mark.kernel
def test_demo_verify_twice_reports_the_nondeterministic_cell(demo_copy: Path):
    result = _nbrepro("verify", "demo.ipynb", "--runs", "2", "--format", "json", cwd=demo_copy)

    assert result.returncode == 1, result.stderr
    [notebook] = json.loads(result.stdout)["notebooks"]
    status = {cell["id"]: cell["status"] for cell in notebook["cells"]}
    assert status["random-draw"] == "nondeterministic"
    assert status["load-data"] == "mismatch"  # the data changed since the recorded run
    assert status["scale"] == "error"  # `factor` is defined below
    assert notebook["drift"]["drift"] is True


def test_binder_environment_and_post_build_are_valid():
    import yaml

    env = yaml.safe_load((BINDER / "environment.yml").read_text(encoding="utf-8"))
    deps = " ".join(env["dependencies"])
    assert "python=" in deps and "nodejs" in deps and "jupyterlab" in deps
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    lines = post_build.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash" and "set -euxo pipefail" in lines
    assert subprocess.run(["bash", "-n", str(post_build)]).returncode == 0
    checks = [line for line in lines if line.startswith("jupyter ") and "| grep" in line]
    assert len(checks) == 2
    for check in checks:  # both halves report OK here, where nbrepro is installed
        done = subprocess.run(["bash", "-o", "pipefail", "-c", check], capture_output=True)
        assert done.returncode == 0, (check, done.stdout, done.stderr)
