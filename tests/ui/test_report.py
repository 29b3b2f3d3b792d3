"""End to end: the verification report in the main area — per differing cell the stored and new
outputs side by side (a text with its changed words, an image with its changed pixels, HTML
rendered and sanitized), the server's cause, the differing cells marked in the notebook — opened
from the panel and from the command palette, in a real JupyterLab."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from .panel_helpers import (
    CELL,
    code,
    nbrepro_errors,
    open_notebook,
    open_panel,
    screenshot_dir,
    write_notebook,
)

pytestmark = pytest.mark.slow

#: Writes a PNG without third-party packages: a grey square of side ``size`` with a red square of
#: side ``dots`` in the middle (the kernel runs the same code to draw the new image).
PNG_CODE = r"""import struct, zlib
def png(size, dots):
    lo, hi = (size - dots) // 2, (size - dots) // 2 + dots
    red, grey = bytes([220, 30, 30]), bytes([200, 200, 200])
    rows = b"".join(
        b"\x00" + b"".join(red if lo <= x < hi and lo <= y < hi else grey for x in range(size))
        for y in range(size))
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc
    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
"""


def _png(size: int, dots: int) -> str:
    """The same image, drawn here for the stored output (base64)."""
    namespace: dict[str, Any] = {}
    exec(PNG_CODE, namespace)
    return base64.b64encode(namespace["png"](size, dots)).decode()


def _output(count: int, data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "execute_result", "execution_count": count, "metadata": {}, "data": data}


def _drifted_notebook(root: Path) -> str:
    """Saved outputs that a fresh run no longer gives: a score, a picture, an HTML table."""
    image = PNG_CODE + "from IPython.display import Image\nImage(data=png(64, 16))"
    html = (
        "from IPython.display import HTML\n"
        "HTML('<b>total</b> 5<script>window.nbreproPwned = 1</script>')"
    )
    cells = [
        code("accuracy = 0.87\nprint(f'accuracy {accuracy} on test')", id="score"),
        code(image, id="plot"),
        code(html, id="table"),
        code("1 + 1", id="same"),
    ]
    cells[0]["execution_count"] = 1
    cells[0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "accuracy 0.91 on test\n"}
    ]
    cells[1]["execution_count"] = 2
    cells[1]["outputs"] = [_output(2, {"image/png": _png(64, 12), "text/plain": "<Image>"})]
    cells[2]["execution_count"] = 3
    cells[2]["outputs"] = [_output(3, {"text/html": "<b>total</b> 4", "text/plain": "<HTML>"})]
    cells[3]["execution_count"] = 4
    cells[3]["outputs"] = [_output(4, {"text/plain": "2"})]
    return write_notebook(root, "drifted.ipynb", cells)


def test_the_report_shows_stored_and_new_outputs_side_by_side(
    lab_server: Any, browser: Any, tmp_path: Path
) -> None:
    name = _drifted_notebook(lab_server.root)
    errors: list[str] = []
    page = open_notebook(browser, lab_server, name, errors)
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
    panel = open_panel(page)
    panel.locator(".nbrepro-verify-start").click()
    result = panel.locator(".nbrepro-verify-result[data-state='finished']")
    result.wait_for(timeout=120_000)
    differing = panel.locator(".nbrepro-verify-cell[data-status='differs']")
    assert differing.evaluate_all("cells => cells.map(c => c.dataset.cellId)") == [
        "score",
        "plot",
        "table",
    ]
    result.locator(".nbrepro-open-report").click()

    report = page.locator(".nbrepro-report")
    report.wait_for(timeout=30_000)
    tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text="Verification: drifted.ipynb")
    assert tab.count() == 1
    cells = report.locator(".nbrepro-report-cell")
    assert cells.evaluate_all("cells => cells.map(c => c.dataset.cellId)") == [
        "score",
        "plot",
        "table",
    ]

    # The text: the changed word struck out on the left, inserted on the right.
    score = report.locator(".nbrepro-report-cell[data-cell-id='score']")
    assert score.locator("[data-side='stored'] del").all_inner_texts() == ["0.91"]
    assert score.locator("[data-side='new'] ins").all_inner_texts() == ["0.87"]
    assert "accuracy 0.87 on test" in score.locator("[data-side='new']").inner_text()

    # The image: both sides, and the changed pixels (a 16 by 16 square where one was 12 by 12).
    plot = report.locator(".nbrepro-report-cell[data-cell-id='plot']")
    assert plot.locator(".nbrepro-report-side img").count() == 2
    mask = plot.locator("canvas.nbrepro-report-mask")
    mask.wait_for(timeout=10_000)
    assert mask.get_attribute("data-changed") == str(16 * 16 - 12 * 12)
    assert "Changed pixels: 112 of 4096" in plot.locator("figcaption").inner_text()

    # HTML: rendered through rendermime, untrusted, so sanitized (no script ran or remains).
    table = report.locator(".nbrepro-report-cell[data-cell-id='table']")
    assert table.locator("[data-side='stored'] b").inner_text() == "total"
    assert "total 5" in table.locator("[data-side='new']").inner_text()
    assert report.locator("script").count() == 0
    assert page.evaluate("window.nbreproPwned") is None

    # The server's diagnosis of each cell is shown as the panel shows it.
    for cell_id in ("score", "plot", "table"):
        in_panel = panel.locator(f".nbrepro-verify-cell[data-cell-id='{cell_id}'] .nbrepro-cause")
        in_report = report.locator(f".nbrepro-report-cell[data-cell-id='{cell_id}'] .nbrepro-cause")
        assert in_report.count() == in_panel.count()
        if in_panel.count():
            assert in_report.inner_text() == in_panel.inner_text()

    # The differing cells are marked in the notebook; "Go to cell" shows one.
    marked = page.locator(f"{CELL}.nbrepro-report-differs")
    assert marked.count() == 3
    screenshots = screenshot_dir(tmp_path)
    page.locator(".jp-SideBar.jp-mod-right .lm-TabBar-tab.lm-mod-current").click()
    plot.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshots / "report.png"))
    table.locator(".nbrepro-report-jump").click()
    page.locator(f"{CELL}.jp-mod-active.nbrepro-report-differs").wait_for(timeout=10_000)
    assert page.locator(CELL).nth(2).evaluate("n => n.classList.contains('jp-mod-active')")

    # Closing the report removes the marks; the palette's command opens it again.
    page.locator(".lm-TabBar-tab", has_text="Verification: drifted.ipynb").locator(
        ".lm-TabBar-tabCloseIcon"
    ).click()
    report.wait_for(state="detached", timeout=10_000)
    assert marked.count() == 0
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type("Open Verification Report")
    page.keyboard.press("Enter")
    report.locator(".nbrepro-report-cell").first.wait_for(timeout=30_000)
    assert marked.count() == 3
    page.close()
    assert not nbrepro_errors(errors), errors
