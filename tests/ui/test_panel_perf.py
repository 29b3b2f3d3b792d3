"""The panel's update time after an execution, for a 500-cell notebook (performance marks)."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from .panel_helpers import (
    CELL,
    code,
    nbrepro_errors,
    open_notebook,
    open_panel,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.slow

CELLS = 500
#: The frame budget the issue sets as target; printed, not asserted (a shared 2-core machine).
TARGET_MS = 16.0


def test_panel_update_time_for_a_500_cell_notebook(lab_server: Any, browser: Any) -> None:
    # Counts descending top to bottom: every cell but the first is out of order and marked.
    cells = [code(f"x{i} = {i}", CELLS - i, id=f"c{i}") for i in range(CELLS)]
    name = write_notebook(lab_server.root, "big.ipynb", cells)
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    panel = open_panel(page)
    panel.locator(".nbrepro-group[data-kind='out-of-order']").wait_for(timeout=30_000)
    page.wait_for_function(
        f"document.querySelectorAll({CELL + '.nbrepro-flagged'!r}).length === {CELLS - 1}",
        # JupyterLab renders a long notebook's cells progressively: slow on a loaded machine.
        timeout=120_000,
    )
    page.evaluate("performance.clearMeasures('nbrepro-update')")
    durations: list[float] = []
    for run in range(5):
        run_cell(page, CELLS - 1, run + 1)
        page.wait_for_function(
            "performance.getEntriesByName('nbrepro-update').length > 0", timeout=10_000
        )
        page.wait_for_timeout(400)  # let the debounced update after the reply land
        entries = page.evaluate(
            "performance.getEntriesByName('nbrepro-update').map(e => e.duration)"
        )
        durations.append(max(entries))
        page.evaluate("performance.clearMeasures('nbrepro-update')")
    assert page.locator(f"{CELL}.nbrepro-flagged").count() == CELLS - 1
    median = statistics.median(durations)
    print(
        f"\nnbrepro panel update after an execution, {CELLS} cells: median {median:.1f} ms, "
        f"max {max(durations):.1f} ms over {len(durations)} runs (target <= {TARGET_MS:g} ms)"
    )
    page.close()
    assert not nbrepro_errors(errors), errors
