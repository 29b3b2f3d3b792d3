"""End to end: a notebook received from a colleague shows every kind of finding at once (cells
that depend on a changed one included), with a finished verification; the README's screenshots
of the whole JupyterLab window come from here (``NBREPRO_SCREENSHOTS=1`` writes them to
``docs/images``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from nbrepro.hashing import bytes_hash, source_hash
from nbrepro.record.environment import snapshot

from .panel_helpers import (
    CELL,
    code,
    contrast,
    markdown,
    nbrepro_errors,
    open_notebook,
    open_panel,
    run_cell,
    screenshot_dir,
    use_theme,
    widen_right_sidebar,
    write_notebook,
)

pytestmark = pytest.mark.slow

RECORDED_DATA = b"month,region,amount\n2024-01,EU,120\n2024-01,US,80\n2024-02,EU,130\n"
CURRENT_DATA = RECORDED_DATA + b"2024-02,US,95\n"

#: (cell id, source, execution count in the colleague's session, its output)
CELLS: list[tuple[str, str, int | None, str | None]] = [
    ("imports", "import csv\nimport statistics", 1, None),
    ("load",
     'with open("data/sales.csv") as f:\n    rows = list(csv.DictReader(f))\nlen(rows)', 2, "3"),
    ("total", 'total = sum(float(r["amount"]) for r in rows)\ntotal', 3, "330.0"),
    ("per-month", "per_month = total / n_months\nper_month", 4, "165.0"),
    ("months", 'n_months = len({r["month"] for r in rows})', None, None),
    ("growth", "growth = per_month / baseline - 1\nround(growth, 3)", 5, "0.1"),
    ("peek", "rows[:2]", 6, "[{'month': '2024-01', 'region': 'EU', 'amount': '120'}, ...]"),
]  # fmt: skip


def _colleague_notebook(root: Path) -> str:
    """A notebook recorded elsewhere: older Python and numpy, the data file as it was then."""
    here = snapshot()
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "sales.csv").write_bytes(CURRENT_DATA)
    cells: list[dict[str, Any]] = [
        markdown("# Monthly sales\n\nRevenue per month from `data/sales.csv`.")
    ]
    for cell_id, source, count, output in CELLS:
        cell = code(source, id=cell_id)
        if count is not None:
            cell["execution_count"] = count
            cell["outputs"] = [] if output is None else [
                {"output_type": "execute_result", "execution_count": count, "metadata": {},
                 "data": {"text/plain": output}}
            ]  # fmt: skip
        cells.append(cell)
    name = write_notebook(root, "sales.ipynb", cells)
    nb = json.loads((root / name).read_text())
    nb["metadata"]["nbrepro"] = {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "session": {"id": "0b7c5a52-1f0e-4c55-9d7e-2f4f0c8e7a11", "started": "2024-03-01T09:12Z"},
        "environment": {
            # Python 3.9 is older than any Python nbrepro runs on: always drift.
            "python": {"version": "3.9.18", "implementation": "CPython"},
            "platform": here["platform"],
            "kernel": {"name": "python3", "language": "python", "language_version": "3.9.18"},
            "packages": {"numpy": "1.21.0"},
            "packages_scope": "imported",
            "packages_digest": "sha256:" + "0" * 64,
            "env_vars": here["env_vars"],
        },
        "inputs": {
            "data/sales.csv": {
                "hash": bytes_hash(RECORDED_DATA),
                "size": len(RECORDED_DATA),
                "kind": "file",
                "produced": False,
            },
        },
        "cells": {
            cell_id: {
                "execution_count": count,
                "source_hash": source_hash(source),
                "status": "ok",
                "error": None,
                "inputs": ["data/sales.csv"] if cell_id == "load" else [],
                "outputs": [],
            }
            for cell_id, source, count, _ in CELLS
            if count is not None
        },
        "executions": [],
        "deleted_cells": [],
    }
    (root / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return name


def test_every_kind_of_finding_with_a_finished_verification(
    lab_server: Any, browser: Any, tmp_path: Path
) -> None:
    name = _colleague_notebook(lab_server.root)
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    panel = open_panel(page)
    widen_right_sidebar(page, 120)

    # Verify now first, on the file as saved (nothing has run in this kernel yet).
    panel.locator(".nbrepro-verify-start").click()
    result = panel.locator(".nbrepro-verify-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    statuses = panel.locator(".nbrepro-verify-cell").evaluate_all(
        "cells => cells.map(c => c.dataset.status)"
    )
    assert statuses[0] == "reproduced"
    assert "differs" in statuses and "failed" in statuses
    assert result.locator(".nbrepro-open-executed").count() == 1

    # Then explore: load again and peek (out of order), edit the total (edited after it ran).
    run_cell(page, 1, 1)
    run_cell(page, 2, 2)
    run_cell(page, 7, 3)
    total = page.locator(CELL).nth(3)
    total.locator(".cm-line").first.click()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.type(' if r["region"] == "EU"')
    page.keyboard.press("Escape")

    kinds = [
        "use-before-def",
        "hidden-state",
        "out-of-order",
        "stale",
        "never-run",
        "changed-input",
        "dependent",
        "env-drift",
    ]
    for kind in kinds:
        panel.locator(f".nbrepro-group[data-kind='{kind}']").wait_for(timeout=15_000)
    assert (
        panel.locator(".nbrepro-group").evaluate_all("groups => groups.map(g => g.dataset.kind)")
        == kinds
    )
    drift = panel.locator(".nbrepro-group[data-kind='env-drift']").inner_text()
    assert "Python version was 3.9.18" in drift
    assert 'pip install "Python' not in drift
    flagged = page.locator(f"{CELL}.nbrepro-flagged")
    assert flagged.count() == 6
    # Every badge is whole: none is cut off by its cell's input area.
    assert page.locator(f"{CELL} .nbrepro-badge").evaluate_all(
        """badges => badges.every(b => {
            const box = b.getBoundingClientRect();
            const area = b.closest('.jp-InputArea').getBoundingClientRect();
            return box.height > 0 && box.top >= area.top && box.bottom <= area.bottom;
        })"""
    )

    out = screenshot_dir(tmp_path)
    page.mouse.move(0, 0)
    panel.evaluate("node => { node.scrollTop = 0; }")
    page.screenshot(path=str(out / "panel.png"))
    # The cells that depend on the edited one, with the findings around them.
    dependents = panel.locator(".nbrepro-group[data-kind='dependent']")
    # The average per month (cell 5) uses the edited total and the rows of the changed file.
    messages = dependents.locator(".nbrepro-item-message").all_inner_texts()
    assert messages and all(
        re.match(r"Cell \d+ depends on cell \d+, which changed", m) for m in messages
    )
    assert any(m.startswith("Cell 5 depends on cell") for m in messages), messages
    panel.evaluate(
        """node => { node.scrollTop =
            node.querySelector(".nbrepro-group[data-kind='changed-input']").offsetTop - 8; }"""
    )
    page.screenshot(path=str(out / "panel-dependents.png"))

    # Dark theme: the verification with a diff open, and the environment, differences first.
    use_theme(page, "JupyterLab Dark")
    panel.locator(".nbrepro-verify-cell[data-status='differs'] summary").first.click()
    panel.evaluate(
        "node => { node.scrollTop = node.querySelector('.nbrepro-verify').offsetTop - 8; }"
    )
    rows = panel.locator(".nbrepro-env-table tr.nbrepro-differs th")
    assert [r.split("\t")[0] for r in rows.all_inner_texts()] == ["numpy", "Python version"]
    for cell in [rows.first, panel.locator(".nbrepro-notice"), panel.locator(".nbrepro-fix").first]:
        assert contrast(cell) >= 4.5
    page.screenshot(path=str(out / "panel-dark.png"))
    use_theme(page, "JupyterLab Light")
    page.close()
    assert (out / "panel.png").stat().st_size > 0
    assert not nbrepro_errors(errors), errors
