"""End to end: the side panel and cell markers follow executions and edits in a real JupyterLab."""

from __future__ import annotations

from typing import Any

import pytest

from .panel_helpers import (
    CELL,
    code,
    markdown,
    nbrepro_errors,
    open_notebook,
    open_panel,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.slow


def test_panel_flags_out_of_order_and_stale_cells_and_jumps_to_them(
    lab_server: Any, browser: Any
) -> None:
    cells = [
        code("a = 1", id="first"),
        code("b = a + 1", id="second"),
        code("c = a + b", id="third"),
    ]
    cells += [markdown(f"filler {i}\n\n" + "text\n\n" * 4) for i in range(25)]
    name = write_notebook(lab_server.root, "order.ipynb", cells)
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)

    run_cell(page, 1, 1)  # NameError: a is not defined yet; still counts as [1]
    run_cell(page, 0, 2)
    out_of_order = panel.locator(".nbrepro-group[data-kind='out-of-order'] .nbrepro-jump")
    out_of_order.first.wait_for(timeout=10_000)
    assert out_of_order.count() == 1
    assert out_of_order.first.get_attribute("data-cell-id") == "second"
    # Cell 2 raised a NameError in this kernel session (the server's journal): not reproducible.
    panel.locator(".nbrepro-verdict[data-verdict='not-reproducible']").wait_for(timeout=10_000)
    marked = page.locator(CELL).nth(1)
    assert "nbrepro-flagged" in (marked.get_attribute("class") or "")
    badge = marked.locator(".nbrepro-badge")
    assert "[1]" in (badge.get_attribute("title") or "")
    # Flagged: cell 2 (out of order) and cell 3, which never ran (a run from the top runs it).
    assert page.locator(f"{CELL}.nbrepro-flagged").count() == 2
    assert page.locator(CELL).nth(2).get_attribute("data-nbrepro-kinds") == "never-run"
    status_item = page.locator(".nbrepro-status")
    assert "Not reproducible" in status_item.inner_text()

    # Edit the first cell after it ran: it is marked stale, live, without a save.
    page.locator(CELL).nth(0).locator(".cm-content").click()
    page.keyboard.press("End")
    page.keyboard.type("  # edited")
    page.keyboard.press("Escape")
    stale = panel.locator(".nbrepro-group[data-kind='stale'] .nbrepro-jump")
    stale.first.wait_for(timeout=10_000)
    assert stale.first.get_attribute("data-cell-id") == "first"
    page.locator(CELL).nth(0).locator(".nbrepro-badge").wait_for(timeout=5_000)

    # Scroll away, then jump back to the out-of-order cell from the panel.
    page.locator(CELL).last.scroll_into_view_if_needed()
    page.wait_for_function(
        "(() => { const c = document.querySelectorAll(arguments[0])[1];"
        " return c.getBoundingClientRect().bottom < 0; })".replace("arguments[0]", repr(CELL)),
        timeout=10_000,
    )
    # From the keyboard: a finding is a button; Enter on it jumps.
    out_of_order.first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"""(() => {{
            const cell = document.querySelectorAll({CELL!r})[1];
            const box = cell.getBoundingClientRect();
            return cell.classList.contains('jp-mod-active') && box.top >= 0
                && box.bottom <= window.innerHeight;
        }})()""",
        timeout=10_000,
    )
    # The jump leaves the notebook in command mode: the next keys are commands (K: cell above),
    # not text typed into the cell.
    source = page.locator(CELL).nth(1).locator(".cm-content").inner_text()
    page.keyboard.press("k")
    page.wait_for_function(
        f"document.querySelectorAll({CELL!r})[0].classList.contains('jp-mod-active')",
        timeout=5_000,
    )
    assert page.locator(CELL).nth(1).locator(".cm-content").inner_text() == source

    # Re-running the edited cell and then the cells below in order clears the findings.
    run_cell(page, 0, 3)
    run_cell(page, 1, 4)
    run_cell(page, 2, 5)
    page.locator(".nbrepro-group[data-kind='out-of-order']").wait_for(
        state="detached", timeout=10_000
    )
    page.locator(f"{CELL} .nbrepro-badge").first.wait_for(state="detached", timeout=10_000)
    assert page.locator(f"{CELL} .nbrepro-badge").count() == 0

    page.close()
    assert not nbrepro_errors(errors), errors


def test_verify_now_shows_the_per_cell_result(lab_server: Any, browser: Any) -> None:
    name = write_notebook(
        lab_server.root, "verify.ipynb",
        [code("1 + 1", id="same"), code("import random\nrandom.random() + 5", id="random")],
    )  # fmt: skip
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)
    run_cell(page, 0, 1)
    run_cell(page, 1, 2)
    panel.locator(".nbrepro-verify-start").click()
    result = panel.locator(".nbrepro-verify-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    cells = panel.locator(".nbrepro-verify-cell")
    assert cells.nth(0).get_attribute("data-status") == "reproduced"
    assert cells.nth(1).get_attribute("data-status") in ("differs", "nondeterministic")
    cells.nth(1).locator("summary").click()
    assert cells.nth(1).locator("pre").inner_text().strip()
    assert result.get_attribute("data-outcome") == "not-reproduced"
    page.close()
    assert not nbrepro_errors(errors), errors
