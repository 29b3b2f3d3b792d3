"""compare_outputs: alignment, errors, HTML, JSON, summaries and readable diffs."""

from __future__ import annotations

import copy

import pytest

from nbrepro.compare import CompareOptions, OutputComparison, compare_outputs
from nbrepro.compare.comparison import MAX_DIFF_LINES

DEFAULT = CompareOptions()


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def _result(data, kind="execute_result"):
    out = {"output_type": kind, "data": data, "metadata": {}}
    if kind == "execute_result":
        out["execution_count"] = 1
    return out


def test_identical_outputs_match():
    outputs = [_stream("a\n"), _result({"text/plain": "1"})]
    result = compare_outputs(outputs, copy.deepcopy(outputs), DEFAULT)
    assert result == OutputComparison(True, "outputs match", "", [])


def test_text_diff_names_expected_and_actual_lines():
    expected = [_stream("epoch 1\naccuracy 0.91\nloss 0.30\ndone\n")]
    actual = [_stream("epoch 1\naccuracy 0.87\nloss 0.30\ndone\nextra line\n")]
    result = compare_outputs(expected, actual, DEFAULT)
    assert not result.equal
    assert result.summary == "stdout differs (2 lines)"
    lines = result.diff.splitlines()
    assert lines[:2] == ["--- expected: stdout", "+++ actual: stdout"]
    assert "-accuracy 0.91" in lines and "+accuracy 0.87" in lines
    assert "+extra line" in lines
    assert " epoch 1" in lines  # context is shown
    assert result.details == ["stdout differs (2 lines)"]


def test_lines_within_tolerance_are_not_shown_as_changed():
    expected = [_stream("a 1.000\nb 2.000\nc\n")]
    actual = [_stream("a 1.001\nb 2.5\nc\n")]
    result = compare_outputs(expected, actual, CompareOptions(rtol=0.01))
    assert result.summary == "stdout differs (1 line)"
    assert "-a 1.000" not in result.diff and "+a 1.001" not in result.diff
    assert "-b 2.000" in result.diff and "+b 2.5" in result.diff


def test_missing_final_newline_is_shown_visibly():
    result = compare_outputs([_stream("x\n")], [_stream("x")], DEFAULT)
    assert not result.equal
    assert "-'x\\n'" in result.diff and "+'x'" in result.diff


def test_missing_output_is_one_difference_not_a_shift():
    expected = [_stream("hello\n"), _result({"text/plain": "42"})]
    actual = [_result({"text/plain": "42"})]
    result = compare_outputs(expected, actual, DEFAULT)
    assert result.summary == "missing output 0 (stream stdout)"
    assert result.details == ["missing output 0 (stream stdout)"]
    assert "-hello" in result.diff.splitlines()
    assert "+++ actual: (missing)" in result.diff


def test_extra_output_is_reported_with_its_content():
    result = compare_outputs([], [_stream("surprise\n", "stderr")], DEFAULT)
    assert result.summary == "extra output 0 (stream stderr)"
    assert "+surprise" in result.diff.splitlines()


def test_stream_name_change_is_a_difference():
    result = compare_outputs([_stream("x\n")], [_stream("x\n", "stderr")], DEFAULT)
    assert not result.equal
    assert result.summary == "expected stream stdout, got stream stderr"


def test_display_data_and_execute_result_compare_alike():
    expected = [_result({"text/plain": "7"}, "execute_result")]
    assert compare_outputs(expected, [_result({"text/plain": "7"}, "display_data")]).equal


def test_missing_mime_type_is_a_difference_and_richest_is_summarised_first():
    expected = [_result({"text/plain": "df", "text/html": "<p>table</p>"})]
    result = compare_outputs(expected, [_result({"text/plain": "df"})], DEFAULT)
    assert result.summary == "text/html missing"
    assert "-table" in result.diff.splitlines()
    both = compare_outputs(
        [_result({"text/plain": "a", "text/html": "<p>a</p>"})],
        [_result({"text/plain": "b", "text/html": "<p>b</p>"})],
        DEFAULT,
    )
    assert (
        both.summary
        == "text/html differs: text content differs in 1 of 1 line (+1 more difference)"
    )
    assert both.details == [
        "text/html differs: text content differs in 1 of 1 line",
        "text/plain differs (1 line)",
    ]


