"""The journal store and the job request checks, without a server."""

from __future__ import annotations

import sqlite3
import time

import pytest

from nbrepro.errors import InputError, PathOutsideRoot
from nbrepro.journal import JournalStore, execution_order
from nbrepro.server.paths import resolve_in_root


def record(store: JournalStore, lineage: str, *cells: str) -> None:
    for n, cell in enumerate(cells, 1):
        store.record_execution(
            lineage, cell_id=cell, execution_count=n, source_hash=f"sha256:{cell}", status="ok"
        )


def test_journal_is_kept_when_the_store_is_reopened(tmp_path):
    db = tmp_path / "j" / "journal.sqlite3"
    with JournalStore(db) as store:
        lineage = store.start_lineage(tmp_path / "a.ipynb", kernel_name="python3", recorder="relay")
        record(store, lineage.id, "c1", "c2")
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with JournalStore(db) as again:
        (kept,) = again.lineages(tmp_path / "a.ipynb")
        assert kept.id == lineage.id and kept.executions == 2
        assert [e.cell_id for e in again.executions(kept.id)] == ["c1", "c2"]


def test_rename_moves_notebooks_and_folders_and_replaces_a_target(tmp_path):
    with JournalStore(tmp_path / "j.sqlite3") as store:
        store.start_lineage(tmp_path / "a.ipynb")
        store.start_lineage(tmp_path / "dir" / "b.ipynb")
        store.start_lineage(tmp_path / "dirty" / "c.ipynb")
        store.start_lineage(tmp_path / "new" / "b.ipynb")
        assert store.rename(tmp_path / "a.ipynb", tmp_path / "z.ipynb") == 1
        assert store.rename(tmp_path / "dir", tmp_path / "new") == 1
        assert store.notebooks() == sorted(
            str(p) for p in (tmp_path / "z.ipynb", tmp_path / "new" / "b.ipynb",
                             tmp_path / "dirty" / "c.ipynb")
        )  # fmt: skip
        assert len(store.lineages(tmp_path / "new" / "b.ipynb")) == 1


def test_oldest_lineages_are_dropped_beyond_the_limit(tmp_path):
    with JournalStore(tmp_path / "j.sqlite3", max_lineages=2) as store:
        ids = [store.start_lineage(tmp_path / "a.ipynb", reason="restart").id for _ in range(3)]
        assert [lin.id for lin in store.lineages(tmp_path / "a.ipynb")] == ids[1:]


