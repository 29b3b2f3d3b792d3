"""nbval's comparison rules (``--nbval-compat``), each on the outputs it decides."""

from __future__ import annotations

from nbrepro.compare import CompareOptions, parse_sanitizers
from nbrepro.compare.nbval import compare_nbval, unrun_problem, uses_nbval_markers


def stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def data(mime: str, value: str, kind: str = "execute_result") -> dict:
    return {"output_type": kind, "data": {mime: value}, "metadata": {}}


def test_streams_of_one_name_are_merged_wherever_they_are():
    stored = [stream("stderr", "Bar!\n"), stream("stdout", "Combo!\n"), stream("stderr", "Foo!\n")]
    fresh = [stream("stdout", "Combo!\n"), stream("stderr", "Bar!\nFoo!\n")]
    assert compare_nbval(stored, fresh).equal


def test_stderr_is_compared_unless_ignored():
    stored, fresh = [stream("stderr", "seed 0.1\n")], [stream("stderr", "seed 0.2\n")]
    assert not compare_nbval(stored, fresh).equal
    assert compare_nbval(stored, fresh, CompareOptions(ignore_stderr=True)).equal


def test_latex_is_compared_and_images_are_not():
    assert not compare_nbval([data("text/latex", "$x_1$")], [data("text/latex", "$x_2$")]).equal
    stored = [data("image/png", "AAAA", "display_data")]
    assert compare_nbval(stored, [data("image/png", "BBBB", "display_data")]).equal


def test_no_built_in_normalisation_but_user_sanitizers_apply():
    stored = [stream("stdout", "Wall time: 1.97 ms\n")]
    fresh = [stream("stdout", "Wall time: 2.01 ms\n")]
    assert not compare_nbval(stored, fresh).equal
    sanitize = parse_sanitizers("regex: Wall time: .*\nreplace: Wall time: T\n")
    assert compare_nbval(stored, fresh, CompareOptions(sanitizers=sanitize)).equal


def test_output_type_and_tracebacks_are_not_compared_but_error_values_are():
    assert compare_nbval([data("text/plain", "1")], [data("text/plain", "1", "display_data")]).equal
    error = {"output_type": "error", "ename": "KeyError", "evalue": "'k'", "traceback": ["a"]}
    assert compare_nbval([error], [{**error, "traceback": ["b"]}]).equal
    assert not compare_nbval([error], [{**error, "ename": "RuntimeError"}]).equal


def test_missing_fields_and_carriage_returns():
    result = compare_nbval([stream("stdout", "a\n")], [])
    assert not result.equal and "missing output fields" in result.summary
    assert compare_nbval([stream("stdout", "100%\n")], [stream("stdout", "10%\r50%\r100%\n")]).equal


def test_a_stored_cell_that_never_ran_is_not_compared_unless_it_has_outputs():
    assert unrun_problem({"execution_count": 3, "outputs": []}) is None
    assert unrun_problem({"execution_count": None, "outputs": []}) == ""
    assert "has outputs" in str(unrun_problem({"execution_count": None, "outputs": [{}]}))


def test_nbval_markers_and_tags_switch_the_rules_on():
    def nb(source: str, tags: list[str] | None = None) -> dict:
        cell = {"cell_type": "code", "source": source, "metadata": {"tags": tags or []}}
        return {"cells": [cell]}

    assert uses_nbval_markers(nb("# NBVAL_IGNORE_OUTPUT\nprint(1)"))
    assert uses_nbval_markers(nb("x = 1", ["nbval-skip"]))
    assert not uses_nbval_markers(nb("x = 1  # NBVAL_SKIP in a trailing comment"))
    assert not uses_nbval_markers(nb("x = 1", ["raises-exception"]))
