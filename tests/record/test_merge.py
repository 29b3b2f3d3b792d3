"""Merging provenance into a notebook: only metadata.nbrepro, stable bytes, pruned cells."""

from __future__ import annotations

import copy
from typing import Any

from nbrepro.hashing import source_hash
from nbrepro.notebook_io import dumps_notebook
from nbrepro.provenance import get_provenance, merge_into_notebook
from tests.kernel_session import new_notebook


def _prov(session: str, cells: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    prov = {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "session": {"id": session, "started": "2024-01-01T00:00:00.000Z"},
        "environment": {
            "python": {"version": "3.11.7", "implementation": "CPython"},
            "platform": {"system": "Linux", "release": "6", "machine": "x86_64"},
            "kernel": {"name": None, "language": "python", "language_version": "3.11.7"},
            "packages": {},
            "packages_scope": "imported",
            "packages_digest": "sha256:00",
            "env_vars": {},
        },
        "inputs": {},
        "cells": cells,
        "executions": [],
        "deleted_cells": [],
    }
    prov.update(extra)
    return prov


def _entry(src: str, count: int, inputs: list[str] | None = None) -> dict[str, Any]:
    return {
        "execution_count": count,
        "source_hash": source_hash(src),
        "status": "ok",
        "error": None,
        "inputs": inputs or [],
        "outputs": [],
    }


def _nb() -> dict[str, Any]:
    nb = new_notebook(["a = 1", "#md text", "b = a + 1"])
    nb["metadata"]["jupytext"] = {"formats": "ipynb,py"}
    nb["metadata"]["nbrepro_settings"] = {"record": True}
    return nb


def test_merge_touches_only_nbrepro_metadata_and_not_the_input() -> None:
    nb = _nb()
    before = copy.deepcopy(nb)
    merged = merge_into_notebook(nb, _prov("s1", {"cell-0": _entry("a = 1", 1)}))
    assert nb == before
    without = copy.deepcopy(merged)
    del without["metadata"]["nbrepro"]
    assert without == before
    assert get_provenance(merged)["cells"]["cell-0"]["execution_count"] == 1


def test_merging_the_same_provenance_twice_is_byte_identical() -> None:
    prov = _prov(
        "s1",
        {"cell-2": _entry("b = a + 1", 2, ["z.csv", "a.csv"]), "cell-0": _entry("a = 1", 1)},
        inputs={"z.csv": {"hash": "sha256:01", "size": 1, "kind": "file", "produced": False}},
    )
    once = dumps_notebook(merge_into_notebook(_nb(), prov))
    twice = dumps_notebook(merge_into_notebook(merge_into_notebook(_nb(), prov), prov))
    assert once == twice


def test_entries_of_cells_no_longer_in_the_notebook_are_pruned() -> None:
    prov = _prov(
        "s1",
        {"cell-0": _entry("a = 1", 1), "gone": _entry("c = 3", 2)},
        deleted_cells=["gone", "cell-2"],
    )
    merged = get_provenance(merge_into_notebook(_nb(), prov))
    assert set(merged["cells"]) == {"cell-0"}
    # cell-2 is back in the notebook: it is not reported deleted any more
    assert merged["deleted_cells"] == ["gone"]


def test_derived_ids_move_onto_the_cell_with_the_same_source() -> None:
    prov = _prov("s1", {"src-0123456789abcdef": _entry("b = a + 1", 5)})
    merged = get_provenance(merge_into_notebook(_nb(), prov))
    assert list(merged["cells"]) == ["cell-2"]
    assert merged["cells"]["cell-2"]["execution_count"] == 5


def test_cells_not_rerun_in_a_new_session_keep_their_earlier_record() -> None:
    inputs = {"a.csv": {"hash": "sha256:01", "size": 1, "kind": "file", "produced": False}}
    first = merge_into_notebook(
        _nb(),
        _prov(
            "s1",
            {"cell-0": _entry("a = 1", 1), "cell-2": _entry("b = a + 1", 2, ["a.csv"])},
            inputs=inputs,
        ),
    )
    second = get_provenance(merge_into_notebook(first, _prov("s2", {"cell-0": _entry("a = 1", 1)})))
    assert second["session"]["id"] == "s2"
    assert "session" not in second["cells"]["cell-0"]
    assert second["cells"]["cell-2"]["session"] == "s1"
    assert second["inputs"] == inputs


def test_kernel_name_is_taken_from_the_notebook_when_the_kernel_did_not_say() -> None:
    merged = get_provenance(merge_into_notebook(_nb(), _prov("s1", {})))
    assert merged["environment"]["kernel"]["name"] == "python3"


def test_a_session_that_ran_nothing_keeps_the_recorded_provenance() -> None:
    recorded = merge_into_notebook(_nb(), _prov("s1", {"cell-0": _entry("a = 1", 1)}))
    after = merge_into_notebook(recorded, _prov("s2", {}))
    assert after == recorded
    fresh = get_provenance(merge_into_notebook(_nb(), _prov("s2", {})))
    assert fresh["session"]["id"] == "s2"
