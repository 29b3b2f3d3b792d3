"""Execution-order rules (NBR1xx) on hand-built counts: edge cases the kernel tests do not hit."""

from __future__ import annotations

from nbrepro.analysis import analyze

from .conftest import notebook, with_counts

ORDER = ["NBR1"]


def found(counts, sources=None, **kwargs):
    sources = sources or [f"v{i} = {i}" for i in range(len(counts))]
    nb = with_counts(notebook(sources), counts)
    return [(f.rule, f.cell_index) for f in analyze(nb, select=ORDER, **kwargs)]


def test_increasing_consecutive_counts_are_clean():
    assert found([1, 2, 3, 4]) == []


def test_one_cell_run_late_flags_only_that_cell():
    assert found([1, 2, 10, 3, 4, 5], ignore=["NBR104"]) == [("NBR101", 2)]


def test_cell_run_early_names_the_cell_above():
    nb = with_counts(notebook(["a = 1", "b = 2", "c = 3"]), [2, 3, 1])
    [finding] = analyze(nb, select=["NBR101"])
    assert finding.cell_index == 2 and finding.related_cells == (1,)
    assert "before cell 2 above it (In [3])" in finding.message
    assert finding.line is None and finding.column is None


def test_equal_counts_are_out_of_order():
    assert [rule for rule, _ in found([1, 1])] == ["NBR101"]


def test_of_two_cells_run_bottom_first_the_one_run_last_is_flagged():
    assert found([2, 1]) == [("NBR101", 0)]
    assert found([1, 4, 3], ignore=["NBR104"]) == [("NBR101", 1)]


def test_unexecuted_notebook_has_no_order_findings():
    assert found([None, None, None]) == []


def test_never_executed_cell_among_executed_ones():
    assert found([1, None, 2]) == [("NBR102", 1)]


def test_empty_comment_only_and_skipped_cells_need_not_run():
    nb = with_counts(
        notebook(["a = 1", "", "# just a note\n\n", "b = 2", "c = 3"]), [1, None, None, None, 2]
    )
    nb["cells"][3]["metadata"]["tags"] = ["skip-execution"]
    assert analyze(nb, select=["NBR102"]) == []


def test_outputs_without_an_execution_count():
    nb = with_counts(notebook(["print(1)", "print(2)"]), [1, None])
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "2\n"}]
    assert [(f.rule, f.cell_index) for f in analyze(nb, select=ORDER)] == [("NBR103", 1)]


def test_gap_in_the_counter():
    assert found([1, 2, 5]) == [("NBR104", 2)]
    assert found([3, 4]) == [("NBR104", 0)]  # In [1] and In [2] are not in the notebook


def test_gap_message_names_the_missing_executions():
    nb = with_counts(notebook(["a = 1", "b = 2"]), [1, 4])
    [gap] = analyze(nb, select=["NBR104"])
    assert "In [2] to In [3]" in gap.message and gap.related_cells == (0,)
    assert gap.severity == "info"


def test_gap_sharpened_by_recorded_history():
    nb = with_counts(notebook(["a = 1", "b = 2"]), [1, 4])
    first, second = (c["id"] for c in nb["cells"])
    nb["metadata"]["nbrepro"] = {
        "schema_version": 1,
        "executions": [
            {"cell_id": "old-session", "execution_count": 7},  # before a restart: ignored
            {"cell_id": first, "execution_count": 1},
            {"cell_id": second, "execution_count": 2},
            {"cell_id": "gone", "execution_count": 3},
            {"cell_id": second, "execution_count": 4},
        ],
    }
    [gap] = analyze(nb, select=["NBR104"])
    assert "In [2] was cell 2, run again later" in gap.message
    assert "In [3] was a cell deleted since" in gap.message


def test_incomplete_history_adds_nothing():
    nb = with_counts(notebook(["a = 1", "b = 2"]), [1, 4])
    nb["metadata"]["nbrepro"] = {"executions": [{"cell_id": "x", "execution_count": 3}]}
    [gap] = analyze(nb, select=["NBR104"])
    assert "recorded provenance" not in gap.message


def test_non_python_notebook_gets_only_order_rules():
    nb = with_counts(notebook(["y <- x + 1", "x <- 1"], language="R"), [2, 1])
    assert [(f.rule, f.cell_index) for f in analyze(nb)] == [("NBR101", 0)]


def test_invalid_counts_are_treated_as_missing():
    nb = with_counts(notebook(["a = 1", "b = 2"]), [1, 2])
    nb["cells"][1]["execution_count"] = "2"
    assert [(f.rule, f.cell_index) for f in analyze(nb, select=ORDER)] == [("NBR103", 1)]


def test_repeated_counts_say_the_kernel_restarted_rather_than_an_impossible_order():
    # Run all, restart, run only the last two cells: counts 1, 2, 1, 2.
    nb = with_counts(notebook(["a = 1", "b = 2", "c = 3", "d = 4"]), [1, 2, 1, 2])
    findings = analyze(nb, select=["NBR101"])
    assert [(f.cell_index, f.related_cells) for f in findings] == [(0, (2,)), (1, (3,))]
    assert findings[0].message.startswith(
        "cell 1 and cell 3 below it both show In [1]: the kernel restarted between their runs"
    )
    assert all("after" not in f.message for f in findings)
