"""End to end: "Run as experiment" starts a versioned run from the panel; the runs table lists
the notebook's runs with their parameters and metrics, compares two, re-runs one with the same
parameters and opens a run's executed notebook; Verify now links to the executed copy it kept,
in a real JupyterLab; a run exported to a real MLflow server links to its MLflow page."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runs.conftest import MlflowServer

from .panel_helpers import (
    code,
    nbrepro_errors,
    open_notebook,
    open_panel,
    screenshot_dir,
    widen_right_sidebar,
    write_notebook,
)

pytestmark = pytest.mark.slow


# The MLflow server of the last test starts here, and boots while this test runs.
@pytest.mark.usefixtures("mlflow_server")
def test_run_as_experiment_stores_a_run_and_verify_opens_its_executed_copy(
    lab_server: Any, browser: Any, tmp_path: Path
) -> None:
    name = write_notebook(
        lab_server.root,
        "experiment.ipynb",
        [
            code("alpha = 2  # the learning rate", id="params", metadata={"tags": ["parameters"]}),
            code("from nbrepro import log_metric\nlog_metric('score', alpha * 10)", id="score"),
        ],
    )
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)

    # The server advertises runs: the form shows the typed parameter with its help.
    field = panel.locator("#nbrepro-param-alpha")
    field.wait_for(timeout=15_000)
    assert field.get_attribute("type") == "number"
    assert "the learning rate" in panel.locator(".nbrepro-experiment").inner_text()
    field.fill("5")
    panel.locator("#nbrepro-run-name").fill("from the panel")
    panel.locator(".nbrepro-run-start").click()

    result = panel.locator(".nbrepro-run-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    assert result.get_attribute("data-verdict") == "succeeded"
    run_id = result.get_attribute("data-run-id")
    assert run_id and run_id in result.inner_text()
    metrics = result.locator(".nbrepro-run-metrics")
    assert metrics.locator("dt").all_inner_texts() == ["score"]
    assert metrics.locator("dd").all_inner_texts() == ["50"]
    # The bundle is in the run store under the root; its folder is hidden from JupyterLab.
    bundle = lab_server.root / ".nbrepro" / "runs" / run_id
    manifest = json.loads((bundle / "run.json").read_text())
    assert manifest["parameters"] == {"alpha": 5}
    assert manifest["name"] == "from the panel"
    assert (bundle / "notebook.ipynb").is_file()
    assert f".nbrepro/runs/{run_id}" in result.locator(".nbrepro-run-bundle").inner_text()

    # The runs table lists it with its parameter and metric.
    table = panel.locator(".nbrepro-runs-table")
    first = table.locator(f"tr[data-run-id='{run_id}']")
    first.wait_for(timeout=15_000)
    assert first.locator(".nbrepro-runs-name").inner_text() == "from the panel"
    assert first.locator(".nbrepro-runs-param").all_inner_texts() == ["5"]
    assert first.locator(".nbrepro-runs-metric").all_inner_texts() == ["50"]

    # A second run with another alpha; the two compared show what changed.
    field.fill("7")
    panel.locator("#nbrepro-run-name").fill("tuned")
    panel.locator(".nbrepro-run-start").click()
    table.locator("tr.nbrepro-runs-row").nth(1).wait_for(timeout=120_000)
    rows = table.locator("tr.nbrepro-runs-row")
    assert rows.locator(".nbrepro-runs-name").all_inner_texts() == ["tuned", "from the panel"]
    second = rows.first.get_attribute("data-run-id")
    compare = panel.locator(".nbrepro-runs-compare")
    assert compare.is_disabled()
    for row in range(2):
        rows.nth(row).locator(".nbrepro-runs-select").check()
    compare.click()
    diff = panel.locator(f".nbrepro-runs-diff[data-a='{run_id}'][data-b='{second}']")
    diff.wait_for(timeout=15_000)
    assert diff.locator("li[data-name='alpha']").inner_text() == "alpha 5 → 7"
    assert diff.locator("li[data-name='score']").inner_text() == "score 50 → 70"
    assert "Different configurations." in diff.inner_text()
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    widen_right_sidebar(page, 260)
    panel.evaluate(
        "node => { node.scrollTop = node.querySelector('.nbrepro-runs').offsetTop - 8; }"
    )
    page.screenshot(path=str(screenshot_dir(tmp_path) / "runs.png"))

    # Re-run the first with its parameters (not the form's): a third run with alpha 5.
    rows.nth(1).locator(".nbrepro-runs-rerun").click()
    rows.nth(2).wait_for(timeout=120_000)
    third = rows.first.get_attribute("data-run-id")
    assert third not in (run_id, second)
    assert rows.first.locator(".nbrepro-runs-param").all_inner_texts() == ["5"]
    rerun = json.loads(
        (lab_server.root / ".nbrepro" / "runs" / str(third) / "run.json").read_text()
    )
    assert rerun["parameters"] == {"alpha": 5}

    # A run's executed notebook opens read-only, labelled as a copy.
    rows.nth(1).locator(".nbrepro-runs-open").click()
    copy = page.locator(".nbrepro-run-notebook")
    copy.wait_for(timeout=30_000)
    assert "alpha = 7" in copy.inner_text()
    tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text="copy")
    assert "experiment.ipynb (run" in tab.inner_text()

    # Verify now keeps the executed copy; its link opens it.
    panel.locator(".nbrepro-verify-start").click()
    verified = panel.locator(".nbrepro-verify-result[data-state='finished']")
    verified.wait_for(timeout=120_000)
    link = verified.locator(".nbrepro-open-executed")
    copy_path = link.get_attribute("data-path") or ""
    assert copy_path.startswith("nbrepro-verified/") and copy_path.endswith("/experiment.ipynb")
    assert (lab_server.root / copy_path).is_file()
    link.click()
    page.locator(f".lm-TabBar-tab[title*={json.dumps('Path: ' + copy_path)}]").wait_for(
        timeout=30_000
    )
    page.close()
    assert not nbrepro_errors(errors), errors


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real MLflow tracking server (SQLite store), started while the first test runs."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        yield server
    finally:
        server.stop()


def test_a_run_exported_to_mlflow_links_to_its_mlflow_page(
    lab_server: Any, browser: Any, mlflow_server: MlflowServer
) -> None:
    uri = mlflow_server.wait()
    project = lab_server.root / "tracked"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.nbrepro]\nmlflow_tracking_uri = "{uri}"\n')
    name = write_notebook(
        project,
        "tracked.ipynb",
        [code("alpha = 3", id="params", metadata={"tags": ["parameters"]})],
    )
    errors: list[str] = []
    page = open_notebook(browser, lab_server, f"tracked/{name}", errors)
    panel = open_panel(page)
    panel.locator("#nbrepro-param-alpha").wait_for(timeout=15_000)
    panel.locator(".nbrepro-run-start").click()
    result = panel.locator(".nbrepro-run-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    run_id = result.get_attribute("data-run-id")
    link = panel.locator(f"tr[data-run-id='{run_id}'] a.nbrepro-runs-mlflow")
    link.wait_for(timeout=15_000)
    exported = json.loads((project / ".nbrepro" / "runs" / str(run_id) / "mlflow.json").read_text())
    href = link.get_attribute("href")
    assert href == (f"{uri}/#/experiments/{exported['experiment_id']}/runs/{exported['run_id']}")
    assert link.get_attribute("rel") == "noopener noreferrer"
    # The MLflow server knows the run the link names, with its parameter.
    query = urllib.parse.urlencode({"run_id": exported["run_id"]})
    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/runs/get?{query}", timeout=10) as resp:
        params = json.loads(resp.read())["run"]["data"]["params"]
    assert {"key": "alpha", "value": "3"} in params
    page.close()
    assert not nbrepro_errors(errors), errors
