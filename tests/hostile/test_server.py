"""Hostile requests and faults against the server extension: bodies, paths, jobs, the journal
locked, corrupt or unwritable, a full disk, a server killed mid-job.

Every case asserts the HTTP status, a one-line JSON message, no traceback and no token in the
server's log, and that the notebook it names is unchanged (checksum).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from nbrepro.server.version import capabilities
from tests.hostile.conftest import (
    assert_clean_log,
    assert_one_line_message,
    make_notebook,
    setup_log,
    token_of,
)
from tests.hostile.server_faults import FAULTS

RUNS = capabilities()["runs"]
BIG = "x" * ((1 << 20) + 10)
NESTED = '{"path": "nb.ipynb", "parameters": {"a": ' + "[" * 100 + "]" * 100 + "}}"


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def nb(jp_root_dir: Path) -> Path:
    return make_notebook(jp_root_dir, "nb.ipynb", ["a = 1", "b = a + 1"])


def expect(
    run: Any, call: Any, server_log: Any, jp_serverapp: Any, status: int, *request: Any,
    nb: Path | None = None, **kwargs: Any,
) -> str:  # fmt: skip
    """Make one request; assert its status, its one-line message, a clean log, the notebook
    unchanged. Returns the message."""
    before = checksum(nb) if nb is not None and nb.exists() else None
    code, raw = run(call(*request, **kwargs))
    assert code == status, (code, raw[:500])
    message = assert_one_line_message(raw)
    assert_clean_log(server_log, token_of(jp_serverapp))
    if before is not None:
        assert nb is not None and checksum(nb) == before
    return message


# -- bodies ------------------------------------------------------------------------------------

BODIES: list[tuple[str, Any, int]] = [
    ("huge-parameter", {"path": "nb.ipynb", "parameters": {"a": BIG}}, 413),
    ("huge-not-json", "[" * ((1 << 20) + 1), 413),
    ("huge-unknown-key", {"path": "nb.ipynb", "x" * (1 << 20): 1}, 413),
    ("not-json", "not json", 400),
    ("array", "[1, 2]", 400),
    ("string", '"nb.ipynb"', 400),
    ("number", "42", 400),
    ("null", "null", 400),
    ("boolean", "true", 400),
    ("empty", "", 400),
    ("empty-object", {}, 400),
    ("path-int", {"path": 7}, 400),
    ("path-list", {"path": ["nb.ipynb"]}, 400),
    ("path-object", {"path": {"p": "nb.ipynb"}}, 400),
    ("path-null", {"path": None}, 400),
    ("path-blank", {"path": "   "}, 400),
    ("path-nul", {"path": "nb\x00.ipynb"}, 400),
    ("path-missing", {"path": "missing.ipynb"}, 404),
    ("parameters-list", {"path": "nb.ipynb", "parameters": [1]}, 400),
    ("parameters-string", {"path": "nb.ipynb", "parameters": "a=1"}, 400),
    ("parameters-number", {"path": "nb.ipynb", "parameters": 3}, 400),
    ("parameter-not-identifier", {"path": "nb.ipynb", "parameters": {"not an id": 1}}, 400),
    ("parameter-keyword", {"path": "nb.ipynb", "parameters": {"class": 1}}, 400),
    ("parameter-bidi", {"path": "nb.ipynb", "parameters": {"a\u202e": 1}}, 400),
    ("unknown-key", {"path": "nb.ipynb", "colour": "red"}, 400),
    ("many-unknown-keys", {"path": "nb.ipynb", **{f"k{i}": i for i in range(2000)}}, 400),
    ("nested-parameters", NESTED, 400),
    ("nested-100000", "[" * 100_000 + "]" * 100_000, 400),
    ("nested-objects", '{"a":' * 20_000 + "1" + "}" * 20_000, 400),
    ("invalid-utf8", b'{"path": "\xff\xfe.ipynb"}', 400),
    ("utf16", '{"path": "nb.ipynb"}'.encode("utf-16"), 400),
]
VERIFY_ONLY: list[tuple[str, Any, int]] = [
    ("options-list", {"path": "nb.ipynb", "options": [1]}, 400),
    ("options-string", {"path": "nb.ipynb", "options": "fast"}, 400),
    ("option-unknown", {"path": "nb.ipynb", "options": {"warp": 9}}, 400),
    ("option-wrong-type", {"path": "nb.ipynb", "options": {"timeout": "soon"}}, 400),
    ("option-nested", {"path": "nb.ipynb", "options": {"timeout": {"a": [1]}}}, 400),
]
RUN_ONLY: list[tuple[str, Any, int]] = [
    ("name-number", {"path": "nb.ipynb", "name": 5}, 400),
    ("name-multiline", {"path": "nb.ipynb", "name": "a\nb"}, 400),
    ("name-too-long", {"path": "nb.ipynb", "name": "n" * 500}, 400),
    ("options-not-for-runs", {"path": "nb.ipynb", "options": {}}, 400),
]


def _raw(body: Any) -> bytes | str:
    return body if isinstance(body, (bytes, str)) else json.dumps(body)


@pytest.mark.parametrize(
    ("body", "status"), [pytest.param(b, s, id=n) for n, b, s in BODIES + VERIFY_ONLY]
)
def test_verify_bodies(run, call, server_log, jp_serverapp, nb, body, status):
    message = expect(
        run, call, server_log, jp_serverapp, status, "POST", "verify", _raw(body), nb=nb
    )
    assert len(message) < 1000


@pytest.mark.skipif(not RUNS, reason="the run store is not part of this installation")
@pytest.mark.parametrize(
    ("body", "status"), [pytest.param(b, s, id=n) for n, b, s in BODIES + RUN_ONLY]
)
def test_run_bodies(run, call, server_log, jp_serverapp, nb, body, status):
    expect(run, call, server_log, jp_serverapp, status, "POST", "runs", _raw(body), nb=nb)


# -- paths -------------------------------------------------------------------------------------


@pytest.fixture
def tree(jp_root_dir: Path, tmp_path: Path, nb: Path) -> Path:
    """The root with a notebook, a hidden folder and file, symbolic links out and in a loop."""
    outside = tmp_path / "outside"
    make_notebook(outside, "secret.ipynb", ["s = 1"])
    make_notebook(jp_root_dir, ".hidden/h.ipynb", ["h = 1"])
    make_notebook(jp_root_dir, ".h.ipynb", ["h = 2"])
    (jp_root_dir / "sub").mkdir()
    os.symlink(outside / "secret.ipynb", jp_root_dir / "link.ipynb")
    os.symlink(outside, jp_root_dir / "linkdir")
    os.symlink(jp_root_dir / ".hidden" / "h.ipynb", jp_root_dir / "vis.ipynb")
    os.symlink(jp_root_dir / "loop", jp_root_dir / "loop")
    return outside


# (name, path, status via a query, status via a JSON body); a query's path is sent raw.
PATHS: list[tuple[str, str, int, int]] = [
    ("absolute", "/etc/passwd", 403, 403),
    ("dotdot", "../outside/secret.ipynb", 403, 403),
    ("inner-dotdot", "sub/../../outside/secret.ipynb", 403, 403),
    ("backslash-dotdot", "..\\outside\\secret.ipynb", 403, 403),
    ("drive", "C:/x.ipynb", 403, 403),
    ("symlink-out", "link.ipynb", 403, 403),
    ("symlink-dir-out", "linkdir/secret.ipynb", 403, 403),
    ("symlink-loop", "loop/x.ipynb", 400, 400),
    ("hidden-folder", ".hidden/h.ipynb", 404, 404),
    ("hidden-file", ".h.ipynb", 404, 404),
    ("link-to-hidden", "vis.ipynb", 404, 404),
    ("5000-chars", "a" * 5000 + ".ipynb", 400, 400),
    ("long-name", "sub/" + "n" * 300 + ".ipynb", 400, 400),
    ("many-segments", "/".join(["d"] * 1500) + ".ipynb", 404, 404),
    ("nul", "nb\x00.ipynb", 404, 400),  # a query's control characters become spaces
    ("newline", "nb.ipynb\nx", 404, 404),
    ("percent-dotdot", "%2e%2e%2foutside%2fsecret.ipynb", 403, 404),
    ("double-percent", "%252e%252e%252fsecret.ipynb", 404, 404),
    ("folder", "sub", 404, 404),
    ("missing", "missing.ipynb", 404, 404),
    ("empty", "", 400, 400),
    ("blank", "   ", 400, 400),
    ("bidi", "\u202eevil.ipynb", 404, 404),
]
QUERY_ENDPOINTS = ["status", "verify", *(["runs"] if RUNS else [])]


def _query(path: str, raw: bool) -> str:
    return path if raw else urllib.parse.quote(path, safe="")


@pytest.mark.parametrize("endpoint", QUERY_ENDPOINTS)
@pytest.mark.parametrize(("path", "status"), [pytest.param(p, q, id=n) for n, p, q, _ in PATHS])
def test_paths_in_queries(run, call, server_log, jp_serverapp, tree, nb, endpoint, path, status):
    raw = path.startswith("%")
    tail = f"{endpoint}?path={_query(path, raw)}"
    message = expect(
        run, call, server_log, jp_serverapp, status, "GET", tail, nb=nb, query_token=True
    )
    assert str(tree) not in message and str(nb.parent) not in message  # no absolute paths
    assert len(message) < 400


@pytest.mark.parametrize(("path", "status"), [pytest.param(p, b, id=n) for n, p, _, b in PATHS])
def test_paths_in_bodies(run, call, server_log, jp_serverapp, tree, nb, path, status):
    body = json.dumps({"path": path})
    message = expect(
        run, call, server_log, jp_serverapp, status, "POST", "verify", body, nb=nb,
        query_token=True,
    )  # fmt: skip
    assert str(tree) not in message and str(nb.parent) not in message
    assert not list(Path(nb.parent, "nbrepro-verified").glob("*"))


@pytest.mark.parametrize("contents_config", [{"allow_hidden": True}], indirect=True)
def test_hidden_files_are_served_when_the_contents_manager_allows_them(
    run, call, server_log, jp_serverapp, tree
):
    code, raw = run(call("GET", "status?path=.hidden%2Fh.ipynb"))
    assert code == 200, raw[:300]
    assert json.loads(raw)["path"] == ".hidden/h.ipynb"
    assert_clean_log(server_log, token_of(jp_serverapp))


def test_hidden_files_are_refused_like_the_contents_api(run, call, jp_fetch, tree):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        run(jp_fetch("api", "contents", ".hidden/h.ipynb"))
    assert info.value.code == 404
    assert run(call("GET", "status?path=.hidden%2Fh.ipynb"))[0] == 404


# -- methods and ids ---------------------------------------------------------------------------

IDS: list[tuple[str, str, str, int]] = [
    ("get-unknown-verify", "GET", "verify/nosuchjob", 404),
    ("delete-unknown-verify", "DELETE", "verify/nosuchjob", 404),
    ("get-unknown-run-job", "GET", "runs/jobs/nosuchjob", 404),
    ("delete-unknown-run-job", "DELETE", "runs/jobs/nosuchjob", 404),
    ("get-long-id", "GET", "verify/" + "a" * 5000, 404),
    ("delete-long-id", "DELETE", "verify/" + "b" * 5000, 404),
    ("put-verify", "PUT", "verify", 405),
    ("patch-status", "PATCH", "status?path=nb.ipynb", 405),
    ("post-status", "POST", "status?path=nb.ipynb", 405),
    ("delete-status", "DELETE", "status?path=nb.ipynb", 405),
]


@pytest.mark.parametrize(
    ("method", "tail", "status"), [pytest.param(m, t, s, id=n) for n, m, t, s in IDS]
)
def test_unknown_ids_and_methods(run, call, server_log, jp_serverapp, nb, method, tail, status):
    body = b"{}" if method in ("PUT", "PATCH", "POST") else None
    expect(run, call, server_log, jp_serverapp, status, method, tail, body, nb=nb,
           query_token=True)  # fmt: skip


def test_a_request_line_with_a_wrong_token_logs_no_token(run, call, server_log, jp_serverapp):
    code, _ = run(call("GET", "status?path=nb.ipynb&token=not-the-token-1234", auth=False))
    assert code == 403
    assert "not-the-token-1234" not in server_log.text
    assert_clean_log(server_log, token_of(jp_serverapp))


# -- journal faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("journal_fault", list(FAULTS), indirect=True)
def test_a_journal_fault_never_disables_the_api(
    run, call, server_log, jp_serverapp, nb, journal_fault
):
    warning, moved = FAULTS[journal_fault.name]
    t0 = time.monotonic()
    for tail in ("version", "status?path=nb.ipynb", "verify?path=nb.ipynb",
                 *(["runs?path=nb.ipynb"] if RUNS else [])):  # fmt: skip
        code, raw = run(call("GET", tail))
        assert code == 200, (tail, raw[:300])
    assert time.monotonic() - t0 < 5, "an endpoint waited for the journal"
    status = json.loads(run(call("GET", "status?path=nb.ipynb"))[1])
    assert status["journal"]["current"] is None
    expect(run, call, server_log, jp_serverapp, 400, "POST", "verify", "not json", nb=nb)
    if warning:
        assert warning in setup_log(server_log), setup_log(server_log)[-2000:]
    aside = list(journal_fault.db.parent.glob("journal.sqlite3.corrupt-*"))
    assert bool(aside) == moved
    if moved:
        ext = jp_serverapp.web_app.settings["nbrepro"]
        assert ext.journal.flush(5)
        con = sqlite3.connect(journal_fault.db)
        assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        con.close()


@pytest.mark.parametrize("journal_fault", ["locked-exclusive", "full-disk"], indirect=True)
def test_executions_wait_for_the_journal_and_are_never_lost(
    run, call, server_log, jp_serverapp, jp_fetch, jp_ws_fetch, jp_root_dir, journal_fault
):
    from tests.server.helpers import NotebookSession

    make_notebook(jp_root_dir, "live.ipynb", [f"x = {i}" for i in range(5)])
    ext = jp_serverapp.web_app.settings["nbrepro"]

    async def body() -> tuple[list[float], float, dict[str, Any]]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "live.ipynb").start()
        rounds = []
        try:
            for i in range(5):
                t0 = time.perf_counter()
                reply, _ = await session.execute(f"x = {i}", cell_id=f"cell-{i}")
                rounds.append(time.perf_counter() - t0)
                assert reply["status"] == "ok"
            t0 = time.perf_counter()
            code, raw = await call("GET", "status?path=live.ipynb")
            took = time.perf_counter() - t0
            assert code == 200
            return rounds, took, json.loads(raw)
        finally:
            await session.close()

    rounds, took, status = run(body())
    assert max(rounds) < 2.0 and took < 2.0, (rounds, took)
    current = status["journal"]["current"]
    assert [e["cell_id"] for e in current["executions"]] == [f"cell-{i}" for i in range(5)]
    assert ext.journal.waiting > 0 and ext.journal.problem
    journal_fault.clear()
    assert ext.journal.flush(15), ext.journal.problem
    con = sqlite3.connect(journal_fault.db)
    cells = con.execute(
        "SELECT e.cell_id FROM executions e JOIN lineages l ON l.id = e.lineage_id"
        " JOIN notebooks n ON n.id = l.notebook_id WHERE n.path LIKE '%live.ipynb'"
        " ORDER BY e.seq"
    ).fetchall()
    assert [c for (c,) in cells] == [f"cell-{i}" for i in range(5)]
    con.close()
    assert_clean_log(server_log, token_of(jp_serverapp))


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_a_journal_writer_killed_at_any_moment_leaves_a_readable_journal(tmp_path, delay):
    import subprocess
    import sys

    from nbrepro.journal import JournalStore

    db = tmp_path / "journal.sqlite3"
    writer = (
        "import sys, time\nfrom nbrepro.journal import JournalStore\n"
        "s = JournalStore(sys.argv[1])\nl = s.start_lineage('/x/a.ipynb')\n"
        "print('go', flush=True)\n"
        "i = 0\nwhile True:\n    i += 1\n"
        "    s.record_execution(l.id, cell_id=f'c{i}', execution_count=i, source_hash='h',"
        " status='ok')\n    time.sleep(0.0005)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer, str(db)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"go"
    time.sleep(delay)
    proc.kill()
    proc.wait(10)
    with JournalStore(db) as store:  # what was committed is intact, in order
        lineages = store.lineages("/x/a.ipynb")
        seqs = [e.seq for lin in lineages for e in store.executions(lin.id)]
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert len(lineages) <= 1 and seqs == list(range(1, len(seqs) + 1))


# -- jobs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("nbrepro_config", [{"max_jobs": 1, "max_queued": 2}], indirect=True)
def test_a_full_queue_is_429_and_cancelling_twice_is_harmless(
    run, call, server_log, jp_serverapp, jp_root_dir
):
    slow = make_notebook(jp_root_dir, "slow.ipynb", ["import time", "time.sleep(120)"])
    body = json.dumps({"path": "slow.ipynb"})
    answers = [run(call("POST", "verify", body)) for _ in range(6)]
    codes = [code for code, _ in answers]
    assert set(codes) <= {202, 429} and codes.count(429) >= 2, codes
    for code, raw in answers:
        if code == 429:
            assert "waiting" in assert_one_line_message(raw)
    ids = [json.loads(raw)["id"] for code, raw in answers if code == 202]
    for job_id in ids:
        for _ in range(2):
            code, raw = run(call("DELETE", f"verify/{job_id}"))
            assert code == 200 and json.loads(raw)["state"] == "cancelled", raw[:300]
    listed = json.loads(run(call("GET", "verify?path=slow.ipynb"))[1])["jobs"]
    assert {j["id"] for j in listed} == set(ids) and all(j["summary"] for j in listed)
    code, raw = run(call("GET", f"runs/jobs/{ids[0]}"))  # a verification is no run job
    assert code == 404 and assert_one_line_message(raw)
    assert checksum(slow) == checksum(slow)
    assert_clean_log(server_log, token_of(jp_serverapp))


def test_the_job_list_answers_summaries_and_the_job_its_full_result(
    run, call, server_log, jp_serverapp, jp_root_dir
):
    make_notebook(jp_root_dir, "out.ipynb", ["a = ''", "print(len(a))"])
    body = {"path": "out.ipynb", "parameters": {"a": "p" * 200_000}, "options": {"runs": 2}}
    code, raw = run(call("POST", "verify", json.dumps(body)))
    assert code == 202
    job_id = json.loads(raw)["id"]
    deadline = time.monotonic() + 180
    while True:
        code, raw = run(call("GET", f"verify/{job_id}"))
        full = json.loads(raw)
        if full["state"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, full["state"]
        run(asyncio.sleep(0.5))
    assert full["result"]["notebooks"][0]["cells"] and full["progress"]["cells"]
    code, listed_raw = run(call("GET", "verify?path=out.ipynb"))
    (summary,) = json.loads(listed_raw)["jobs"]
    assert summary["summary"] is True and summary["state"] == full["state"]
    assert "cells" not in summary["progress"] and "cells" not in summary["result"]["notebooks"][0]
    assert summary["result"]["notebooks"][0]["status"] == full["result"]["notebooks"][0]["status"]
    assert len(raw) > 200_000 and len(listed_raw) < 20_000, (len(raw), len(listed_raw))
    assert_clean_log(server_log, token_of(jp_serverapp))


def test_what_finished_jobs_keep_is_bounded(tmp_path, monkeypatch):
    from nbrepro.jobs import manager as manager_module
    from nbrepro.jobs.job import SUCCEEDED, Job
    from nbrepro.jobs.retention import json_size

    monkeypatch.setattr(manager_module, "RETAINED_BUDGET", 3 << 20)
    monkeypatch.setattr(manager_module, "MAX_RESULT_BYTES", 2 << 20)
    jobs = manager_module.JobManager()
    for i in range(6):
        job = Job(id=f"j{i}", notebook=tmp_path / "nb.ipynb", parameters={"p": "v" * 200_000},
                  options={}, command=[], events_path=tmp_path / "e", code_cells=1,
                  state=SUCCEEDED)  # fmt: skip
        job.result = {"notebooks": [{"status": "reproduced", "cells": [
            {"index": 0, "id": "c", "status": "ok", "diff": "d" * (3 << 20)}]}]}  # fmt: skip
        jobs._jobs[job.id] = job
        jobs._ended(job)
        assert json_size(job.result) <= 2 << 20
    kept = sum(j.retained for j in jobs._jobs.values())
    assert kept <= 3 << 20
    newest = jobs._jobs["j5"]
    assert newest.result["notebooks"][0]["cells"][0]["status"] == "ok"
    assert jobs._jobs["j0"].to_dict()["result_trimmed"] is True


# -- a server killed mid-job -------------------------------------------------------------------


def _clean(log: str, token: str) -> None:
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]
    # The server's own start-up banner shows its URL with the token; nothing else may.
    rest = [line for line in log.splitlines() if "?token=" not in line]
    assert not [line for line in rest if token in line]


@pytest.mark.parametrize("moment", ["just-queued", "running", "queued-behind-a-running-job"])
def test_a_server_killed_mid_job_reports_the_job_interrupted(tmp_path, moment):
    from tests.hostile.server_faults import ServerProcess, processes_mentioning

    root = tmp_path / "root"
    make_notebook(root, "slow.ipynb", ["import time", "time.sleep(120)"])
    before = checksum(root / "slow.ipynb")
    journal = tmp_path / "journal" / "journal.sqlite3"
    first = ServerProcess(root, journal, tmp_path / "first.log", max_jobs=1)
    ids: list[str] = []
    try:
        code, job = first.request("POST", "/nbrepro/api/verify", {"path": "slow.ipynb"})
        assert code == 202
        ids.append(job["id"])
        if moment != "just-queued":
            deadline = time.monotonic() + 60
            while first.request("GET", f"/nbrepro/api/verify/{ids[0]}")[1]["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            time.sleep(1.0)  # the worker is up and running the notebook
        if moment == "queued-behind-a-running-job":
            code, job = first.request("POST", "/nbrepro/api/verify", {"path": "slow.ipynb"})
            assert code == 202 and job["state"] == "queued"
            ids.append(job["id"])
    finally:
        first.kill9()
    deadline = time.monotonic() + 20
    while any(processes_mentioning(job_id) for job_id in ids):
        assert time.monotonic() < deadline, "a job's worker outlived its server"
        time.sleep(0.2)
    second = ServerProcess(root, journal, tmp_path / "second.log", max_jobs=1)
    try:
        code, doc = second.request("GET", "/nbrepro/api/verify?path=slow.ipynb")
        assert code == 200
        by_id = {j["id"]: j for j in doc["jobs"]}
        for job_id in ids:
            answer = by_id[job_id]
            assert answer["state"] == "interrupted", answer
            assert "\n" not in answer["message"] and "interrupted" in answer["message"]
            code, single = second.request("GET", f"/nbrepro/api/verify/{job_id}")
            assert code == 200 and single["state"] == "interrupted"
            code, cancelled = second.request("DELETE", f"/nbrepro/api/verify/{job_id}")
            assert code == 200 and cancelled["state"] == "interrupted"
        if moment == "queued-behind-a-running-job":
            assert "while it was running" in by_id[ids[0]]["message"]
            assert "before it started" in by_id[ids[1]]["message"]
    finally:
        second.stop()
    assert checksum(root / "slow.ipynb") == before
    _clean(first.log(), first.token)
    _clean(second.log(), second.token)
