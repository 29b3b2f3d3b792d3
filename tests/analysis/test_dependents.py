"""The dataflow graph the panel's "depends on cell N, which changed" is built from."""

from __future__ import annotations

from typing import Any

from nbrepro.analysis.dependents import dependencies, dependents_of


def _nb(*sources: str, language: str = "python") -> dict[str, Any]:
    return {
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "source": s, "metadata": {}, "outputs": [],
             "execution_count": None}
            for i, s in enumerate(sources)
        ],
        "metadata": {"language_info": {"name": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip


def test_a_cell_depends_on_the_latest_cell_above_that_binds_what_it_reads() -> None:
    graph = dependencies(_nb("x = 1", "x = 2\ny = 3", "print(x + y)", "def f():\n    return y"))
    assert graph == {"c2": {"c1": ["x", "y"]}, "c3": {"c1": ["y"]}}


def test_a_name_defined_only_below_points_at_its_definer() -> None:
    assert dependencies(_nb("print(z)", "z = 1")) == {"c0": {"c1": ["z"]}}


def test_an_accumulating_cell_does_not_depend_on_itself() -> None:
    assert dependencies(_nb("n = 0", "n += 1")) == {"c1": {"c0": ["n"]}}


def test_dependents_are_transitive_and_name_the_changed_cell() -> None:
    graph = dependencies(_nb("a = 1", "b = a", "c = b", "d = 5", "e = d + c"))
    assert dependents_of(graph, ["c0"]) == {"c1": "c0", "c2": "c0", "c4": "c0"}
    assert dependents_of(graph, ["c3"]) == {"c4": "c3"}
    assert dependents_of(graph, []) == {}


def test_other_languages_have_no_graph() -> None:
    assert dependencies(_nb("x = 1", "x", language="R")) == {}
