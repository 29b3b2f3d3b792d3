"""The pieces behind native inputs, in this process: SQLite paths, recursive manifests, wrappers."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest

from nbrepro.record import audit, native
from nbrepro.record.databases import database_path, database_state
from nbrepro.record.drift import produced_in_directory
from nbrepro.record.hashing import HashCache, hash_directory


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        (":memory:", None),
        ("", None),
        ("file::memory:?cache=shared", None),
        ("file:mem1?mode=memory&cache=shared", None),
        ("file:/db?vfs=memdb", None),
        ("file://elsewhere.example/data.db", None),
        ("file:data/shop.db?mode=ro", "data/shop.db"),
        ("file:///srv/my%20data.db", "/srv/my data.db"),
        ("file://localhost/srv/a.db#frag", "/srv/a.db"),
        ("data/shop.db", "data/shop.db"),
        (b"data/shop.db", "data/shop.db"),
        (Path("data") / "shop.db", "data/shop.db"),
        (42, None),
    ],
)
def test_database_path_names_the_file_behind_a_connect_argument(
    database: object, expected: str | None
) -> None:
    assert database_path(database) == (None if expected is None else os.path.abspath(expected))


def test_database_state_ignores_an_empty_write_ahead_log(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    con = sqlite3.connect(db)
    con.execute("pragma journal_mode=wal")
    con.execute("create table t (x)")
    con.commit()
    reader = sqlite3.connect(db)
    before = database_state(str(db))
    reader.execute("select * from t").fetchall()
    assert database_state(str(db)) == before  # reading writes nothing
    con.execute("insert into t values (1)")
    con.commit()
    after = database_state(str(db))
    assert after != before and after[1] is not None  # the write went to the log
    reader.close()
    con.close()
    assert database_state(str(tmp_path / "absent.db")) == (None, None)


def test_recursive_manifest_sees_nested_files_a_flat_one_does_not(tmp_path: Path) -> None:
    part = tmp_path / "ds" / "year=2024" / "part-0.parquet"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"one")
    (tmp_path / "ds" / "top.txt").write_text("t")
    (tmp_path / "ds" / "loop").symlink_to(tmp_path / "ds")  # a cycle: not followed

    def digests() -> tuple[str | None, str | None]:
        flat = hash_directory(tmp_path / "ds", cache=HashCache())
        tree = hash_directory(tmp_path / "ds", cache=HashCache(), recursive=True)
        return flat.hash, tree.hash

    flat, tree = digests()
    assert hash_directory(tmp_path / "ds", cache=None, recursive=True).size == 4
    part.write_bytes(b"two")
    flat2, tree2 = digests()
    assert flat2 == flat
    assert tree2 != tree
    excluded = hash_directory(
        tmp_path / "ds", cache=None, recursive=True, exclude={"year=2024/part-0.parquet"}
    )
    part.write_bytes(b"three")
    assert (
        hash_directory(
            tmp_path / "ds", cache=None, recursive=True, exclude={"year=2024/part-0.parquet"}
        ).hash
        == excluded.hash
    )


def test_produced_files_below_a_directory_are_excluded_only_from_a_recursive_manifest() -> None:
    inputs = {
        "ds/a.parquet": {"produced": True},
        "ds/sub/b.parquet": {"produced": True},
        "ds/c.parquet": {"produced": False},
        "dsx/d.parquet": {"produced": True},
    }
    assert produced_in_directory("ds", inputs) == {"a.parquet"}
    assert produced_in_directory("ds", inputs, recursive=True) == {"a.parquet", "sub/b.parquet"}


@pytest.mark.parametrize(
    ("value", "paths"),
    [
        ("data/x.parquet", ["data/x.parquet"]),
        (Path("data/x.parquet"), ["data/x.parquet"]),
        (b"data/x.parquet", ["data/x.parquet"]),
        (["a.parquet", Path("b.parquet")], ["a.parquet", "b.parquet"]),
        ("file:///srv/my%20data", ["/srv/my data"]),
        ("s3://bucket/key.parquet", []),
        ("https://example.org/x.csv", []),
        (object(), []),
        ("", []),
    ],
)
def test_only_local_paths_are_noted(value: object, paths: list[str]) -> None:
    assert list(native._local_paths(value)) == paths


def test_wrappers_return_and_raise_exactly_what_the_originals_do(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = sys.modules["pyarrow"]
    target = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), target)
    original_init = pq.ParquetFile.__init__
    native.install()
    try:
        assert pq.ParquetFile.__init__ is not original_init
        assert isinstance(pq.ParquetFile(target), pq.ParquetFile)
        audit.start()
        try:
            table = pq.read_table(target)
            meta = pq.read_metadata(str(target), filesystem=None)
            with pytest.raises(FileNotFoundError) as raised:
                pq.read_table(tmp_path / "missing.parquet")
            pq.read_table(f"{target}", filesystem=pa.fs.LocalFileSystem())
            subtree = pa.fs.SubTreeFileSystem(str(tmp_path), pa.fs.LocalFileSystem())
            pq.read_table("t.parquet", filesystem=subtree)  # not noted: not a local filesystem
        finally:
            events = audit.stop()
    finally:
        native.uninstall()
    assert pq.ParquetFile.__init__ is original_init
    assert table.equals(pq.read_table(target))
    assert meta.num_rows == 2
    with pytest.raises(FileNotFoundError) as plain:
        pq.read_table(tmp_path / "missing.parquet")
    assert str(raised.value) == str(plain.value)
    paths = {(os.fspath(e[0]), e[1]) for e in events}
    assert paths == {
        (str(target), audit.NATIVE_READ),
        (str(tmp_path / "missing.parquet"), audit.NATIVE_READ),
    }


def test_a_tree_too_large_to_manifest_is_recorded_without_a_hash_and_checks_unverifiable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset reader pointed at ``/`` or a home folder must not make nbrepro hash the whole
    disk: past the entry budget the tree gets no hash, and its drift is "unverifiable", never
    "unchanged"."""
    from nbrepro.record import hashing
    from nbrepro.record.drift import check_input

    tree = tmp_path / "data"
    for i in range(6):
        (tree / f"part={i}").mkdir(parents=True)
        (tree / f"part={i}" / "chunk.parquet").write_bytes(bytes([i]) * 10)
    whole = hashing.hash_directory(tree, recursive=True, cache=None)
    assert whole.hash is not None
    monkeypatch.setattr(hashing, "MAX_TREE_ENTRIES", 8)
    too_large = hashing.hash_directory(tree, recursive=True, cache=None)
    assert (too_large.hash, too_large.kind) == (None, "directory")
    assert hashing.hash_directory(tree, recursive=False, cache=None).hash is not None
    entry = {"hash": None, "size": 0, "kind": "directory", "recursive": True}
    assert check_input("data", entry, tmp_path, cache=None).status == "unverifiable"
    monkeypatch.setattr(hashing, "MAX_TREE_ENTRIES", 10_000)
    entry = {"hash": whole.hash, "size": whole.size, "kind": "directory", "recursive": True}
    assert check_input("data", entry, tmp_path, cache=None).status == "unchanged"


def test_the_root_folder_as_a_tree_stays_on_its_filesystem_within_the_budget() -> None:
    """``/`` read as a tree: /proc, /sys and other mounts are not entered, and the walk stops
    at the budget (pytest-timeout stops a test that walks the disk)."""
    from nbrepro.record import hashing

    root = hashing.hash_directory("/", recursive=True, cache=None, size_cap=1)
    assert (root.hash, root.kind) == (None, "directory")  # this machine has > 20,000 files
