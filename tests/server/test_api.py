"""The REST API: authentication, path confinement, request validation, verification jobs, runs."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from nbrepro.notebook_io import read_notebook
from tests.server.helpers import make_notebook

API = ("nbrepro", "api")
NO_TOKEN = {"Authorization": "token not-the-token"}


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    response = info.value.response
    assert response is not None
    return info.value.code, json.loads(response.body or b"{}")


@pytest.mark.parametrize(
    ("method", "parts", "params", "body"),
    [
        ("GET", ("version",), {}, None),
        ("GET", ("status",), {"path": "nb.ipynb"}, None),
        ("POST", ("verify",), {}, json.dumps({"path": "nb.ipynb"})),
        ("GET", ("verify", "abc"), {}, None),
        ("DELETE", ("verify", "abc"), {}, None),
        ("GET", ("runs",), {"path": "nb.ipynb"}, None),
        ("GET", ("runs", "abc"), {}, None),
    ],
)
def test_requests_without_a_valid_token_are_refused(
    jp_fetch, jp_root_dir, run, method, parts, params, body
):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    code, _ = run(
        fetch_error(jp_fetch, *API, *parts, method=method, params=params, body=body,
                    headers=NO_TOKEN)
    )  # fmt: skip
    assert code == 403


def test_paths_escaping_the_root_are_refused(jp_fetch, jp_root_dir, tmp_path, run):
    outside = tmp_path / "outside"
    outside.mkdir()
    make_notebook(outside, "secret.ipynb", ["a = 1"])
    os.symlink(outside / "secret.ipynb", jp_root_dir / "link.ipynb")
    os.symlink(outside, jp_root_dir / "linkdir")

    async def body() -> list[tuple[int, dict[str, Any]]]:
        results = []
        for path in ("../outside/secret.ipynb", "sub/../../x.ipynb", str(outside / "secret.ipynb"),
                     "link.ipynb", "linkdir/secret.ipynb"):  # fmt: skip
            results.append(await fetch_error(jp_fetch, *API, "status", params={"path": path}))
        results.append(
            await fetch_error(jp_fetch, *API, "verify", method="POST",
                              body=json.dumps({"path": "link.ipynb"}))
        )  # fmt: skip
        return results

    for code, doc in run(body()):
        assert code == 403
        assert doc["message"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("not json", 400, "not JSON"),
        ("[1, 2]", 400, "JSON object"),
        ({"parameters": {}}, 400, "path"),
        ({"path": "nb.ipynb", "colour": "red"}, 400, "colour"),
        ({"path": "nb.ipynb", "parameters": [1]}, 400, "parameters"),
        ({"path": "nb.ipynb", "parameters": {"not an identifier": 1}}, 400, "identifier"),
        ({"path": "nb.ipynb", "options": {"timeout": "soon"}}, 400, "timeout"),
        ({"path": "nb.ipynb", "options": {"warp": 9}}, 400, "warp"),
        ({"path": "missing.ipynb"}, 404, "missing.ipynb"),
    ],
)
def test_verify_request_bodies_are_validated(jp_fetch, jp_root_dir, run, body, status, words):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    raw = body if isinstance(body, str) else json.dumps(body)
    code, doc = run(fetch_error(jp_fetch, *API, "verify", method="POST", body=raw))
    assert code == status
    assert words in doc["message"]


def test_status_of_a_missing_notebook_or_without_path_is_a_json_error(jp_fetch, run):
    assert run(fetch_error(jp_fetch, *API, "status"))[0] == 400
    code, doc = run(fetch_error(jp_fetch, *API, "status", params={"path": "nope.ipynb"}))
    assert code == 404
    assert "nope.ipynb" in doc["message"]


def test_status_reports_static_findings_and_changed_inputs(jp_fetch, jp_root_dir, run):
    from nbrepro.hashing import bytes_hash

    (jp_root_dir / "data.csv").write_text("a,b\n1,2\n")
    prov = {
        "schema_version": 1,
        "inputs": {"data.csv": {"hash": bytes_hash(b"a,b\n1,1\n"), "size": 8, "kind": "file",
                                "produced": False}},
        "cells": {"cell-0": {"execution_count": 1, "source_hash": "sha256:0",
                             "inputs": ["data.csv"]}},
    }  # fmt: skip
    path = make_notebook(jp_root_dir, "drift.ipynb", ["open('data.csv').read()"], nbrepro=prov)
    doc = run(get_status(jp_fetch, "drift.ipynb"))
    assert doc["path"] == "drift.ipynb"
    assert isinstance(doc["findings"], list)
    changed = [i for i in doc["drift"]["inputs"] if i["status"] == "changed"]
    assert [i["path"] for i in changed] == ["data.csv"]
    assert doc["verdict"]["level"] == "error"
    assert doc["journal"] == {"lineages": [], "current": None}
    assert path.exists()


async def get_status(jp_fetch: Any, path: str) -> dict[str, Any]:
    response = await jp_fetch(*API, "status", params={"path": path})
    return json.loads(response.body)


async def wait_job(jp_fetch: Any, job_id: str, timeout: float = 90) -> dict[str, Any]:
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        job = json.loads((await jp_fetch(*API, "verify", job_id)).body)
        if job["state"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        await asyncio.sleep(0.2)


def test_two_verification_jobs_on_one_notebook(jp_fetch, jp_root_dir, run):
    from tests.kernel_session import KernelSession, new_notebook

    nb = new_notebook(["n = 3", "print(n * 2)", "#md text", "n + 1"])
    with KernelSession(nb, cwd=jp_root_dir) as session:
        session.run_order([0, 1, 3])
        session.save(jp_root_dir / "twice.ipynb")
    before = (jp_root_dir / "twice.ipynb").read_bytes()

    async def body() -> list[dict[str, Any]]:
        started = []
        requests = ({}, {"parameters": {"n": 5}, "options": {"runs": 2}})
        for extra in requests:
            body = json.dumps({"path": "twice.ipynb", **extra})
            response = await jp_fetch(*API, "verify", method="POST", body=body)
            assert response.code == 202
            started.append(json.loads(response.body))
        assert started[0]["id"] != started[1]["id"]
        return [await wait_job(jp_fetch, job["id"]) for job in started]  # fmt: skip

    plain, changed = run(body(), timeout=180)
    assert plain["state"] == "succeeded", plain["message"]
    assert plain["result"]["reproducible"] is True
    assert plain["progress"]["total"] == 3
    assert [c["index"] for c in plain["progress"]["cells"]] == [0, 1, 3]
    assert all(c["status"] == "ok" for c in plain["progress"]["cells"])
    # Parameters and options reach verify: with new parameters it checks determinism.
    assert changed["state"] == "succeeded", changed["message"]
    assert changed["result"]["notebooks"][0]["parameters"] == {"n": 5}
    assert changed["result"]["notebooks"][0]["runs"] == 2
    assert (jp_root_dir / "twice.ipynb").read_bytes() == before


def test_a_verification_job_can_be_cancelled(jp_fetch, jp_root_dir, run):
    import asyncio

    path = make_notebook(
        jp_root_dir, "slow.ipynb", ["import time", "time.sleep(120)", "after = 1", "also = 2"]
    )
    ids = [c["id"] for c in read_notebook(path)["cells"]]

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        response = await jp_fetch(*API, "verify", method="POST",
                                  body=json.dumps({"path": "slow.ipynb"}))  # fmt: skip
        job = json.loads(response.body)
        deadline = time.monotonic() + 60
        while job["progress"]["current"] != 1:
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.2)
            job = json.loads((await jp_fetch(*API, "verify", job["id"])).body)
        cancelled = json.loads((await jp_fetch(*API, "verify", job["id"], method="DELETE")).body)
        again = json.loads((await jp_fetch(*API, "verify", job["id"])).body)
        return cancelled, again

    t0 = time.monotonic()
    cancelled, again = run(body(), timeout=120)
    assert time.monotonic() - t0 < 60
    assert cancelled["state"] == "cancelled"
    assert again["state"] == "cancelled"
    assert cancelled["progress"]["cells"][0]["status"] == "ok"
    # The cells that never started are listed (the panel shows them, not only those that ran).
    assert again["progress"]["not_started"] == [
        {"index": 2, "id": ids[2]},
        {"index": 3, "id": ids[3]},
    ]


def test_unknown_job_is_a_404(jp_fetch, run):
    code, doc = run(fetch_error(jp_fetch, *API, "verify", "0123456789abcdef"))
    assert code == 404
    assert "0123456789abcdef" in doc["message"]


def test_runs_of_a_notebook_are_listed_from_the_run_store(jp_fetch, jp_root_dir, run):
    make_notebook(jp_root_dir, "exp.ipynb", ["a = 1"])
    doc = json.loads(run(jp_fetch(*API, "runs", params={"path": "exp.ipynb"})).body)
    assert doc == {"path": "exp.ipynb", "runs": []}
    code, err = run(fetch_error(jp_fetch, *API, "runs", "20990101-nope"))
    assert code in (400, 404)
    assert "20990101-nope" in err["message"]
