"""verify's pre-check compares the recorded environment with the environment of the kernel that
verification runs, not with the interpreter running nbrepro."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.record.kernel_venv import PROBE_CELL, PROBE_DIST, PROBE_VERSION, record_notebook

from nbrepro.cli import main
from nbrepro.record.environment import snapshot

pytestmark = pytest.mark.kernel


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)["notebooks"][0]


def test_a_notebook_recorded_in_a_venv_kernel_has_no_drift_in_that_kernel(
    venv_kernels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PROBE_DIST not in snapshot()["packages"]  # nbrepro's own interpreter lacks it
    nb = record_notebook(venv_kernels.kernel, [PROBE_CELL, "1 + 1"], tmp_path / "venv.ipynb")

    code, report = _verify(capsys, str(nb))  # the notebook's kernelspec: nbr-venv
    assert code == 0, report
    assert report["kernel"] == venv_kernels.kernel
    assert report["drift"]["environment"]["drift"] is False
    assert report["drift"]["environment_unavailable"] is None
    assert not any("environment" in w for w in report["warnings"])

    code, report = _verify(capsys, str(nb), "--kernel", venv_kernels.kernel)
    assert code == 0 and report["drift"]["environment"]["drift"] is False


def test_verifying_in_another_kernel_reports_that_kernels_difference(
    venv_kernels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = record_notebook(venv_kernels.kernel, [PROBE_CELL], tmp_path / "venv.ipynb")
    code, report = _verify(capsys, str(nb), "--kernel", "python3")
    assert code == 1  # the probe's output differs there
    env = report["drift"]["environment"]
    assert env["drift"] is True
    assert env["packages"]["removed"] == {PROBE_DIST: PROBE_VERSION}
    assert f"environment: package removed: {PROBE_DIST} {PROBE_VERSION}" in report["warnings"]


def test_a_kernel_without_a_python_environment_is_not_compared(
    venv_kernels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kernel's interpreter is gone: "not compared" with the reason, never "no drift"."""
    nb = record_notebook(venv_kernels.kernel, ["1 + 1"], tmp_path / "venv.ipynb")
    spec_dir = tmp_path / "data" / "kernels" / "broken"
    spec_dir.mkdir(parents=True)
    spec = json.loads((venv_kernels.kernelspec_dir / "kernel.json").read_text())
    spec["argv"][0] = str(tmp_path / "gone" / "bin" / "python")
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    from nbrepro.record.drift import check_drift

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", f"{tmp_path / 'data'}")
        report = check_drift(json.loads(nb.read_text()), nb.parent, kernel="broken")
    assert report.environment is None
    assert str(report.environment_unavailable).startswith("kernel 'broken': its interpreter")
    assert any(line.startswith("environment not compared: kernel 'broken'") for line in
               report.summary_lines())  # fmt: skip
