"""The status compares a notebook's recorded environment with its kernel's environment, which
is not the server's when the kernel belongs to another Python environment."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from nbrepro.notebook_io import read_notebook, write_notebook
from nbrepro.record.environment import snapshot
from tests.record.kernel_venv import PROBE_CELL, PROBE_DIST, PROBE_VERSION, copy_kernelspec
from tests.server.helpers import NotebookSession, get_json, make_notebook

pytestmark = [pytest.mark.server, pytest.mark.kernel]


async def _status(jp_fetch: Any, path: str) -> dict[str, Any]:
    """The status once the kernel's environment has been read (the first request waits for it
    only a bounded time, as on a loaded machine; the panel asks again later, as here)."""
    for _ in range(60):
        doc = await get_json(jp_fetch, "nbrepro", "api", "status", path=path)
        if "still being read" not in str(doc["drift"].get("environment_unavailable")):
            return doc
        await asyncio.sleep(0.5)
    raise AssertionError("the kernel's environment was never read")


def test_status_of_a_venv_kernel_notebook_shows_no_false_environment_drift(
    jp_fetch, jp_ws_fetch, jp_root_dir, jp_data_dir, kernel_venv, run
):
    copy_kernelspec(kernel_venv, jp_data_dir)
    assert PROBE_DIST not in snapshot()["packages"]  # the server's interpreter lacks it
    spec = {"name": kernel_venv.kernel, "display_name": "venv", "language": "python"}
    path = make_notebook(jp_root_dir, "venv.ipynb", [PROBE_CELL], kernelspec=spec)
    nb = read_notebook(path)

    async def live() -> tuple[dict[str, Any], dict[str, Any]]:
        session = await NotebookSession(
            jp_fetch, jp_ws_fetch, "venv.ipynb", kernel_venv.kernel
        ).start()
        await session.run_cell(nb, 0)
        body = {"type": "notebook", "format": "json", "content": read_notebook(path)}
        await jp_fetch("api", "contents", "venv.ipynb", method="PUT", body=json.dumps(body))
        during = await _status(jp_fetch, "venv.ipynb")
        await session.close()
        return during, await _status(jp_fetch, "venv.ipynb")

    during, after = run(live())
    prov = read_notebook(path)["metadata"]["nbrepro"]
    assert prov["environment"]["packages"] == {PROBE_DIST: PROBE_VERSION}
    for doc in (during, after):  # the live kernel's, then the kernelspec's environment
        assert doc["drift"]["environment"]["drift"] is False, doc["drift"]
        assert not any("environment" in r["text"] for r in doc["verdict"]["reasons"])
    assert during["recording"]["kernel_name"] == kernel_venv.kernel

    # The same recording opened with the server's own kernel: the probe is missing there.
    moved = read_notebook(path)
    moved["metadata"]["kernelspec"] = {"name": "python3", "display_name": "P", "language": "python"}
    write_notebook(moved, jp_root_dir / "moved.ipynb")
    doc = run(_status(jp_fetch, "moved.ipynb"))
    assert doc["drift"]["environment"]["packages"]["removed"] == {PROBE_DIST: PROBE_VERSION}
    assert "the environment changed since recording" in [
        r["text"] for r in doc["verdict"]["reasons"]
    ]


def test_status_says_why_an_environment_was_not_compared(jp_fetch, jp_root_dir, run):
    prov = {"schema_version": 1, "environment": snapshot([]), "cells": {}, "inputs": {}}
    spec = {"name": "not-installed", "display_name": "x", "language": "python"}
    make_notebook(jp_root_dir, "orphan.ipynb", ["1"], kernelspec=spec, nbrepro=prov)
    doc = run(_status(jp_fetch, "orphan.ipynb"))
    assert doc["drift"]["environment"] is None
    assert doc["drift"]["environment_unavailable"] == "kernel 'not-installed' is not installed"
    assert "environment not compared: kernel 'not-installed' is not installed" in doc["unavailable"]


def test_a_hanging_kernel_interpreter_never_stalls_the_status(tmp_path, monkeypatch):
    """The status waits a bounded time for a kernel's environment, then says why it is not
    compared; once the interpreter timed out, that is the reason given."""
    from nbrepro.journal import JournalStore
    from nbrepro.server.status import StatusService
    from tests.record.kernel_venv import register_kernel

    hanging = tmp_path / "env" / "bin" / "python"
    hanging.parent.mkdir(parents=True)
    hanging.write_text("#!/bin/sh\nexec sleep 20\n")
    hanging.chmod(0o755)
    register_kernel(tmp_path / "data" / "kernels", "hangs", hanging)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "data"))
    prov = {"schema_version": 1, "environment": snapshot([]), "cells": {}, "inputs": {}}
    spec = {"name": "hangs", "display_name": "x", "language": "python"}
    path = make_notebook(tmp_path, "slow.ipynb", ["1"], kernelspec=spec, nbrepro=prov)
    service = StatusService(
        JournalStore(tmp_path / "journal.sqlite3"), env_wait=0.2, env_timeout=1.5
    )
    t0 = time.monotonic()
    first = service.status("slow.ipynb", path, {"kernel_id": None})
    assert time.monotonic() - t0 < 1.0
    assert first["drift"]["environment"] is None
    assert first["drift"]["environment_unavailable"] == (
        "the environment of kernel 'hangs' is still being read"
    )
    time.sleep(2.0)
    later = service.status("slow.ipynb", path, {"kernel_id": None})
    assert later["drift"]["environment"] is None
    assert later["drift"]["environment_unavailable"] == (
        f"kernel 'hangs': its interpreter {hanging} did not answer within 1.5 s"
    )


def test_the_server_keeps_answering_while_a_status_waits_for_a_kernel_environment(
    jp_fetch, jp_root_dir, jp_data_dir, jp_serverapp, tmp_path, run
):
    """The status is built off the event loop: while it waits for a hanging kernel interpreter,
    other requests (the contents API here; kernel messages in real use) are answered."""
    from tests.record.kernel_venv import register_kernel

    hanging = tmp_path / "env" / "bin" / "python"
    hanging.parent.mkdir(parents=True)
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    register_kernel(jp_data_dir / "kernels", "hangs", hanging)
    service = jp_serverapp.web_app.settings["nbrepro"].status
    service.env_wait, service.env_timeout = 3.0, 5.0  # the reader gives up before the test ends
    prov = {"schema_version": 1, "environment": snapshot([]), "cells": {}, "inputs": {}}
    spec = {"name": "hangs", "display_name": "x", "language": "python"}
    make_notebook(jp_root_dir, "slow.ipynb", ["1"], kernelspec=spec, nbrepro=prov)

    async def body() -> list[str]:
        done: list[str] = []

        async def status() -> None:
            await get_json(jp_fetch, "nbrepro", "api", "status", path="slow.ipynb")
            done.append("status")

        async def contents() -> None:
            await asyncio.sleep(0.5)  # the status request is waiting by now
            await jp_fetch("api", "contents", "slow.ipynb", params={"content": "0"})
            done.append("contents")

        await asyncio.gather(status(), contents())
        return done

    assert run(body()) == ["contents", "status"]
