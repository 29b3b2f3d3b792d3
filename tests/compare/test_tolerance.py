"""Numbers in text outputs compared with rtol/atol; everything else exactly."""

from __future__ import annotations

import pytest

from nbrepro.compare import CompareOptions, compare_outputs
from nbrepro.compare.tolerance import split_numbers, texts_close
from nbrepro.errors import InputError


def _result(text):
    return [
        {
            "output_type": "execute_result",
            "execution_count": 1,
            "data": {"text/plain": text},
            "metadata": {},
        }
    ]


@pytest.mark.parametrize(
    ("expected", "actual", "rtol", "atol", "close"),
    [
        ("loss 0.25", "loss 0.2500001", 1e-5, 0, True),
        ("loss 0.25", "loss 0.26", 1e-5, 0, False),
        ("0", "1e-9", 1e-3, 0, False),  # rtol alone never forgives a difference from zero
        ("0", "1e-9", 0, 1e-8, True),
        ("0.0", "-1e-9", 0, 1e-8, True),
        ("-3.5", "-3.5000001", 1e-6, 0, True),
        ("-3.5", "3.5", 1e-6, 0, False),  # a sign is part of the number
        ("1.5e-10", "1.5000001E-10", 1e-6, 0, True),
        ("6.02e23", "6.03e23", 1e-3, 0, False),
        ("nan", "nan", 1e-6, 0, True),
        ("[nan, 1.0]", "[NaN, 1.0]", 1e-6, 0, True),
        ("nan", "0.0", 1e-6, 1, False),
        ("inf", "inf", 1e-6, 0, True),
        ("-inf", "inf", 1e-6, 1e9, False),
        ("x = 1.0", "y = 1.0", 1, 1, False),  # non-number text must match exactly
        ("1 2", "1 2 3", 1, 1, False),
        ("1.0", "1.00", 0, 0, False),  # no tolerance: exact text
        ("1.0", "1.00", 1e-9, 0, True),
        ("v1.2.3", "v1.2.4", 1, 1, False),  # version strings are text
        ("array([1., 2.])", "array([1.0000001, 2.])", 1e-6, 0, True),
        # column padding around numbers changes with their width
        (
            "array([0.        , 0.33333333, 1.        ])",
            "array([1.00000000e-09, 3.33333334e-01, 1.00000000e+00])",
            0,
            1e-6,
            True,
        ),
        ("          a\n0  0.000000", "              a\n0  1.000000e-09", 0, 1e-6, True),
        ("a b 1.0", "a  b\t1.0", 0, 1e-6, True),
        ("ab 1.0", "a b 1.0", 0, 1e-6, False),  # a space inside text still counts
        ("a\n1.0", "a 1.0", 0, 1e-6, False),  # so do line breaks
        ("          a", "              a", 0, 1e-6, True),  # a header over a wider column
        ("          a", "              a", 0, 0, False),  # no tolerance: exact text
    ],
)
def test_numeric_tolerance_edge_cases(expected, actual, rtol, atol, close):
    assert texts_close(expected, actual, rtol, atol) is close
    options = CompareOptions(rtol=rtol, atol=atol)
    assert compare_outputs(_result(expected), _result(actual), options).equal is close


def test_split_numbers_keeps_words_and_versions_as_text():
    assert split_numbers("x1 = -2.5e3, v1.2.3 nancy nan") == [
        "x1 = ",
        "-2.5e3",
        ", v1.2.3 nancy ",
        "nan",
        "",
    ]
    assert split_numbers("3-1") == ["", "3", "-", "1", ""]


def test_tolerance_applies_to_streams_and_html_text():
    options = CompareOptions(rtol=1e-3)
    html = [
        {
            "output_type": "display_data",
            "data": {"text/html": "<td>1.0001</td>", "text/plain": "t"},
            "metadata": {},
        }
    ]
    html2 = [
        {
            "output_type": "display_data",
            "data": {"text/html": "<td>1.0002</td>", "text/plain": "t"},
            "metadata": {},
        }
    ]
    assert compare_outputs(html, html2, options).equal
    assert not compare_outputs(html, html2, CompareOptions()).equal


@pytest.mark.parametrize("kwargs", [{"rtol": -1}, {"atol": float("nan")}, {"image_tolerance": 2}])
def test_invalid_tolerances_are_input_errors(kwargs):
    with pytest.raises(InputError):
        CompareOptions(**kwargs)
