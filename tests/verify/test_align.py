"""Pairing executed cells with their baseline counterparts (stored outputs or --against)."""

from __future__ import annotations

from typing import Any

from nbrepro.verify import align_cells


def notebook(*ids: str | None, injected: int | None = None) -> dict[str, Any]:
    cells = []
    for number, cid in enumerate(ids):
        cell: dict[str, Any] = {"cell_type": "code", "metadata": {}, "source": f"{number}"}
        if cid is not None:
            cell["id"] = cid
        if number == injected:
            cell["metadata"]["tags"] = ["injected-parameters"]
        cells.append(cell)
    return {"cells": cells}


def sources(pairs: dict[int, dict[str, Any]]) -> dict[int, str]:
    return {index: cell["source"] for index, cell in pairs.items()}


def test_cells_pair_by_id_when_both_sides_have_the_same_unique_ids():
    assert sources(align_cells(notebook("a", "b", "c"), notebook("c", "a", "b"))) == {
        0: "2",
        1: "0",
        2: "1",
    }


def test_duplicate_ids_pair_by_position():
    same = notebook("dup", "dup")
    assert sources(align_cells(same, same)) == {0: "0", 1: "1"}


def test_other_ids_or_missing_ids_pair_by_position():
    assert sources(align_cells(notebook("a", "b"), notebook("x", "y"))) == {0: "0", 1: "1"}
    assert sources(align_cells(notebook(None, None), notebook("a", "b"))) == {0: "0", 1: "1"}


def test_injected_parameters_pair_only_with_injected_parameters():
    by_papermill = notebook("p", "pm-random-id", "a", injected=1)
    ours = notebook("p", "injected-parameters", "a", injected=1)
    assert sources(align_cells(by_papermill, ours)) == {0: "0", 1: "1", 2: "2"}
    assert sources(align_cells(notebook("p", "a"), ours)) == {0: "0", 2: "1"}
