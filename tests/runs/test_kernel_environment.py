"""A run records the environment of its kernel (another Python environment here), and
reproducing it compares with that kernel's environment."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from nbrepro.record.environment import snapshot
from nbrepro.runs.reproduce import reproduce_run
from nbrepro.runs.runner import start_run
from tests.record.kernel_venv import PROBE_CELL, PROBE_DIST, PROBE_VERSION

from .conftest import make_notebook

pytestmark = pytest.mark.kernel


def test_a_run_records_its_kernels_packages_and_reproduces_without_drift(
    venv_kernels, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    nb = make_notebook(tmp_path / "probe.ipynb", ["x = 1", PROBE_CELL], parameters_cell=False)
    in_venv = start_run(nb, kernel=venv_kernels.kernel)
    here = start_run(nb, kernel="python3")

    env = in_venv.manifest["environment"]
    assert env["packages"][PROBE_DIST] == PROBE_VERSION
    assert env["kernel"]["name"] == venv_kernels.kernel
    assert json.loads((in_venv.path / "environment.json").read_text()) == env
    schema = json.loads(
        resources.files("nbrepro.schemas").joinpath("run-manifest.schema.json").read_text()
    )
    jsonschema.validate(in_venv.manifest, schema)
    assert PROBE_DIST not in here.manifest["environment"]["packages"]
    assert here.manifest["environment"]["packages"] == snapshot()["packages"]
    # Same notebook, parameters and inputs: only the kernel's environment tells them apart.
    assert in_venv.manifest["configuration_id"] != here.manifest["configuration_id"]

    again = reproduce_run(in_venv)
    assert again.reproduced, again.render_text()
    assert again.environment_lines == []
