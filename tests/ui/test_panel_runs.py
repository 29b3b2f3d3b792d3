"""End to end: "Run as experiment" starts a versioned run from the panel, and Verify now links to
the executed copy it kept, in a real JupyterLab."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .panel_helpers import code, nbrepro_errors, open_notebook, open_panel, write_notebook

pytestmark = pytest.mark.slow


def test_run_as_experiment_stores_a_run_and_verify_opens_its_executed_copy(
    lab_server: Any, browser: Any
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