def test_a_journal_from_a_newer_nbrepro_is_refused(tmp_path):
    db = tmp_path / "j.sqlite3"
    JournalStore(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='version'")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="newer nbrepro"):
        JournalStore(db)


def test_execution_order_separates_reruns_skips_and_unknown_cells(tmp_path):
    with JournalStore(tmp_path / "j.sqlite3") as store:
        lineage = store.start_lineage(tmp_path / "a.ipynb")
        record(store, lineage.id, "c0", "c2", "c2", "gone", "c3")
        report = execution_order(store.executions(lineage.id), ["c0", None, "c1", "c2", "c3"])
    assert report.in_order is True
    assert [r["cell_id"] for r in report.reruns] == ["c2"]
    assert report.skipped == [{"cell_id": "c1", "index": 2}]
    assert report.unknown == ["gone"]
    back = execution_order(store_like(["c3", "c0"]), ["c0", "c3"])
    assert back.in_order is False and back.out_of_order[0]["after_cell_id"] == "c3"


def store_like(cells: list[str]) -> list:
    from nbrepro.journal import Execution

    return [Execution(i, c, i, None, "ok", None, None, None, None) for i, c in enumerate(cells, 1)]


def test_paths_are_confined_to_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    assert resolve_in_root(root, "d/./n.ipynb") == ("d/n.ipynb", (root / "d" / "n.ipynb"))
    for bad in ("../x.ipynb", "/etc/passwd", "C:/x.ipynb", "d/../../x.ipynb"):
        with pytest.raises(PathOutsideRoot):
            resolve_in_root(root, bad)
    with pytest.raises(InputError):
        resolve_in_root(root, "")


def test_openapi_document_is_valid_and_covers_every_route():
    from pathlib import Path

    import yaml
    from openapi_spec_validator import validate

    from nbrepro.server.routes import ROUTES

    spec = yaml.safe_load((Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text())
    validate(spec)
    documented = set(spec["paths"])
    import re

    for route, _handler in ROUTES:
        # Every named group of a route is a path parameter: (?P<run_a>[^/]+) -> {run_a}.
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
        assert path in documented, path


def test_writes_never_wait_for_a_locked_journal_and_reads_see_them(tmp_path):
    from tests.hostile.server_faults import hold_lock

    db = tmp_path / "journal.sqlite3"
    with JournalStore(db) as store:
        store.start_lineage(tmp_path / "old.ipynb")
        assert store.flush(5)
        with hold_lock(db):
            t0 = time.perf_counter()
            lineage = store.start_lineage(tmp_path / "a.ipynb", reason="restart")
            record(store, lineage.id, "c1", "c2", "c3")
            store.rename(tmp_path / "old.ipynb", tmp_path / "new.ipynb")
            assert time.perf_counter() - t0 < 0.05
            (seen,) = store.lineages(tmp_path / "a.ipynb")
            assert seen.executions == 3 and seen.reason == "restart"
            assert [e.cell_id for e in store.executions(lineage.id)] == ["c1", "c2", "c3"]
            assert store.notebooks() == sorted([str(tmp_path / "a.ipynb"),
                                                str(tmp_path / "new.ipynb")])  # fmt: skip
            assert len(store.lineages(tmp_path / "new.ipynb")) == 1
            assert not store.flush(0.3) and store.waiting == 5
        assert store.flush(10) and store.problem is None
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM executions").fetchone()[0] == 3
    con.close()


@pytest.mark.parametrize("content", [b"not a database at all\n" * 10, b"SQLite format 3\x00xx"])
def test_a_corrupt_journal_is_moved_aside_and_a_new_one_started(tmp_path, content, caplog):
    db = tmp_path / "journal.sqlite3"
    db.write_bytes(content)
    with JournalStore(db) as store:
        store.start_lineage(tmp_path / "a.ipynb")
        assert store.flush(5)
        assert len(store.lineages(tmp_path / "a.ipynb")) == 1
    (aside,) = tmp_path.glob("journal.sqlite3.corrupt-*")
    assert aside.read_bytes() == content
    assert "moved aside" in caplog.text


def test_a_journal_that_cannot_be_opened_keeps_executions_in_memory(tmp_path):
    (tmp_path / "file").write_text("x")
    store = JournalStore(tmp_path / "file" / "journal.sqlite3")
    lineage = store.start_lineage(tmp_path / "a.ipynb")
    record(store, lineage.id, "c1")
    assert store.problem and "cannot" in store.problem
    assert store.lineages(tmp_path / "a.ipynb")[0].executions == 1
    store.close(0.2)


def test_a_full_queue_drops_writes_instead_of_growing(tmp_path):
    store = JournalStore.unavailable(tmp_path / "j.sqlite3", "testing")
    store2 = JournalStore(tmp_path / "k.sqlite3", max_pending=3, disabled="testing")
    for store_ in (store, store2):
        lineage = store_.start_lineage(tmp_path / "a.ipynb")
        record(store_, lineage.id, "c1", "c2", "c3", "c4")
    assert store2.waiting == 3 and store2.lineages(tmp_path / "a.ipynb")[0].executions == 2
    assert not (tmp_path / "j.sqlite3").exists()
    store.close(0.1)
    store2.close(0.1)


def test_the_jobs_ledger_reports_jobs_of_a_dead_server_as_interrupted(tmp_path):
    import json

    from nbrepro.jobs import JobLedger
    from nbrepro.jobs.ledger import process_identity

    ledger_path = tmp_path / "jobs.jsonl"
    dead = {"pid": 2**22 + 12345, "start": 1}
    lines = [
        {"v": 1, "event": "queued", "id": "running1", "kind": "verify", "path": "/n.ipynb",
         "code_cells": 2, "created": 1.0, "owner": dead},
        {"v": 1, "event": "started", "id": "running1", "t": 2.0},
        {"v": 1, "event": "queued", "id": "queued1", "kind": "run", "path": "/n.ipynb",
         "created": 3.0, "owner": dead},
        {"v": 1, "event": "queued", "id": "done1", "kind": "verify", "path": "/n.ipynb",
         "created": 4.0, "owner": dead},
        {"v": 1, "event": "final", "id": "done1", "state": "succeeded"},
        {"v": 1, "event": "queued", "id": "mine", "kind": "verify", "path": "/n.ipynb",
         "created": 5.0, "owner": process_identity()},
    ]  # fmt: skip
    ledger_path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"cut')
    found = {r["id"]: r for r in JobLedger(ledger_path).recover()}
    assert set(found) == {"running1", "queued1"}
    assert "while it was running" in found["running1"]["message"]
    assert "before it started" in found["queued1"]["message"]
    again = {r["id"] for r in JobLedger(ledger_path).recover()}  # kept for the next restart
    assert again == {"running1", "queued1"}
    assert "mine" in ledger_path.read_text()
