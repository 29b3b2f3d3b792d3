"""Experiment runs from the server (``POST runs``, ``runs/jobs/<job>``), the capability flags of
``GET version``, and the executed copies verification jobs keep."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from nbrepro import __version__
from nbrepro.notebook_io import read_notebook, write_notebook
from tests.kernel_session import new_notebook
from tests.server.helpers import get_json, make_notebook
from tests.server.test_api import API, NO_TOKEN, fetch_error


def parameters_notebook(root: Path, name: str = "exp.ipynb", extra: tuple[str, ...] = ()) -> Path:
    nb = new_notebook(["alpha = 1  # the rate", "print('alpha is', alpha)", *extra])
    nb["cells"][0]["metadata"]["tags"] = ["parameters"]
    path = root / name
    write_notebook(nb, path)
    return path


async def wait_job(jp_fetch: Any, route: tuple[str, ...], job_id: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = json.loads((await jp_fetch(*API, *route, job_id)).body)
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        await asyncio.sleep(0.2)


async def post(jp_fetch: Any, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await jp_fetch(*API, route, method="POST", body=json.dumps(body))
    assert response.code == 202
    return json.loads(response.body)


def test_version_advertises_runs_and_verify_in_api_generation_1(jp_fetch, run):
    doc = json.loads(run(jp_fetch(*API, "version")).body)
    assert doc == {"version": __version__, "api": 1,
                   "capabilities": {"verify": True, "runs": True}}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "parts", "body"),
    [
        ("POST", ("runs",), json.dumps({"path": "nb.ipynb"})),
        ("GET", ("runs", "jobs", "abc"), None),
        ("DELETE", ("runs", "jobs", "abc"), None),
    ],
)
def test_run_endpoints_refuse_requests_without_a_valid_token(
    jp_fetch, jp_root_dir, run, method, parts, body
):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    code, _ = run(fetch_error(jp_fetch, *API, *parts, method=method, body=body,
                              headers=NO_TOKEN))  # fmt: skip
    assert code == 403
    assert not (jp_root_dir / ".nbrepro").exists()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("not json", 400, "not JSON"),
        ("[1]", 400, "JSON object"),
        ({"parameters": {}}, 400, "path"),
        ({"path": "nb.ipynb", "options": {}}, 400, "options"),
        ({"path": "nb.ipynb", "parameters": "alpha=2"}, 400, "parameters"),
        ({"path": "nb.ipynb", "parameters": {"2x": 1}}, 400, "identifier"),
        ({"path": "nb.ipynb", "name": 7}, 400, "name"),
        ({"path": "nb.ipynb", "name": "two\nlines"}, 400, "single line"),
        ({"path": "../nb.ipynb"}, 403, ".."),
        ({"path": "/etc/passwd"}, 403, "absolute"),
        ({"path": "link.ipynb"}, 403, "symbolic link"),
        ({"path": "missing.ipynb"}, 404, "missing.ipynb"),
    ],
)
def test_run_request_bodies_and_paths_are_checked_before_anything_runs(
    jp_fetch, jp_root_dir, tmp_path, run, body, status, words
):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    outside = tmp_path / "outside"
    outside.mkdir()
    make_notebook(outside, "secret.ipynb", ["a = 1"])
    os.symlink(outside / "secret.ipynb", jp_root_dir / "link.ipynb")
    raw = body if isinstance(body, str) else json.dumps(body)
    code, doc = run(fetch_error(jp_fetch, *API, "runs", method="POST", body=raw))
    assert code == status
    assert words in doc["message"]
    assert not (jp_root_dir / ".nbrepro").exists()


def test_a_run_job_stores_a_run_with_the_given_parameters_and_answers_its_id(
    jp_fetch, jp_root_dir, run
):
    path = parameters_notebook(jp_root_dir, extra=("alpha * 10",))
    before = path.read_bytes()

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        request = {"path": "exp.ipynb", "parameters": {"alpha": 4}, "name": "four"}
        started = await post(jp_fetch, "runs", request)
        assert started["kind"] == "run"
        assert started["state"] in ("queued", "running")
        done = await wait_job(jp_fetch, ("runs", "jobs"), started["id"])
        stored = json.loads((await jp_fetch(*API, "runs", done["run_id"],
                                            params={"path": "exp.ipynb"})).body)  # fmt: skip
        code, _ = await fetch_error(jp_fetch, *API, "verify", started["id"])
        assert code == 404  # a run job is not a verification job
        return done, stored

    done, stored = run(body(), timeout=150)
    assert done["state"] == "succeeded", done["message"]
    assert done["name"] == "four"
    assert done["result"]["verdict"] == "succeeded"
    assert done["result"]["parameters"] == {"alpha": 4}
    assert stored["run_id"] == done["run_id"]
    # Progress per cell, the injected-parameters cell included.
    assert done["progress"]["total"] == 4
    assert [c["status"] for c in done["progress"]["cells"]] == ["ok"] * 4
    bundle = jp_root_dir / ".nbrepro" / "runs" / done["run_id"]
    assert done["executed_path"] == f".nbrepro/runs/{done['run_id']}/notebook.ipynb"
    assert done["executed_openable"] is False  # hidden folder: JupyterLab cannot open it
    executed = read_notebook(bundle / "notebook.ipynb")
    outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
    assert any("alpha is 4" in "".join(o.get("text", "")) for o in outputs)
    assert any("".join(o.get("data", {}).get("text/plain", "")) == "40" for o in outputs)
    assert path.read_bytes() == before


def test_a_run_whose_cell_raises_is_stored_as_failed_with_the_error(jp_fetch, jp_root_dir, run):
    parameters_notebook(jp_root_dir, "boom.ipynb", extra=("raise ValueError('bad alpha')",))

    async def body() -> dict[str, Any]:
        job = await post(jp_fetch, "runs", {"path": "boom.ipynb"})
        return await wait_job(jp_fetch, ("runs", "jobs"), job["id"])

    done = run(body(), timeout=120)
    assert done["state"] == "failed"
    assert "bad alpha" in done["message"]
    assert done["result"]["verdict"] == "failed"
    assert (jp_root_dir / ".nbrepro" / "runs" / done["run_id"] / "run.json").is_file()


def test_a_run_job_can_be_cancelled_and_leaves_no_bundle(jp_fetch, jp_root_dir, run):
    make_notebook(jp_root_dir, "slow.ipynb", ["import time", "time.sleep(120)"])

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        job = await post(jp_fetch, "runs", {"path": "slow.ipynb"})
        deadline = time.monotonic() + 60
        while job["progress"]["current"] != 1:
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.2)
            job = json.loads((await jp_fetch(*API, "runs", "jobs", job["id"])).body)
        cancelled = json.loads(
            (await jp_fetch(*API, "runs", "jobs", job["id"], method="DELETE")).body
        )
        listed = json.loads((await jp_fetch(*API, "runs", params={"path": "slow.ipynb"})).body)
        return cancelled, listed

    t0 = time.monotonic()
    cancelled, listed = run(body(), timeout=120)
    assert time.monotonic() - t0 < 60
    assert cancelled["state"] == "cancelled"
    assert cancelled["run_id"] is None
    assert listed["runs"] == []


def test_unknown_run_job_is_a_404(jp_fetch, run):
    code, doc = run(fetch_error(jp_fetch, *API, "runs", "jobs", "0123456789abcdef"))
    assert code == 404
    assert "0123456789abcdef" in doc["message"]


def test_verification_keeps_the_executed_copy_under_the_root(jp_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "sub/kept.ipynb", ["print(6 * 7)"])
    before = path.read_bytes()

    async def body() -> dict[str, Any]:
        job = await post(jp_fetch, "verify", {"path": "sub/kept.ipynb"})
        return await wait_job(jp_fetch, ("verify",), job["id"])

    done = run(body(), timeout=120)
    assert done["state"] in ("succeeded", "failed"), done["message"]
    assert done["executed_path"] == f"nbrepro-verified/{done['id']}/kept.ipynb"
    assert done["executed_openable"] is True
    copy = read_notebook(jp_root_dir / done["executed_path"])
    assert "42" in "".join(copy["cells"][0]["outputs"][0]["text"])
    assert path.read_bytes() == before
    # Labelled as a copy of the original, which the server judges it from.
    assert copy["metadata"]["nbrepro_copy"] == {
        "of": "../../sub/kept.ipynb",
        "made_by": "verification",
    }
    status = run(get_json(jp_fetch, *API, "status", path=done["executed_path"]))
    assert status["copy_of"] == "sub/kept.ipynb"


@pytest.mark.parametrize("nbrepro_config", [{"verified_dir": ""}])
def test_verification_keeps_no_copy_when_verified_dir_is_empty(jp_fetch, jp_root_dir, run):
    make_notebook(jp_root_dir, "plain.ipynb", ["1 + 1"])

    async def body() -> dict[str, Any]:
        job = await post(jp_fetch, "verify", {"path": "plain.ipynb"})
        return await wait_job(jp_fetch, ("verify",), job["id"])

    done = run(body(), timeout=120)
    assert done["state"] in ("succeeded", "failed"), done["message"]
    assert done["executed_path"] is None
    assert done["executed_openable"] is False
    assert sorted(p.name for p in jp_root_dir.iterdir()) == ["plain.ipynb"]
