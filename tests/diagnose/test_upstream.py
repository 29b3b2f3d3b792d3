"""A cell that fails only because a cell above failed is a consequence pointing at its root."""

from __future__ import annotations

import json

import jsonschema
import pytest
from benchmarks.diagnosis_scoring import load_labels, score_reports
from tests.diagnose.outcomes import Outcome

from nbrepro.cli import main
from nbrepro.diagnose import diagnose_notebook
from nbrepro.report.json_report import report_schema


def notebook(*sources: str) -> dict:
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
        for i, s in enumerate(sources)
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def name_error(index: int, name: str) -> Outcome:
    return Outcome(index, f"c{index}", "error", "", "NameError", f"name '{name}' is not defined")


MISSING = Outcome(
    0, "c0", "error", "", "FileNotFoundError", "[Errno 2] No such file or directory: 'a.csv'"
)


@pytest.mark.kernel
def test_verify_names_the_root_cell_and_does_not_count_its_consequences(corpus, capsys):
    path = corpus / "upstream_missing_file.ipynb"
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "  not reproducible: cell 2 opens data/um_sales.csv, which does not exist, which it read "
        "when the notebook ran (cells 3, 4 failed because of it)"
    )
    assert (
        "    cause: upstream-failed: fails because cell 2 (defines `rows`) failed; "
        in "\n".join(out)
    )
    assert main(["verify", str(path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, report_schema())
    cells = report["notebooks"][0]["cells"]
    # Index 3 lacks `total` from index 2, which lacked `rows` from index 1: the root is index 1.
    assert [c["id"] for c in cells[3]["causes"]] == ["upstream-failed"]
    kinds = [e["kind"] for e in cells[3]["evidence"]]
    assert kinds == ["error", "dataflow", "dataflow", "upstream"]
    assert cells[3]["evidence"][1]["details"]["defined_by"] == 2
    assert cells[3]["evidence"][2]["details"]["defined_by"] == 1
    assert cells[3]["evidence"][-1]["details"] == {
        "root_cell": 1,
        "root_cell_id": "cell-1",
        "root_cause": "missing-file",
    }
    # The changed input flows to cells[2] and cells[3] too, but they never got to use it.
    assert "input-changed" not in [c["id"] for c in cells[2]["causes"]]


def test_without_provenance_the_consequence_is_no_longer_unknown():
    nb = notebook("rows = open('a.csv').read()", "print(len(rows))", "print('fine')")
    result = diagnose_notebook(nb, [MISSING, name_error(1, "rows"), Outcome(2, "c2", "ok")])
    cell = result.cells[1]
    assert cell.cause_ids == ["upstream-failed"] and cell.root == 0
    assert cell.cause.evidence[1].details["name"] == "rows"
    assert result.summary == (
        "not reproducible: cell 1 opens a.csv, which does not exist (cell 2 failed because of it)"
    )


def test_no_upstream_claim_when_the_nearest_definer_ran():
    # Cell 2 binds `rows` and ran: whatever removed the name, it was not cell 1's failure.
    nb = notebook(
        "rows = open('a.csv').read()", "if flag:\n    rows = []", "flag = 1", "print(rows)"
    )
    outcomes = [MISSING, Outcome(1, "c1", "ok"), Outcome(2, "c2", "ok"), name_error(3, "rows")]
    cell = diagnose_notebook(nb, outcomes).cells[3]
    assert cell.cause_ids == ["unknown"] and cell.root is None
    assert any("defined above by cell 2, which ran" in line for line in cell.checked)


def test_a_failed_star_import_is_not_claimed_as_the_definer_nor_is_hidden_state():
    nb = notebook("from nowhere_mod import *", "print(helper(2))")
    outcomes = [
        Outcome(0, "c0", "error", "", "ModuleNotFoundError", "No module named 'nowhere_mod'"),
        name_error(1, "helper"),
    ]
    result = diagnose_notebook(nb, outcomes)
    cell = result.cells[1]
    assert cell.cause_ids == ["unknown"]
    assert any("may define `helper` (from nowhere_mod import *)" in x for x in cell.checked)
    assert result.summary.endswith("(and 1 more cell)")


def test_summary_counts_independent_failures_but_not_consequences():
    nb = notebook(
        "rows = open('a.csv').read()",
        "n = len(rows)",
        "print(n)",
        "import nbr_not_installed",
    )
    outcomes = [
        MISSING,
        name_error(1, "rows"),
        name_error(2, "n"),
        Outcome(3, "c3", "error", "", "ModuleNotFoundError", "No module named 'nbr_not_installed'"),
    ]
    result = diagnose_notebook(nb, outcomes)
    assert [result.cells[i].root for i in range(4)] == [None, 0, 0, None]
    assert "cell 2 (defines `n`) failed because cell 1 did" in result.cells[2].cause.summary
    assert result.summary == (
        "not reproducible: cell 1 opens a.csv, which does not exist "
        "(cells 2, 3 failed because of it; and 1 more cell)"
    )


def test_cells_that_never_ran_after_a_kernel_death_are_its_consequences():
    nb = notebook("print(1)", "import os\nos._exit(1)", "print(2)", "print(3)")
    outcomes = [
        Outcome(0, "c0", "ok"),
        Outcome(1, "c1", "kernel-died", run_statuses=["kernel-died"]),
        Outcome(2, "c2", "not-run", run_statuses=["not-run"]),
        Outcome(3, "c3", "not-run", run_statuses=["not-run"]),
    ]
    result = diagnose_notebook(nb, outcomes)
    assert result.summary == (
        "not reproducible: cell 2 killed the kernel (cells 3, 4 failed because of it)"
    )


def test_a_consequence_pointing_at_another_root_is_scored_wrong(corpus):
    labels = load_labels(corpus)
    labels = {"notebooks": {"u.ipynb": labels["notebooks"]["upstream_missing_file.ipynb"]}}
    evidence = [{"kind": "upstream", "message": "m", "details": {"root_cell_id": "cell-1"}}]
    cause = {"id": "upstream-failed", "summary": "s", "strength": 95, "evidence": evidence}
    cells = [
        {"id": "cell-1", "causes": [{**cause, "id": "missing-file"}]},
        {"id": "cell-2", "causes": [cause]},
        {"id": "cell-3", "causes": [cause]},
    ]
    assert score_reports(labels, [{"path": "u.ipynb", "cells": cells}]).accuracy == 1.0
    wrong = {**cause, "evidence": [{**evidence[0], "details": {"root_cell_id": "cell-2"}}]}
    cells[2] = {"id": "cell-3", "causes": [wrong]}
    score = score_reports(labels, [{"path": "u.ipynb", "cells": cells}])
    assert [c.correct for c in score.cells] == [True, True, False]
    assert score.per_cause()["upstream-failed"] == {"labelled": 2, "found": 1, "false": 0}
    assert "consequences pointing at the labelled root cell: 1 of 2" in score.table()
