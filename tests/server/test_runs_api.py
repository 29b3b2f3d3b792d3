"""The endpoints behind the panel's runs table and verification report: two runs compared
(``runs/<a>/diff/<b>``), a run's executed notebook (``runs/<id>/notebook``) and the stored and
new outputs of the cells a verification found differing (``verify/<job>/outputs``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbrepro.notebook_io import write_notebook
from tests.kernel_session import new_notebook
from tests.server.test_api import API, NO_TOKEN, fetch_error
from tests.server.test_run_jobs import parameters_notebook, post, wait_job


@pytest.mark.parametrize(
    "parts",
    [("runs", "a", "diff", "b"), ("runs", "a", "notebook"), ("verify", "abc", "outputs")],
)
def test_report_endpoints_refuse_requests_without_a_valid_token(jp_fetch, run, parts):
    code, _ = run(fetch_error(jp_fetch, *API, *parts, headers=NO_TOKEN))
    assert code == 403


def test_two_runs_are_compared_and_their_notebooks_served(jp_fetch, jp_root_dir, run):
    parameters_notebook(jp_root_dir)

    async def two_runs() -> list[str]:
        ids = []
        for alpha in (1, 2):
            job = await post(
                jp_fetch, "runs", {"path": "exp.ipynb", "parameters": {"alpha": alpha}}
            )
            done = await wait_job(jp_fetch, ("runs", "jobs"), job["id"])
            assert done["state"] == "succeeded", done
            ids.append(done["run_id"])
        return ids

    a, b = run(two_runs())
    diff = json.loads(run(jp_fetch(*API, "runs", a, "diff", b, params={"path": "exp.ipynb"})).body)
    assert (diff["a"], diff["b"]) == (a, b)
    assert diff["parameters"] == [{"name": "alpha", "a": 1, "b": 2, "in_a": True, "in_b": True}]
    assert "~ alpha: 1 -> 2" in diff["text"]
    assert diff["same_configuration"] is False

    doc = json.loads(run(jp_fetch(*API, "runs", b, "notebook", params={"path": "exp.ipynb"})).body)
    assert doc["run_id"] == b
    printed = [o.get("text") for c in doc["notebook"]["cells"] for o in c.get("outputs", [])]
    assert any("alpha is 2" in "".join(t or "") for t in printed), printed

    # Hostile ids: a parent folder, a hidden name, an id naming no run.
    for bad in ("..", ".nbrepro", "no-such-run"):
        code, body = run(fetch_error(jp_fetch, *API, "runs", a, "diff", bad))
        assert code == 404, (bad, body)
        code, body = run(fetch_error(jp_fetch, *API, "runs", bad, "notebook"))
        assert code == 404, (bad, body)
    code, _ = run(fetch_error(jp_fetch, *API, "runs", a, "diff", b, params={"path": "../x.ipynb"}))
    assert code == 403


def test_verify_outputs_gives_stored_and_new_outputs_of_differing_cells(jp_fetch, jp_root_dir, run):
    nb = new_notebook(["x = 1", "print(x + 1)"])
    nb["cells"][0]["execution_count"] = 1
    nb["cells"][1]["execution_count"] = 2
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "3\n"}]
    write_notebook(nb, jp_root_dir / "drift.ipynb")

    async def verify() -> dict[str, Any]:
        job = await post(jp_fetch, "verify", {"path": "drift.ipynb"})
        return await wait_job(jp_fetch, ("verify",), job["id"])

    job = run(verify())
    answer = json.loads(run(jp_fetch(*API, "verify", job["id"], "outputs")).body)
    assert answer["path"] == "drift.ipynb"
    [cell] = answer["cells"]
    assert cell["id"] == nb["cells"][1]["id"] and cell["status"] == "mismatch"
    # Each side as nbformat stores it (multi-line strings may be lists of lines).
    assert ["".join(o["text"]) for o in cell["stored"]] == ["3\n"]
    assert ["".join(o["text"]) for o in cell["new"]] == ["2\n"]
    assert cell["truncated"] is False

    code, _ = run(fetch_error(jp_fetch, *API, "verify", "no-such-job", "outputs"))
    assert code == 404
