"""Fixtures for the server extension: a real jupyter server with nbrepro enabled, real kernels."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (the jp_* fixtures and their hooks)


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal" / "journal.sqlite3"


@pytest.fixture
def nbrepro_config() -> dict[str, Any]:
    """Extra ``NbreproConfig`` settings; tests override this fixture."""
    return {}


@pytest.fixture
def jp_server_config(journal_path: Path, nbrepro_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproConfig": {"journal_path": str(journal_path), **nbrepro_config},
    }


@pytest.fixture
def run(jp_asyncio_loop: Any) -> Any:
    """Run a coroutine on the server's event loop (the tests are synchronous functions).

    pytest-asyncio would run ``async def`` tests on a loop of its own, while the server under
    test lives on pytest-jupyter's loop: driving that loop explicitly keeps them one.
    """

    def _run(coro: Any, timeout: float = 120) -> Any:
        return jp_asyncio_loop.run_until_complete(asyncio.wait_for(coro, timeout))

    return _run


# A second real Python environment with its own kernel (shared with the recorder's tests).
from tests.record.conftest import kernel_venv  # noqa: E402, F401
