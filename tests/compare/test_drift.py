"""Library-drift recognisers, each on a real before/after pair: the stored output of a corpus
notebook made with the older release (``tests/corpus``) against the same expression evaluated
now with the installed release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbrepro.compare import CompareOptions, compare_outputs
from nbrepro.compare.drift import RECOGNIZERS, explain_drift

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "notebooks"


def stored(notebook: str, cell_id: str, mime: str = "text/plain") -> str:
    """The stored (older release) output of one corpus cell."""
    nb = json.loads((CORPUS / notebook).read_text())
    cell = next(c for c in nb["cells"] if c.get("id") == cell_id)
    value = cell["outputs"][0]["data"][mime]
    return "".join(value) if isinstance(value, list) else value


def now(expression: str, setup: str = "") -> str:
    """``repr`` of ``expression`` evaluated with the libraries installed here."""
    namespace: dict[str, object] = {}
    exec(setup, namespace)
    return repr(eval(expression, namespace))


def test_every_recognizer_has_a_library_and_a_documented_change():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compare.md").read_text()
    assert len({r.id for r in RECOGNIZERS}) == len(RECOGNIZERS)
    for recognizer in RECOGNIZERS:
        assert recognizer.library and recognizer.change
        assert f"`{recognizer.id}`" in doc


def test_numpy_2_scalar_reprs_are_recognised():
    before = stored("numpy_scalars.ipynb", "numpy_scalars-1")
    after = now("np.int64(9)", "import numpy as np")
    assert (before, after) == ("9", "np.int64(9)")
    assert [r.id for r in explain_drift(before, after)] == ["numpy-scalar-repr"]
    before = stored("numpy_scalars.ipynb", "numpy_scalars-9")
    after = now("{'mean': np.mean([1.0, 2.0]), 'n': 2}", "import numpy as np")
    assert [r.id for r in explain_drift(before, after)] == ["numpy-scalar-repr"]


def test_pandas_3_str_dtype_and_pandas_2_index_are_recognised():
    setup = "import pandas as pd"
    before = stored("pandas_dtypes.ipynb", "pandas_dtypes-1")
    after = now('pd.Series(["a", "b"])', setup)
    assert "dtype: object" in before and "dtype: str" in after
    assert [r.id for r in explain_drift(before, after)] == ["pandas-string-dtype"]
    before = stored("pandas_dtypes.ipynb", "pandas_dtypes-3")
    after = now('pd.DataFrame({"x": [1, 2], "name": ["a", "b"]}).dtypes', setup)
    assert [r.id for r in explain_drift(before, after)] == ["pandas-string-dtype"]
    before = stored("pandas_dtypes.ipynb", "pandas_dtypes-7")
    after = now("pd.Index(list(range(40)))", setup)
    assert before.startswith("Int64Index(") and after.startswith("Index(")
    assert [r.id for r in explain_drift(before, after)] == ["pandas-index-types"]


def test_matplotlib_axes_reprs_are_recognised():
    before = stored("matplotlib_reprs.ipynb", "matplotlib_reprs-5")
    after = now(
        "plt.subplots(1, 2)[1]",
        'import matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt',
    )
    assert "<AxesSubplot: >" in before and "<Axes: >" in after
    assert [r.id for r in explain_drift(before, after)] == ["matplotlib-reprs"]


def test_sympy_latex_delimiters_are_recognised():
    from sympy import latex, symbols

    before = stored("sympy_latex.ipynb", "sympy_latex-1", "text/latex")
    x, y = symbols("x y")
    after = f"$\\displaystyle {latex(x**2 + y)}$"
    assert before == "$$x^{2} + y$$"
    assert [r.id for r in explain_drift(before, after)] == ["sympy-latex-delimiters"]


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("9", "np.int64(8)"),
        ("0    a\n1    b\ndtype: object", "0    a\n1    c\ndtype: str"),
        ("Int64Index([1, 2, 3], dtype='int64')", "Index([1, 2, 4], dtype='int64')"),
        ("$$x^{2}$$", "$\\displaystyle x^{3}$"),
        ("<AxesSubplot: >", "<Figure size 640x480 with 1 Axes>"),
    ],
)
def test_a_real_difference_next_to_a_drift_is_not_explained(expected, actual):
    assert explain_drift(expected, actual) == []


def test_drift_tolerant_comparison_treats_recognised_drift_as_equal_and_says_so():
    expected = [{"output_type": "execute_result", "data": {"text/plain": "9"}, "metadata": {}}]
    actual = [
        {"output_type": "execute_result", "data": {"text/plain": "np.int64(9)"}, "metadata": {}}
    ]
    assert not compare_outputs(expected, actual).equal
    result = compare_outputs(expected, actual, CompareOptions(drift_tolerant=True))
    assert result.equal
    assert result.details[0].startswith("library drift tolerated: numpy-scalar-repr")
    other = [
        {"output_type": "execute_result", "data": {"text/plain": "np.int64(10)"}, "metadata": {}}
    ]
    assert not compare_outputs(expected, other, CompareOptions(drift_tolerant=True)).equal
