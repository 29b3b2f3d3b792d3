"""End to end: the built frontend plugin loads in JupyterLab and shakes hands with the server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from nbrepro import __version__

from .panel_helpers import (
    code,
    contrast,
    nbrepro_errors,
    open_notebook,
    open_panel,
    run_cell,
    write_notebook,
)

pytestmark = pytest.mark.slow


def test_frontend_plugin_reaches_server_extension_version_endpoint(
    lab_server: Any, browser: Any
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with page.expect_response(lambda r: "/nbrepro/api/version" in r.url, timeout=60_000) as info:
        page.goto(lab_server.lab_url())
    response = info.value
    assert response.status == 200
    assert response.json() == {
        "version": __version__,
        "api": 1,
        "capabilities": {"verify": True, "runs": True},
    }
    page.wait_for_function(
        f"document.body.dataset.nbreproServer === {json.dumps(__version__)}", timeout=30_000
    )
    page.close()
    assert not [e for e in errors if "nbrepro" in e.lower()], errors


def test_version_endpoint_refuses_requests_without_a_token(lab_server: Any) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{lab_server.url}nbrepro/api/version", timeout=10)
    assert exc.value.code == 403
    body = urllib.request.urlopen(
        f"{lab_server.url}nbrepro/api/version?token={lab_server.token}", timeout=10
    ).read()
    assert json.loads(body)["version"] == __version__


def test_panel_says_plainly_when_the_server_extension_is_missing(
    lab_without_server_extension: Any, browser: Any
) -> None:
    lab = lab_without_server_extension
    name = write_notebook(lab.root, "plain.ipynb", [code("x = 1", id="a"), code("x", id="b")])
    errors: list[str] = []
    page = open_notebook(browser, lab, name, errors)
    assert page.evaluate("document.body.dataset.nbreproServer") == "missing"
    panel = open_panel(page)
    notice = panel.locator(".nbrepro-notice")
    notice.wait_for(timeout=10_000)
    text = notice.inner_text()
    assert "server extension is not running" in text
    assert "jupyter server extension enable nbrepro" in text
    assert contrast(notice) >= 4.5
    # Verification needs the server: the button is disabled and says why.
    assert panel.locator(".nbrepro-verify-start").is_disabled()
    assert "Needs the nbrepro server extension" in panel.locator(".nbrepro-verify").inner_text()
    # The live findings still work: run the second cell first.
    run_cell(page, 1, 1)
    run_cell(page, 0, 2)
    panel.locator(".nbrepro-group[data-kind='out-of-order']").wait_for(timeout=10_000)
    page.close()
    assert not nbrepro_errors(errors), errors
