"""check_drift on recorded provenance: large files, redacted paths, notebooks without provenance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbrepro.provenance import merge_into_notebook
from nbrepro.record.drift import check_drift
from nbrepro.record.environment import snapshot
from nbrepro.record.hashing import hash_file
from tests.kernel_session import new_notebook


def _nb_with_inputs(inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    cells = {
        "cell-0": {
            "execution_count": 1,
            "source_hash": "sha256:00",
            "status": "ok",
            "error": None,
            "inputs": sorted(inputs),
            "outputs": [],
        }
    }
    prov = {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "session": {"id": "s", "started": "2024-01-01T00:00:00.000Z"},
        "environment": snapshot([]),
        "inputs": inputs,
        "cells": cells,
    }
    return merge_into_notebook(new_notebook(["read()"]), prov)


def _entry(path: Path, **over: Any) -> dict[str, Any]:
    fh = hash_file(path, cache=None, size_cap=over.pop("size_cap", None))
    entry = {"hash": fh.hash, "size": fh.size, "kind": fh.kind, "produced": False}
    if fh.kind == "large":
        entry["mtime_ns"] = fh.mtime_ns
    entry.update(over)
    return entry


def test_notebook_without_provenance_reports_nothing(tmp_path: Path) -> None:
    report = check_drift(new_notebook(["1"]), tmp_path)
    assert not report.has_provenance
    assert not report.has_drift
    assert report.to_dict() == {
        "has_provenance": False,
        "drift": False,
        "environment": None,
        "environment_unavailable": None,
        "inputs": [],
    }


def test_large_files_are_compared_by_size_and_mtime(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"0" * 100)
    nb = _nb_with_inputs({"big.bin": _entry(big, size_cap=10)})
    assert not check_drift(nb, tmp_path).has_drift
    st = big.stat()
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    report = check_drift(nb, tmp_path)
    assert [(i.path, i.status) for i in report.changed_inputs] == [("big.bin", "changed")]


def test_same_size_content_change_is_found_by_hash(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("a\n1\n")
    nb = _nb_with_inputs({"a.csv": _entry(f)})
    f.write_text("a\n2\n")
    item = check_drift(nb, tmp_path, cache=None).inputs[0]
    assert item.status == "changed"
    assert item.current_hash != item.recorded_hash


def test_redacted_and_produced_paths_are_not_drift(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("r\n")
    nb = _nb_with_inputs(
        {
            "data/<redacted>.csv": {
                "hash": "sha256:00",
                "size": 1,
                "kind": "file",
                "produced": False,
            },
            "out.csv": _entry(out, produced=True),
        }
    )
    out.write_text("rewritten\n")
    report = check_drift(nb, tmp_path)
    assert [(i.path, i.status) for i in report.inputs] == [("data/<redacted>.csv", "unverifiable")]
    assert not report.has_drift


def test_environment_drift_is_part_of_the_report(tmp_path: Path) -> None:
    nb = _nb_with_inputs({})
    current = snapshot([])
    current["python"] = {**current["python"], "version": "9.9.9"}
    report = check_drift(nb, tmp_path, current_env=current)
    assert report.has_drift
    assert report.to_dict()["environment"]["python"][0]["current"] == "9.9.9"
    assert any(line.startswith("environment: Python version") for line in report.summary_lines())
