"""``nbrepro runs reproduce`` diagnoses a cell that read an input changed since the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbrepro.notebook_io import write_notebook
from nbrepro.runs.manifest import input_readers
from tests.kernel_session import new_notebook

from .conftest import run_cli

#: A markdown cell, a parameters cell naming the data file, a reader, a user of what it read,
#: and a cell that touches no data.
SOURCES = [
    "#md # Rows of the training data",
    "path = 'data/train.csv'",
    "rows = open(path).read().splitlines()\nprint(len(rows))",
    "print(len(rows) * 2)",
    "print('fixed')",
]


def make_project(root: Path) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (root / "data").mkdir()
    for name in ("train.csv", "other.csv"):
        (root / "data" / name).write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    nb = new_notebook(SOURCES)
    nb["cells"][1]["metadata"]["tags"] = ["parameters"]
    write_notebook(nb, root / "nb.ipynb")


def run_id(proc) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return str(json.loads(proc.stdout)["runs"][0]["run_id"])


@pytest.mark.kernel
def test_reproduce_names_the_changed_input_as_the_cause(tmp_path: Path) -> None:
    make_project(tmp_path)
    base = run_id(run_cli("run", "nb.ipynb", "--format", "json", cwd=tmp_path))
    other = run_id(
        run_cli("run", "nb.ipynb", "-p", "path", "data/other.csv", "--format", "json", cwd=tmp_path)
    )
    with (tmp_path / "data" / "train.csv").open("a", encoding="utf-8") as fh:
        fh.write("5,6\n")

    proc = run_cli("runs", "reproduce", base, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "  input changed since the run: data/train.csv" in out
    assert "  not reproducible: cell 3 reads data/train.csv, which changed since it ran" in out
    assert (
        "  cell 3 (id cell-2) mismatch: stdout differs (1 line)\n"
        "    cause: input-changed: reads data/train.csv, which changed since it ran\n"
    ) in out
    assert (
        "    cause: input-changed: uses `rows` from cell 3, which reads data/train.csv, "
        "which changed since it ran"
    ) in out
    assert "unknown" not in out

    proc = run_cli("runs", "reproduce", base, "--format", "json", cwd=tmp_path)
    cells = {c["index"]: c for c in json.loads(proc.stdout)["report"]["cells"]}
    assert cells[2]["cause"] == "input-changed"
    evidence = cells[2]["evidence"][0]
    assert evidence["kind"] == "input" and evidence["details"]["path"] == "data/train.csv"
    assert evidence["details"]["status"] == "changed"
    assert [e["kind"] for e in cells[3]["evidence"]] == ["dataflow", "input"]
    assert cells[4]["status"] == "ok" and cells[4]["cause"] is None

    # The run given another file by a parameter read that one, which did not change.
    assert run_cli("runs", "reproduce", other, cwd=tmp_path).returncode == 0
    (tmp_path / "data" / "other.csv").unlink()
    proc = run_cli("runs", "reproduce", other, cwd=tmp_path)
    assert proc.returncode == 1
    assert "  input changed since the run: data/other.csv (missing)" in proc.stdout
    # Cell 4 of the executed notebook: the injected parameters cell follows the parameters cell.
    assert "  cell 4 (id cell-2) error: FileNotFoundError" in proc.stdout
    assert "cell 4 opens data/other.csv, which does not exist, which it read" in proc.stdout


def test_input_readers_follow_literals_parameters_and_recorded_reads(tmp_path: Path) -> None:
    nb = new_notebook(
        [
            "#md # Inputs",
            "path = 'data/a.csv'\nlimit = 3",
            "rows = open(path).read()",
            "with open('data/b.csv') as fh:\n    more = fh.read()",
            "def load():\n    return open(extra).read()",
            "print(len(rows))",
            "%time x = 1",
        ]
    )
    nb["cells"][1]["metadata"]["tags"] = ["parameters"]
    nb["metadata"]["nbrepro"] = {"cells": {"cell-5": {"inputs": ["./data/c.csv"]}}}
    readers = input_readers(nb, tmp_path, {"extra": "data/d.csv", "limit": 4})
    assert readers["data/a.csv"] == ["cell-2"]
    assert readers["data/b.csv"] == ["cell-3"]
    assert readers["data/c.csv"] == ["cell-5"]
    assert readers["data/d.csv"] == ["cell-4"]
    assert not any("cell-1" in ids for ids in readers.values())
