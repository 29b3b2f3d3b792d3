"""End to end: the built frontend plugin loads in JupyterLab and shakes hands with the server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from nbrepro import __version__

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
