"""The server's status verdict is the one verdict: kernel-session errors and the latest
verification count, a verification older than the code does not (real server, real kernels)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from nbrepro.notebook_io import read_notebook, write_notebook
from tests.server.helpers import NotebookSession, get_json, make_notebook

pytestmark = [pytest.mark.server, pytest.mark.kernel]

API = ("nbrepro", "api")


async def status(jp_fetch: Any, path: str) -> dict[str, Any]:
    return await get_json(jp_fetch, *API, "status", path=path)


async def verify_and_wait(jp_fetch: Any, path: str, timeout: float = 120) -> dict[str, Any]:
    response = await jp_fetch(*API, "verify", method="POST", body=json.dumps({"path": path}))
    job = json.loads(response.body)
    deadline = asyncio.get_running_loop().time() + timeout
    while job["state"] in ("queued", "running"):
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.3)
        job = json.loads((await jp_fetch(*API, "verify", job["id"])).body)
    return job


def test_an_error_in_the_kernel_session_makes_the_verdict_an_error(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    path = make_notebook(jp_root_dir, "nameerror.ipynb", ["a = 1", "print(b)", "c = 3"])
    nb = read_notebook(path)

    async def body() -> dict[str, Any]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "nameerror.ipynb").start()
        for index in range(3):  # Run All: in order, the second cell raises NameError
            await session.run_cell(nb, index)
        doc = await status(jp_fetch, "nameerror.ipynb")
        await session.close()
        return doc

    verdict = run(body())["verdict"]
    assert verdict["level"] == "error" and verdict["label"] == "Not reproducible"
    errors = [r for r in verdict["reasons"] if r["kind"] == "execution-error"]
    assert errors and errors[0]["cell_ids"] == [nb["cells"][1]["id"]]


def test_the_latest_verification_counts_until_the_code_changes(jp_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "drifts.ipynb", ["import random", "print(random.random())"])
    nb = read_notebook(path)
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "0.5\n"}]
    nb["cells"][1]["execution_count"] = 2
    nb["cells"][0]["execution_count"] = 1
    write_notebook(nb, path)

    async def body() -> tuple[dict[str, Any], ...]:
        before = await status(jp_fetch, "drifts.ipynb")
        job = await verify_and_wait(jp_fetch, "drifts.ipynb")
        after = await status(jp_fetch, "drifts.ipynb")
        edited = read_notebook(path)
        edited["cells"][1]["source"] = "print(0.5)"
        write_notebook(edited, path)
        stale = await status(jp_fetch, "drifts.ipynb")
        return before, job, after, stale

    before, job, after, stale = run(body())
    assert before["verdict"]["verification"] is None
    assert job["state"] == "failed"
    verdict = after["verdict"]
    assert verdict["level"] == "error" and verdict["label"] == "Not reproducible"
    assert verdict["verification"]["status"] == "not-reproduced"
    assert verdict["verification"]["failing_cell_ids"] == [nb["cells"][1]["id"]]
    reason = next(r for r in verdict["reasons"] if r["kind"] == "verification")
    assert reason["severity"] == "error" and reason["cell_ids"] == [nb["cells"][1]["id"]]
    # Editing the code makes that verification stale: it no longer decides the verdict.
    assert stale["verdict"]["verification"]["stale"] is True
    assert not [r for r in stale["verdict"]["reasons"] if r["kind"] == "verification"]
