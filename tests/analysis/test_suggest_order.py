"""suggest_order: the closest order to the author's that the dataflow allows, or why none."""

from __future__ import annotations

from nbrepro.analysis import suggest_order

from .conftest import notebook


def test_consistent_notebook_keeps_its_order():
    suggestion = suggest_order(notebook(["import os", "#md text", "p = os.sep", "print(p)"]))
    assert suggestion.order == [0, 1, 2, 3] and suggestion.moves == []
    assert not suggestion.changed and suggestion.reason is None


def test_provider_moves_up_with_its_markdown_and_the_rest_keeps_its_place():
    nb = notebook(
        [
            "import math",
            "area = math.pi * r ** 2",
            "print(area)",
            "#md ## radius",
            "r = 2.0",
            "done = True",
        ]
    )
    suggestion = suggest_order(nb)
    assert suggestion.order == [0, 3, 4, 1, 2, 5]
    [move] = suggestion.moves
    assert (move.cell_index, move.before_index, move.names) == (4, 1, ("r",))
    assert move.description == "move cell 5 above cell 2 (it defines `r`, used there)"
    assert suggestion.to_dict()["moves"][0]["cell_id"] == nb["cells"][4]["id"]


def test_leading_markdown_stays_on_top():
    suggestion = suggest_order(notebook(["#md # Title", "y = x", "x = 1"]))
    assert suggestion.order == [0, 2, 1]


def test_reader_stays_above_a_later_redefinition():
    # cell 2 reads x = 1 from cell 1; cell 4 redefines x and must stay below cell 2.
    nb = notebook(["x = 1", "print(x, y)", "y = 2", "x = 3"])
    assert suggest_order(nb).order == [0, 2, 1, 3]


def test_first_provider_below_that_does_not_need_the_name_itself():
    nb = notebook(["print(total)", "total += 1", "total = 0"])
    assert suggest_order(nb).order == [2, 0, 1]


def test_cycle_is_reported_with_the_names():
    suggestion = suggest_order(notebook(["import os", "a = b + 1", "b = a * 2"]))
    assert suggestion.order is None
    assert suggestion.reason is not None
    assert "cell 2 and cell 3 depend on each other" in suggestion.reason
    assert "`a`" in suggestion.reason and "`b`" in suggestion.reason


def test_names_no_cell_provides_do_not_block_an_order():
    suggestion = suggest_order(notebook(["print(undefined)", "y = x", "x = 1"]))
    assert suggestion.order == [0, 2, 1]


def test_non_python_notebook_has_no_suggestion():
    suggestion = suggest_order(notebook(["y <- x", "x <- 1"], language="R"))
    assert suggestion.order is None and "python" in (suggestion.reason or "").lower()


def test_empty_notebook():
    assert suggest_order(notebook([])).order == []
