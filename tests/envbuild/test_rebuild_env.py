"""``verify --rebuild-env``: verification in a rebuilt copy of the recorded environment, with
real uv environments and real kernels (see ``conftest.py`` for the package whose output
changed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbrepro.cli import main
from nbrepro.envbuild.build import EXIT_NOT_REBUILT
from nbrepro.notebook_io import read_notebook, write_notebook

from .conftest import NEW, OLD, DriftSetup

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["notebooks"][0]


def _copy(drift: DriftSetup, tmp_path: Path, **environment: Any) -> Path:
    """The recorded notebook, its recorded environment changed by ``environment``."""
    target = tmp_path / "w.ipynb"
    shutil.copy(drift.recorded, target)
    if environment:
        nb = read_notebook(target)
        recorded = nb["metadata"]["nbrepro"]["environment"]
        for key, value in environment.items():
            recorded[key] = {**recorded[key], **value}
        write_notebook(nb, target)
    return target


def test_drift_suspected_in_current_env_is_proven_in_the_rebuilt_one(
    drift: DriftSetup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _copy(drift, tmp_path)
    recorded = read_notebook(nb)["metadata"]["nbrepro"]["environment"]
    assert recorded["packages"]["wcwidth"] == OLD

    code, plain = _verify(capsys, str(nb))
    assert code == 1
    cell = plain["cells"][0]
    assert cell["status"] == "mismatch"
    assert cell["cause"] == "environment-changed"  # suspected: the package changed
    assert "wcwidth" in cell["cause_summary"]

    code, rebuilt = _verify(capsys, "--rebuild-env=require", str(nb))
    assert code == 0, rebuilt
    assert rebuilt["status"] == "reproduced"
    section = rebuilt["drift"]["rebuilt_environment"]
    assert section["lock"]["packages"] == {"wcwidth": OLD}
    assert section["proof"]["drift"] == "proven"
    assert section["proof"]["proven_cells"] == [0]
    assert section["proof"]["packages"] == [f"wcwidth {OLD} -> {NEW}"]
    assert section["current_status"] == "not-reproduced"
    assert rebuilt["drift"]["environment"]["drift"] is False  # the rebuilt copy has no drift
    proven = [w for w in rebuilt["warnings"] if w.startswith("environment drift proven")]
    assert proven and f"wcwidth {OLD} -> {NEW}" in proven[0]

    code, again = _verify(capsys, "--rebuild-env=require", str(nb))
    assert code == 0
    assert again["drift"]["rebuilt_environment"]["cached"] is True
    assert again["drift"]["rebuilt_environment"]["path"] == section["path"]


def test_a_cell_that_differs_in_both_environments_is_not_blamed_on_the_environment(
    drift: DriftSetup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _copy(drift, tmp_path)
    edited = read_notebook(nb)
    edited["cells"][0]["outputs"][0]["text"] = ["3\n"]  # neither wcwidth prints 3
    write_notebook(edited, nb)

    code, report = _verify(capsys, "--rebuild-env=require", str(nb))
    assert code == 1
    proof = report["drift"]["rebuilt_environment"]["proof"]
    assert proof["drift"] == "not-environment" and proof["differs_in_both"] == [0]
    cell = report["cells"][0]
    assert cell["cause"] != "environment-changed"
    assert "environment-changed" not in [c["id"] for c in cell["causes"]]
    assert any("not blamed on the environment" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        (
            {"packages": {"wcwidth": "99.0.0"}},
            "not available from the package index: wcwidth==99.0.0",
        ),
        ({"python": {"version": "3.99.1"}}, "Python 3.99.1 (CPython) is not available"),
    ],
    ids=["pin", "python"],
)
def test_an_environment_that_cannot_be_rebuilt_is_one_line_and_a_distinct_exit(
    drift: DriftSetup,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, Any],
    named: str,
) -> None:
    nb = _copy(drift, tmp_path, **environment)
    code = main(["verify", "--rebuild-env=require", str(nb)])
    err = capsys.readouterr().err
    assert code == EXIT_NOT_REBUILT
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"nbrepro: error: {nb}: environment could not be rebuilt: {named}")
    assert err.count("could not be rebuilt") == 1


def test_prefer_falls_back_to_the_current_environment_and_says_so(
    drift: DriftSetup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = _copy(drift, tmp_path, python={"version": "3.99.1"})
    code, report = _verify(capsys, "--rebuild-env=prefer", str(nb))
    assert code == 1  # verified in the current environment, where wcwidth is newer
    assert report["kernel"] == "nbr-wcwidth"
    assert "rebuilt_environment" not in report["drift"]
    fallback = [w for w in report["warnings"] if "could not be rebuilt" in w]
    assert fallback == [
        "environment could not be rebuilt: Python 3.99.1 (CPython) is not available on this "
        "machine; verified in the current environment instead (--rebuild-env prefer)"
    ]
