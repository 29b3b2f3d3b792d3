"""Inputs opened in native code, recorded in real kernels: parquet (pandas, pyarrow) and SQLite."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from nbrepro.notebook_io import read_notebook
from nbrepro.provenance import validation_errors
from nbrepro.record.drift import check_drift

from .conftest import kernel_provenance, stdout_of, user_expression

pytestmark = pytest.mark.kernel
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow.parquet")


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _drifted(nb_path: Path, project: Path) -> dict[str, list[str]]:
    report = check_drift(read_notebook(nb_path), project)
    return {i.path: [c.id for c in i.cells] for i in report.changed_inputs}


@pytest.fixture
def parquet_data(project: Path) -> Path:
    """``data/sales.parquet`` and a hive-partitioned folder ``data/events/year=…/…``."""
    frame = pd.DataFrame({"year": [2023, 2023, 2024], "amount": [1.5, 2.5, 4.0]})
    frame.to_parquet(project / "data" / "sales.parquet")
    frame.to_parquet(project / "data" / "events", partition_cols=["year"])
    return project


def test_parquet_files_and_partitioned_folders_are_hashed_and_changes_detected(
    parquet_data: Path, recording_kernel
) -> None:
    project = parquet_data
    s = recording_kernel(
        [
            "import pandas as pd\nsales = pd.read_parquet('data/sales.parquet')",
            "events = pd.read_parquet('data/events')",
            "import pyarrow.dataset as ds\nrows = ds.dataset('data/events').count_rows()",
            "import pyarrow.parquet as pq\n"
            "n = pq.ParquetFile('data/sales.parquet').metadata.num_rows",
            "csv = pd.read_csv('data/train.csv', engine='pyarrow')",
        ]
    )
    s.run_order(range(5))
    assert user_expression(s, "(len(sales), len(events), rows, n, len(csv))") == (3, 3, 3, 3, 2)
    prov = kernel_provenance(s)
    assert validation_errors(prov) == []
    sales = project / "data" / "sales.parquet"
    assert prov["inputs"]["data/sales.parquet"] == {
        "hash": _sha(sales),
        "size": sales.stat().st_size,
        "kind": "file",
        "produced": False,
    }
    events = prov["inputs"]["data/events"]
    assert (events["kind"], events["recursive"], events["produced"]) == ("directory", True, False)
    assert events["size"] == sum(p.stat().st_size for p in (project / "data/events").rglob("*.*"))
    assert [prov["cells"][f"cell-{i}"]["inputs"] for i in range(5)] == [
        ["data/sales.parquet"],
        ["data/events"],
        ["data/events"],
        ["data/sales.parquet"],
        ["data/train.csv"],
    ]

    nb_path = s.save(project / "p.ipynb")
    _, out = s.execute_code("%nbrepro save p.ipynb")
    assert "provenance saved to" in stdout_of(out)
    assert _drifted(nb_path, project) == {}
    # A change two levels down, inside one partition, changes the folder's manifest.
    (part,) = (project / "data" / "events" / "year=2024").iterdir()
    pd.DataFrame({"amount": [5.0]}).to_parquet(part)
    assert _drifted(nb_path, project) == {"data/events": ["cell-1", "cell-2"]}
    pd.DataFrame({"year": [2030], "amount": [0.0]}).to_parquet(sales)
    assert _drifted(nb_path, project) == {
        "data/events": ["cell-1", "cell-2"],
        "data/sales.parquet": ["cell-0", "cell-3"],
    }


def test_parquet_the_notebook_writes_then_reads_is_produced(
    project: Path, recording_kernel
) -> None:
    s = recording_kernel(
        [
            "import pandas as pd\nframe = pd.DataFrame({'k': [1, 1, 2], 'v': [1, 2, 3]})\n"
            "frame.to_parquet('out.parquet')\nframe.to_parquet('parts', partition_cols=['k'])",
            "back = pd.read_parquet('out.parquet')\nagain = pd.read_parquet('parts/k=1')",
            "import pyarrow as pa, pyarrow.parquet as pq\n"
            "pq.write_table(pa.table({'x': [1]}), 'direct.parquet')",
            "direct = pq.read_table('direct.parquet').num_rows + len(pd.read_parquet('parts'))",
        ]
    )
    s.run_order(range(4))
    assert user_expression(s, "direct") == 4
    prov = kernel_provenance(s)
    assert validation_errors(prov) == []
    inputs = prov["inputs"]
    assert {p: (e["kind"], e["produced"]) for p, e in inputs.items()} == {
        "out.parquet": ("file", True),
        "parts": ("directory", True),
        "parts/k=1": ("directory", True),
        "direct.parquet": ("file", True),
    }
    assert inputs["out.parquet"]["hash"] == _sha(project / "out.parquet")
    assert prov["cells"]["cell-0"]["outputs"] == ["out.parquet", "parts"]
    assert prov["cells"]["cell-1"]["inputs"] == ["out.parquet", "parts/k=1"]
    assert prov["cells"]["cell-2"]["outputs"] == ["direct.parquet"]
    assert prov["cells"]["cell-3"]["inputs"] == ["direct.parquet", "parts"]
    nb_path = s.save(project / "w.ipynb")
    s.execute_code("%nbrepro save w.ipynb")
    (project / "out.parquet").write_bytes(b"rewritten by a rerun")
    assert _drifted(nb_path, project) == {}


def _make_db(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as con:
        con.execute("create table items (name text, qty int)")
        con.executemany("insert into items values (?, ?)", [(f"i{i}", i) for i in range(rows)])
    con.close()


def test_sqlite_databases_read_are_inputs_and_written_ones_produced(
    project: Path, recording_kernel
) -> None:
    shop, cache = project / "data" / "shop.db", project / "data" / "cache.db"
    _make_db(shop, 3)
    _make_db(cache, 1)
    s = recording_kernel(
        [
            "import sqlite3\ncon = sqlite3.connect('data/shop.db')\n"
            "cache = sqlite3.connect('data/cache.db')\n"
            "count = con.execute('select count(*) from items').fetchone()[0]",
            "mem = sqlite3.connect(':memory:')\nmem.execute('create table t (x)')\n"
            "ro = sqlite3.connect('file:data/shop.db?mode=ro', uri=True)\n"
            "total = ro.execute('select sum(qty) from items').fetchone()[0]",
            "out = sqlite3.connect('results.db')\nout.execute('create table r (x)')\nout.commit()",
            "cache.execute(\"insert into items values ('new', 7)\")\ncache.commit()",
            "count_now = con.execute('select count(*) from items').fetchone()[0]",
        ]
    )
    recorded_shop = _sha(shop)
    s.run_order(range(4))
    # Another process changes shop.db between cells: not a write of the notebook's.
    with sqlite3.connect(shop) as other:
        other.execute("insert into items values ('external', 1)")
    other.close()
    s.run_cell(4)
    assert user_expression(s, "(count, total, count_now)") == (3, 3, 4)
    prov = kernel_provenance(s)
    assert validation_errors(prov) == []
    inputs = prov["inputs"]
    assert sorted(inputs) == ["data/cache.db", "data/shop.db", "results.db"]
    assert inputs["data/shop.db"] == {
        "hash": recorded_shop,
        "size": shop.stat().st_size,
        "kind": "file",
        "produced": False,
    }
    assert inputs["data/cache.db"]["produced"] is True
    assert inputs["data/cache.db"]["hash"] == _sha(cache)
    assert inputs["results.db"]["produced"] is True
    cells = prov["cells"]
    assert cells["cell-0"]["inputs"] == ["data/cache.db", "data/shop.db"]
    assert cells["cell-0"]["outputs"] == []
    assert cells["cell-1"]["inputs"] == ["data/shop.db"]
    assert cells["cell-2"]["outputs"] == ["results.db"]
    assert cells["cell-3"] == {**cells["cell-3"], "inputs": [], "outputs": ["data/cache.db"]}
    assert cells["cell-4"]["outputs"] == []

    nb_path = s.save(project / "db.ipynb")
    s.execute_code("%nbrepro save db.ipynb")
    # shop.db changed after it was recorded (by the other process): that is drift.
    assert _drifted(nb_path, project) == {"data/shop.db": ["cell-0", "cell-1"]}


def test_native_recording_survives_its_own_failures_and_unloads_cleanly(
    parquet_data: Path, recording_kernel
) -> None:
    wrapped = (
        "[hasattr(f, '__nbrepro_original__') for f in (pq.ParquetDataset.__init__, "
        "pq.ParquetFile.__init__, pq.read_metadata, __import__('pyarrow.csv').csv.read_csv)] + "
        "[any(type(f).__name__ == '_ImportWatcher' for f in __import__('sys').meta_path)]"
    )
    s = recording_kernel(
        [
            "x = 1",
            "import pyarrow.parquet as pq\n"
            "try:\n    pq.read_table('missing.parquet')\nexcept Exception as e:\n"
            "    err = (type(e), str(e))",
            "n = pq.read_table('data/sales.parquet').num_rows",
            "m = pq.read_metadata('data/sales.parquet').num_rows",
            "err2 = None\ntry:\n    pq.read_table('missing.parquet')\nexcept Exception as e:\n"
            "    err2 = (type(e), str(e))",
        ]
    )
    s.run_cell(0)
    # nbrepro itself imports neither pyarrow nor pandas.
    assert user_expression(
        s, "[m in __import__('sys').modules for m in ('pyarrow', 'pandas')]"
    ) == [
        False,
        False,
    ]
    s.run_cell(1)
    assert user_expression(s, wrapped) == [True] * 5
    # Break the noting of paths from inside: the read still works, the failure is counted.
    s.execute_code(
        "import nbrepro.record.native as _n\n_n._saved = _n._local_paths\n"
        "_n._local_paths = lambda value: 1 / 0",
        silent=True,
        store_history=False,
    )
    assert s.run_cell(2)["status"] == "ok"
    assert s.nb["cells"][2]["outputs"] == []
    s.execute_code("_n._local_paths = _n._saved", silent=True, store_history=False)
    _, out = s.execute_code("%nbrepro status --text")
    assert "recorder errors: 1" in stdout_of(out)
    assert "ZeroDivisionError" in stdout_of(out)

    s.execute_code("%unload_ext nbrepro")
    assert user_expression(s, wrapped) == [False] * 5
    s.run_cell(3)
    s.run_cell(4)
    assert user_expression(s, "err == err2 and err[0] is FileNotFoundError")
    assert user_expression(s, "(n, m)") == (3, 3)
    prov = kernel_provenance(s)
    assert "data/sales.parquet" not in prov["inputs"]
    assert sorted(prov["cells"]) == ["cell-0", "cell-1", "cell-2"]

    # Loaded again after pyarrow was imported: the loaded modules are wrapped at once.
    s.execute_code("%load_ext nbrepro")
    assert user_expression(s, wrapped) == [True] * 5
    s.run_cell(3)
    prov = kernel_provenance(s)
    assert prov["cells"]["cell-3"]["inputs"] == ["data/sales.parquet"]
