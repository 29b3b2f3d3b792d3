"""``nbrepro env export``: the recorded environment as pinned requirements or a conda file."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from nbrepro.cli import main
from nbrepro.notebook_io import read_notebook, write_notebook

from ..kernel_session import new_notebook


def _notebook_with_environment(path: Path) -> Path:
    nb = new_notebook(["import yaml"])
    nb["metadata"]["nbrepro"] = {
        "schema_version": 1,
        "environment": {
            "python": {"version": "3.11.7", "implementation": "CPython"},
            "platform": {"system": "Linux", "machine": "x86_64"},
            "packages": {"pyyaml": "6.0.2", "numpy": "1.26.4"},
        },
    }
    write_notebook(nb, path)
    return path


def test_env_export_pins_the_recorded_packages(tmp_path: Path, capsys) -> None:
    nb = _notebook_with_environment(tmp_path / "nb.ipynb")
    before = nb.read_bytes()
    assert main(["env", "export", str(nb)]) == 0
    out = capsys.readouterr().out
    assert "numpy==1.26.4" in out.splitlines()
    assert "pyyaml==6.0.2" in out.splitlines()
    assert nb.read_bytes() == before


def test_env_export_writes_a_conda_file_atomically(tmp_path: Path) -> None:
    nb = _notebook_with_environment(tmp_path / "nb.ipynb")
    target = tmp_path / "environment.yml"
    assert main(["env", "export", str(nb), "--format", "conda", "-o", str(target)]) == 0
    text = target.read_text()
    assert "python=3.11" in text
    assert "numpy==1.26.4" in text or "numpy=1.26.4" in text
    assert not list(tmp_path.glob(".environment.yml.*"))


def test_env_export_without_provenance_is_a_one_line_input_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "plain.ipynb"
    write_notebook(new_notebook(["x = 1"]), path)
    assert main(["env", "export", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"nbrepro: error: {path}: no recorded environment (metadata.nbrepro)"
    assert read_notebook(path)["metadata"].get("nbrepro") is None


@pytest.mark.parametrize("fmt", ["requirements", "conda"])
def test_env_export_of_the_current_environment_names_this_python(fmt: str, capsys) -> None:
    assert main(["env", "export", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert f"python {platform.python_version()}" in out
    assert "pyyaml==" in out.lower()