def test_html_is_compared_by_visible_text(kernel_runs):
    first, second = kernel_runs["html"]
    assert compare_outputs(first, second, DEFAULT).equal
    html = first[0]["data"]["text/html"]
    restyled = copy.deepcopy(first)
    restyled[0]["data"]["text/html"] = html.replace("<table>", '<table class="x">').replace(
        "Date.now()", "0"
    )
    assert compare_outputs(first, restyled, DEFAULT).equal
    changed = copy.deepcopy(first)
    changed[0]["data"]["text/html"] = html.replace("1.5", "1.7")
    result = compare_outputs(first, changed, DEFAULT)
    assert result.summary == "text/html differs: text content differs in 1 of 2 lines"
    assert "-x 1.5" in result.diff.splitlines() and "+x 1.7" in result.diff.splitlines()
    assert compare_outputs(first, changed, CompareOptions(rtol=0.2)).equal


def test_error_name_and_value_are_compared(kernel_runs):
    first, second = kernel_runs["raises"]
    assert compare_outputs(first, second, DEFAULT).equal
    other = copy.deepcopy(first)
    other[0]["ename"], other[0]["evalue"] = "KeyError", "'k'"
    result = compare_outputs(first, other, DEFAULT)
    assert result.summary == "error differs: expected ValueError: boom, got KeyError: 'k'"
    assert "-ValueError: boom" in result.diff.splitlines()


def test_error_traceback_is_compared_after_normalisation(kernel_runs):
    first, _ = kernel_runs["traceback"]
    moved = copy.deepcopy(first)
    moved[0]["traceback"][2] = moved[0]["traceback"][2].replace("line 3", "line 4")
    result = compare_outputs(first, moved, DEFAULT)
    assert result.summary == "error traceback differs (1 line)"
    assert "-Cell In[_], line 3" in result.diff.splitlines()
    assert "+Cell In[_], line 4" in result.diff.splitlines()


def test_json_mime_types_compare_as_canonical_json():
    expected = [_result({"application/json": {"b": [1, 2], "a": 0.5}})]
    same = [_result({"application/json": {"a": 0.5, "b": [1, 2]}})]
    assert compare_outputs(expected, same, DEFAULT).equal
    close = [_result({"application/json": {"a": 0.5000001, "b": [1, 2]}})]
    assert compare_outputs(expected, close, CompareOptions(rtol=1e-5)).equal
    result = compare_outputs(expected, [_result({"application/json": {"a": 0.5, "b": [1]}})])
    assert result.summary == "application/json differs (2 lines)"  # "1," and "2" became "1"


def test_several_outputs_are_labelled_by_position():
    expected = [_stream("a\n"), _result({"text/plain": "1"})]
    actual = [_stream("a\n"), _result({"text/plain": "2"})]
    result = compare_outputs(expected, actual, DEFAULT)
    assert result.summary == "output 1: text/plain differs (1 line)"
    assert "--- expected: output 1: text/plain" in result.diff


def test_ignore_stderr_hides_only_stderr():
    expected = [_stream("out\n"), _stream("warn 1\n", "stderr")]
    actual = [_stream("out\n"), _stream("warn 2\n", "stderr")]
    assert not compare_outputs(expected, actual, DEFAULT).equal
    assert compare_outputs(expected, actual, CompareOptions(ignore_stderr=True)).equal
    changed = [_stream("other\n"), _stream("warn 2\n", "stderr")]
    assert not compare_outputs(expected, changed, CompareOptions(ignore_stderr=True)).equal


def test_huge_diffs_are_truncated_with_a_count():
    expected = [_stream("".join(f"line {i}\n" for i in range(1000)))]
    actual = [_stream("".join(f"LINE {i}\n" for i in range(1000)))]
    result = compare_outputs(expected, actual, DEFAULT)
    assert result.summary == "stdout differs (1000 lines)"
    lines = result.diff.splitlines()
    assert len(lines) == MAX_DIFF_LINES + 1
    assert lines[-1].endswith("more diff lines)")


@pytest.mark.parametrize(
    "bad",
    [
        [None],
        ["text"],
        [{"output_type": "stream"}],
        [{"output_type": "stream", "name": "stdout", "text": 5}],
        [{"output_type": "error", "ename": "E", "evalue": "v", "traceback": 7}],
        [{"output_type": "execute_result", "data": [1]}],
        [{"output_type": "display_data", "data": {"text/plain": 7, "image/png": 5}}],
    ],
)
def test_malformed_outputs_do_not_crash(bad):
    assert isinstance(compare_outputs(bad, bad, DEFAULT), OutputComparison)
    good = [{"output_type": "stream", "name": "stdout", "text": "x\n"}]
    assert isinstance(compare_outputs(bad + good, good, DEFAULT), OutputComparison)
