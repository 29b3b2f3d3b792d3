"""End to end: the panel's headline is the server's verdict, combined with the live findings.

A NameError in Restart & Run All makes it "Not reproducible" (the server journals the kernel
session's executions); a finished verification that did not reproduce changes the headline, and
the verification view shows the cause and evidence the server diagnosed for the failing cell.
"""

from __future__ import annotations

from typing import Any

import pytest

from .panel_helpers import CELL, code, nbrepro_errors, open_notebook, open_panel, write_notebook

pytestmark = pytest.mark.slow


def _restart_and_run_all(page: Any) -> None:
    """Restart Kernel and Run All Cells (the Kernel menu's), from the command palette, confirmed."""
    page.locator(CELL).first.locator(".jp-InputPrompt").click(position={"x": 8, "y": 4})
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("Restart Kernel and Run All Cells")
    page.locator(".lm-CommandPalette-item.lm-mod-active").wait_for(timeout=10_000)
    page.keyboard.press("Enter")
    page.locator(".jp-Dialog .jp-mod-accept.jp-mod-warn").click(timeout=10_000)


def _wait_for_cell_active(page: Any, index: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll({CELL!r})[{index}].classList.contains('jp-mod-active')",
        timeout=10_000,
    )


def test_a_name_error_in_restart_and_run_all_reads_not_reproducible(
    lab_server: Any, browser: Any
) -> None:
    name = write_notebook(
        lab_server.root, "verdict_name_error.ipynb",
        [code("x = 1", id="defines"), code("helper(x)", id="uses"), code("y = 2", id="after")],
    )  # fmt: skip
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)
    verdict = panel.locator(".nbrepro-verdict")
    page.wait_for_function(
        "document.querySelector('#nbrepro-panel .nbrepro-verdict')?.dataset.source === 'server'",
        timeout=15_000,
    )
    # Before the run, the static check's warning: `helper` is defined nowhere.
    assert verdict.get_attribute("data-verdict") == "at-risk"

    _restart_and_run_all(page)
    page.locator(CELL).nth(1).locator(".jp-OutputArea-output", has_text="NameError").wait_for(
        timeout=30_000
    )
    # Not "At risk": the server's journal saw the cell raise.
    panel.locator(".nbrepro-verdict[data-verdict='not-reproducible']").wait_for(timeout=15_000)
    assert verdict.locator(".nbrepro-verdict-label").inner_text() == "Not reproducible"
    assert "raised an error" in verdict.locator(".nbrepro-verdict-summary").inner_text()
    status_item = page.locator(".nbrepro-status")
    assert status_item.inner_text() == "nbrepro: Not reproducible"
    assert status_item.get_attribute("data-verdict") == "not-reproducible"

    # The reason names the cell: a click jumps to it, as a finding does.
    reason = verdict.locator(".nbrepro-reason[data-kind='execution-error']")
    assert "raised an error" in reason.inner_text()
    jump = reason.locator(".nbrepro-jump-small[data-cell-id='uses']")
    assert jump.inner_text() == "Cell 2"
    page.locator(CELL).nth(2).locator(".jp-InputPrompt").click(position={"x": 8, "y": 4})
    jump.click()
    _wait_for_cell_active(page, 1)
    page.close()
    assert not nbrepro_errors(errors), errors


def test_a_verification_that_does_not_reproduce_changes_the_headline_and_shows_the_cause(
    lab_server: Any, browser: Any
) -> None:
    name = write_notebook(
        lab_server.root, "verdict_random.ipynb",
        [code("import random\nvalue = random.random()\nvalue", 1, id="seedless"),
         code("1 + 1", 2, id="plain")],
    )  # fmt: skip
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)
    verdict = panel.locator(".nbrepro-verdict")
    page.wait_for_function(
        "document.querySelector('#nbrepro-panel .nbrepro-verdict')?.dataset.source === 'server'",
        timeout=15_000,
    )
    assert verdict.get_attribute("data-verdict") == "reproducible"
    assert verdict.locator(".nbrepro-verdict-label").inner_text() == "Looks reproducible"

    panel.locator(".nbrepro-verify-start").click()
    result = panel.locator(".nbrepro-verify-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    assert result.get_attribute("data-outcome") == "not-reproduced"

    # The headline follows the finished verification, without a Refresh.
    panel.locator(".nbrepro-verdict[data-verdict='not-reproducible']").wait_for(timeout=15_000)
    assert verdict.locator(".nbrepro-verdict-label").inner_text() == "Not reproducible"
    summary = verdict.locator(".nbrepro-verdict-summary").inner_text()
    assert "latest verification did not reproduce" in summary
    assert page.locator(".nbrepro-status").inner_text() == "nbrepro: Not reproducible"
    reason = verdict.locator(".nbrepro-reason[data-kind='verification']")
    assert reason.locator(".nbrepro-jump-small").get_attribute("data-cell-id") == "seedless"

    # The failing cell: status, what differs, the cause and its evidence, as the server said.
    failing = result.locator(".nbrepro-verify-cell[data-cell-id='seedless']")
    assert failing.get_attribute("data-status") == "differs"
    assert failing.get_attribute("data-cause") == "nondeterminism"
    assert "text/plain differs" in failing.locator(".nbrepro-verify-summary").inner_text()
    cause = failing.locator(".nbrepro-cause-summary").inner_text()
    assert cause.startswith("Cause: nondeterminism")
    assert "random.random()" in cause
    evidence = failing.locator(".nbrepro-evidence li").all_inner_texts()
    assert any("line 2" in line and "random.random()" in line for line in evidence), evidence
    assert "random.random()" in result.locator(".nbrepro-verify-diagnosis").inner_text()
    assert result.locator(".nbrepro-verify-cell[data-cell-id='plain'] .nbrepro-cause").count() == 0

    # Both the reason and the failing cell jump to the cell.
    page.locator(CELL).nth(1).locator(".jp-InputPrompt").click(position={"x": 8, "y": 4})
    failing.locator(".nbrepro-jump-small").click()
    _wait_for_cell_active(page, 0)

    # After a reload, the server's latest verification is shown again, cause included.
    page.close()
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)
    panel.locator(".nbrepro-verdict[data-verdict='not-reproducible']").wait_for(timeout=15_000)
    again = panel.locator(".nbrepro-verify-cell[data-cell-id='seedless'] .nbrepro-cause-summary")
    again.wait_for(timeout=15_000)
    assert "random.random()" in again.inner_text()
    page.close()
    assert not nbrepro_errors(errors), errors
