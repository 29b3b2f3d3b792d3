"""Fixtures of the hostile server tests: a real jupyter server with nbrepro (as in
tests/server/conftest.py), its log, and one call that checks what every hostile answer must be.

Every answer to a hostile request must have the expected status and a one-line JSON
``{"message": ...}``; the server's log must hold no traceback, no "Uncaught exception" and no
token (:func:`assert_clean_log`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (the jp_* fixtures and their hooks)

API = "nbrepro/api"


class JournalFault:
    """The journal of a test's server, put in a fault before the server starts."""

    def __init__(self, db: Path, name: str | None, stack: contextlib.ExitStack) -> None:
        self.db, self.name, self.stack = db, name, stack

    def clear(self) -> None:
        """End the fault (release the lock, free the disk)."""
        self.stack.close()
        for filler in self.db.parent.glob("filler*.bin"):
            filler.unlink()


@pytest.fixture
def journal_fault(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[JournalFault]:
    """The test's journal; ``indirect`` parametrization names a fault of
    :data:`tests.hostile.server_faults.FAULTS` to put it in."""
    from tests.hostile.server_faults import prepare_fault

    db = tmp_path / "journal" / "journal.sqlite3"
    name = getattr(request, "param", None)
    with contextlib.ExitStack() as stack:
        if name:
            prepare_fault(name, db, stack)
        else:
            db.parent.mkdir(parents=True, exist_ok=True)
        yield JournalFault(db, name, stack)


@pytest.fixture
def journal_path(journal_fault: JournalFault) -> Path:
    return journal_fault.db


@pytest.fixture
def nbrepro_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra ``NbreproConfig`` settings (``indirect`` parametrization)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def contents_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra ``ContentsManager`` settings (``indirect`` parametrization)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def jp_server_config(
    journal_path: Path, nbrepro_config: dict[str, Any], contents_config: dict[str, Any]
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproConfig": {"journal_path": str(journal_path), **nbrepro_config},
        "ContentsManager": dict(contents_config),
    }


@pytest.fixture
def run(jp_asyncio_loop: Any) -> Any:
    """Run a coroutine on the server's event loop (the tests are synchronous functions)."""

    def _run(coro: Any, timeout: float = 120) -> Any:
        return jp_asyncio_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return _run


@pytest.fixture
def server_log(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> pytest.LogCaptureFixture:
    """Every record the server, tornado and nbrepro log (the server app's log propagates once
    the server runs; while it starts, the extension's log reaches stderr: ``capfd``). Request
    it before the server so that its start is seen."""
    caplog.set_level(logging.DEBUG)
    caplog.hostile_capfd = capfd  # type: ignore[attr-defined]
    caplog.hostile_err = []  # type: ignore[attr-defined]
    return caplog


def token_of(serverapp: Any) -> str:
    """The test server's token."""
    return str(serverapp.identity_provider.token)


def assert_clean_log(caplog: pytest.LogCaptureFixture, token: str) -> None:
    """No traceback, no "Uncaught exception", no token in anything logged while the test ran;
    none either in what the server logged while it started (but the server's own start-up
    banner, which shows its URL with the token)."""
    text = caplog.text
    assert "Traceback" not in text, text[-3000:]
    assert "Uncaught exception" not in text, text[-3000:]
    assert not [r for r in caplog.records if r.exc_info], text[-3000:]
    assert token not in text, "the token was logged"
    started = setup_log(caplog)
    assert "Traceback" not in started and "Uncaught exception" not in started, started[-3000:]
    for line in started.splitlines():
        if "?token=" not in line:  # the server's banner shows its URL with the token
            assert token not in line, line


def setup_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the server logged while it started (the extension loaded), and in the setup
    phase of the test."""
    capfd = getattr(caplog, "hostile_capfd", None)
    kept: list[str] = getattr(caplog, "hostile_err", [])
    if capfd is not None:
        out, err = capfd.readouterr()
        kept.append(out + err)
    records = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    return "".join(kept) + records


def assert_one_line_message(raw: bytes) -> str:
    """The body is a JSON object with a one-line, non-empty ``message`` and no traceback."""
    doc = json.loads(raw)
    assert isinstance(doc, dict), doc
    message = doc.get("message")
    assert isinstance(message, str) and message.strip(), doc
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in raw.decode("utf-8", "replace")
    assert "traceback" not in doc or not doc["traceback"]
    return message


@pytest.fixture
def call(
    server_log: Any,
    jp_serverapp: Any,
    http_server_client: Any,
    jp_base_url: str,
    jp_asyncio_loop: Any,
) -> Any:
    """``await call(method, "status?path=x", body=..., query_token=False)`` →
    ``(status, body bytes)``: a raw request (the URL is sent as written, percent-encoding
    included), authenticated by header, by ``?token=`` with ``query_token``, not at all
    without ``auth``."""
    token = token_of(jp_serverapp)

    async def _call(
        method: str,
        tail: str,
        body: bytes | str | None = None,
        *,
        query_token: bool = False,
        auth: bool = True,
        timeout: float = 60,
    ) -> tuple[int, bytes]:
        url = jp_base_url.rstrip("/") + "/" + API + "/" + tail
        headers = {}
        if not auth:
            pass
        elif query_token:
            url += ("&" if "?" in url else "?") + f"token={token}"
        else:
            headers["Authorization"] = f"token {token}"
        if isinstance(body, str):
            body = body.encode("utf-8")
        if method in ("POST", "PUT", "PATCH") and body is None:
            body = b""
        response = await http_server_client.fetch(
            url,
            method=method,
            body=body,
            headers=headers,
            raise_error=False,
            request_timeout=timeout,
            allow_nonstandard_methods=True,
        )
        return response.code, response.body or b""

    yield _call
    # Stop the jobs the test started, and close the journal (a tmpfs under it is unmounted).
    ext = jp_serverapp.web_app.settings.get("nbrepro")
    if ext is not None:
        jp_asyncio_loop.run_until_complete(ext.jobs.shutdown())
        ext.journal.close()


def make_notebook(root: Path, name: str, sources: list[str]) -> Path:
    """A notebook of code cells (``sources``) at ``root/name``."""
    from nbrepro.notebook_io import write_notebook
    from tests.kernel_session import new_notebook

    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(new_notebook(sources), path)
    return path
