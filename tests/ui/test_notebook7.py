"""The browser tier's core smoke against Notebook 7 (``jupyter notebook``): the same frontend
extension opens its panel from the command palette, shows the notebook's findings and runs
Verify now, in Debian's Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .panel_helpers import code, nbrepro_errors, write_notebook

pytestmark = pytest.mark.slow

#: The notebook's cells in Notebook 7's single-document page.
NB7_CELL = ".jp-NotebookPanel .jp-Notebook .jp-Cell"


def test_panel_findings_and_verify_now_in_notebook_7(notebook7_server: Any, browser: Any) -> None:
    server = notebook7_server
    name = write_notebook(
        server.root,
        "nb7.ipynb",
        [
            code("x = 1", 2, id="first"),
            code("y = x + 1", 1, id="second"),
            code("z = y * 2", id="never"),
        ],
    )
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}notebooks/{name}?token={server.token}")
    page.wait_for_selector(NB7_CELL, timeout=60_000)
    page.wait_for_function("document.body.dataset.nbreproServer !== undefined", timeout=30_000)
    assert page.evaluate("document.body.dataset.nbreproServer") != "missing"

    # Notebook 7 has no sidebar tab bar shown by default: the palette's command opens the panel.
    page.locator(NB7_CELL).first.locator(".jp-InputPrompt").click(position={"x": 8, "y": 4})
    page.keyboard.press("Escape")
    palette = page.locator(".lm-CommandPalette-input:visible")
    for _ in range(5):  # the shortcut works once the shell has registered it
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    palette.fill("Show Reproducibility Panel")
    page.keyboard.press("Enter")
    panel = page.locator("#nbrepro-panel")
    panel.wait_for(state="visible", timeout=15_000)

    for kind in ("out-of-order", "never-run"):
        panel.locator(f".nbrepro-group[data-kind='{kind}']").wait_for(timeout=15_000)
    assert page.locator(f"{NB7_CELL}.nbrepro-flagged").count() >= 2

    panel.locator(".nbrepro-verify-start").click()
    result = panel.locator(".nbrepro-verify-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    statuses = panel.locator(".nbrepro-verify-cell").evaluate_all(
        "cells => cells.map(c => c.dataset.status)"
    )
    assert len(statuses) == 3, statuses
    page.close()
    assert not nbrepro_errors(errors), errors
