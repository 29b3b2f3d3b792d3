"""Helpers for the side-panel UI tests: notebooks written to the lab root, a page on them."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

#: Selector of the n-th cell (0-based) of the visible notebook.
CELL = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
#: Where the documentation's screenshots live.
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def screenshot_dir(tmp_path: Path) -> Path:
    """``docs/images`` when ``NBREPRO_SCREENSHOTS=1`` (to refresh the docs), else ``tmp_path``:
    a test run leaves the checkout as it was."""
    if os.environ.get("NBREPRO_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        return DOCS_IMAGES
    return tmp_path


def write_notebook(root: Path, name: str, cells: list[dict[str, Any]]) -> str:
    """Write a python3 notebook of ``cells`` (nbformat 4.5, with ids) under ``root``."""
    nb = {
        "cells": [{"id": c.get("id", uuid.uuid4().hex[:8]), "metadata": {}, **c} for c in cells],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / name).write_text(json.dumps(nb), encoding="utf-8")
    return name


def code(source: str, count: int | None = None, **extra: Any) -> dict[str, Any]:
    """A code cell; with ``count``, it carries that execution count and one output."""
    outputs = (
        [{"output_type": "execute_result", "execution_count": count, "metadata": {},
          "data": {"text/plain": str(count)}}]
        if count is not None else []
    )  # fmt: skip
    return {"cell_type": "code", "source": source, "execution_count": count, "outputs": outputs,
            **extra}  # fmt: skip


def markdown(source: str) -> dict[str, Any]:
    """A markdown cell."""
    return {"cell_type": "markdown", "source": source}


def open_notebook(browser: Any, lab_server: Any, name: str, errors: list[str]) -> Any:
    """A new page with JupyterLab showing notebook ``name`` (fresh workspace), kernel idle."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab_server.url}lab/tree/{name}?reset&token={lab_server.token}")
    page.wait_for_selector(f"{CELL}", timeout=60_000)
    # The debugger button is enabled once the kernel is connected and has answered its info
    # request; before that a run would ask which kernel to start.
    page.wait_for_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-DebuggerBugButton:not(.disabled)",
        timeout=60_000,
    )
    page.wait_for_function("document.body.dataset.nbreproServer !== undefined", timeout=30_000)
    # JupyterLab's one-time "news" question would cover the panel in screenshots.
    news = page.locator(".jp-toast-button", has_text="No")
    if news.count() > 0:
        news.first.click()
    return page


def open_panel(page: Any) -> Any:
    """Open the nbrepro side panel; returns its locator."""
    page.click(".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='nbrepro-panel']")
    panel = page.locator("#nbrepro-panel")
    panel.wait_for(state="visible", timeout=10_000)
    return panel


def run_cell(page: Any, index: int, expected_count: int) -> None:
    """Select cell ``index`` in command mode, run it with Shift+Enter, wait for its prompt."""
    cell = page.locator(CELL).nth(index)
    # Near the prompt's top: a marker badge sits below the execution count.
    cell.locator(".jp-InputPrompt").click(position={"x": 8, "y": 4})
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+Enter")
    cell.locator(".jp-InputPrompt", has_text=f"[{expected_count}]").wait_for(timeout=30_000)


def nbrepro_errors(errors: list[str]) -> list[str]:
    """Console errors that concern nbrepro."""
    return [e for e in errors if "nbrepro" in e.lower()]


def use_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme from the command palette and wait until it applies."""
    page.keyboard.press("Control+Shift+C")
    page.keyboard.type(f"Use Theme: {theme}")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.body.dataset.jpThemeName === {theme!r}", timeout=15_000)
    page.wait_for_timeout(300)  # let the theme's stylesheet apply before a screenshot


_CONTRAST_JS = """node => {
    const parse = text => (text.match(/[\\d.]+/g) || []).map(Number);
    const rgba = text => { const [r, g, b, a] = parse(text); return [r, g, b, a ?? 1]; };
    let back = null;
    for (let el = node; el && !back; el = el.parentElement) {
        const bg = rgba(getComputedStyle(el).backgroundColor);
        if (bg[3] > 0) { back = bg; }
    }
    back = back || [255, 255, 255, 1];
    const fg = rgba(getComputedStyle(node).color);
    const mixed = fg.slice(0, 3).map((c, i) => c * fg[3] + back[i] * (1 - fg[3]));
    const lum = ([r, g, b]) => [r, g, b].map(c => {
        c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    const [hi, lo] = [lum(mixed), lum(back)].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
}"""


def contrast(locator: Any) -> float:
    """WCAG contrast ratio of an element's text against the first opaque background behind it."""
    return float(locator.evaluate(_CONTRAST_JS))


def widen_right_sidebar(page: Any, pixels: int) -> None:
    """Drag the handle between the main area and the right sidebar ``pixels`` to the left."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)").last
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - pixels, y, steps=5)
    page.mouse.up()
