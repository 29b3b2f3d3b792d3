"""The journal store and the job request checks, without a server."""

from __future__ import annotations

import sqlite3

import pytest

from nbrepro.errors import InputError, PathOutsideRoot
from nbrepro.jobs import validate_request, verify_command
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


def test_job_requests_are_checked_and_become_verify_flags(tmp_path):
    params, opts = validate_request({"alpha": 0.5}, {"timeout": 30, "ignore_stderr": True})
    cmd = verify_command("py", tmp_path / "n.ipynb", tmp_path / "e", params, opts)
    assert cmd[:8] == ["py", "-m", "nbrepro", "verify", "--format", "json", "--events",
                       str(tmp_path / "e")]  # fmt: skip
    assert cmd[8:] == ["-y", '{"alpha": 0.5}', "--timeout", "30", "--ignore-stderr",
                       str(tmp_path / "n.ipynb")]  # fmt: skip
    for bad in ({"runs": True}, {"ignore_stderr": 1}, {"timeout": -1}, {"kernel": " "}):
        with pytest.raises(InputError):
            validate_request({}, bad)


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
    for route, _handler in ROUTES:
        path = "/" + route.replace("(?P<job_id>[A-Za-z0-9_-]+)", "{job_id}").replace(
            "(?P<run_id>[^/]+)", "{run_id}"
        )
        assert path in documented, path
