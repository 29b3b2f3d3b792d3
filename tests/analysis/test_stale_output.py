"""NBR301 on provenance written as the shared contract describes it (schema version 1)."""

from __future__ import annotations

from nbrepro.analysis import analyze
from nbrepro.hashing import source_hash

from .conftest import notebook, with_counts


def recorded(nb, entries):
    """Attach provenance whose ``cells`` entries are ``{index: (count, source that ran)}``."""
    cells = {}
    for index, (count, source) in entries.items():
        cell = nb["cells"][index]
        cells[cell["id"]] = {
            "execution_count": count,
            "source_hash": source_hash(source),
            "status": "ok",
            "error": None,
            "inputs": [],
            "outputs": [],
        }
    nb["metadata"]["nbrepro"] = {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "session": {"id": "s", "started": "2024-01-01T00:00:00Z"},
        "cells": cells,
        "executions": [],
    }
    return nb


def stale(nb):
    return [f.cell_index for f in analyze(nb, select=["NBR301"])]


def test_source_changed_since_the_recorded_run_is_stale():
    nb = with_counts(notebook(["a = 1", "b = a * 2"]), [1, 2])
    recorded(nb, {0: (1, "a = 1"), 1: (2, "b = a + 2")})
    assert stale(nb) == [1]


def test_same_source_is_not_stale_even_with_other_line_endings():
    nb = with_counts(notebook(["a = 1\nb = 2"]), [1])
    recorded(nb, {0: (1, "a = 1\r\nb = 2")})
    assert stale(nb) == []


def test_no_provenance_no_finding():
    nb = with_counts(notebook(["a = 1"]), [1])
    assert stale(nb) == []


def test_cell_without_outputs_or_count_is_not_stale():
    nb = notebook(["a = 1"])
    recorded(nb, {0: (1, "a = 2")})
    assert stale(nb) == []


def test_outputs_from_another_execution_than_the_recorded_one_stay_silent():
    nb = with_counts(notebook(["a = 1"]), [5])
    recorded(nb, {0: (1, "a = 2")})
    assert stale(nb) == []


def test_unknown_keys_and_malformed_entries_are_tolerated():
    nb = with_counts(notebook(["a = 1", "b = 2"]), [1, 2])
    nb["metadata"]["nbrepro"] = {
        "future_key": {"x": 1},
        "cells": {nb["cells"][0]["id"]: "not a dict", nb["cells"][1]["id"]: {"source_hash": 3}},
        "executions": "not a list",
    }
    assert analyze(nb) == []
