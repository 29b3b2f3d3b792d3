"""Recognisers of known library drift: output changes that a newer library release makes.

Each :class:`DriftRecognizer` names the library and the release that changed how an output
reads, and rewrites both sides of a comparison to one canonical form (a ``str -> str``
function, applied after the built-in normalisers). Two texts differ *only by* a recognised drift
when they are equal after the recognisers that apply to them rewrote both. The table,
:data:`RECOGNIZERS`, is documented in ``docs/compare.md``; every entry is tested on a real
before/after pair made by two library releases (``tests/corpus``).

``--drift-tolerant`` comparison (:attr:`~nbrepro.compare.CompareOptions.drift_tolerant`) treats
such texts as equal and says which recogniser it applied; the diagnosis names the cause
``library-drift`` from the same table (:func:`explain_drift`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RECOGNIZERS", "DriftRecognizer", "canonical_drift_text", "explain_drift"]


@dataclass(frozen=True)
class DriftRecognizer:
    """One known output change of a library release.

    ``id``: stable id; ``library``: the distribution; ``change``: what changed, for people
    (``numpy 2.0 shows scalars as np.int64(9), was 9``); ``marks``: a regex that finds the
    changed form on either side (the recogniser applies only where it matches); ``canon``:
    rewrites a text to the canonical form.
    """

    id: str
    library: str
    change: str
    marks: re.Pattern[str]
    canon: Callable[[str], str]

    def applies(self, *texts: str) -> bool:
        """Whether the changed form occurs in any of ``texts``."""
        return any(self.marks.search(text) for text in texts)


# -- numpy 2.0: scalar reprs (NEP 51) ------------------------------------------------------
_NP_SCALAR = re.compile(
    r"\bnp\.(?:u?int\d*|float\d*|complex\d*|longdouble|clongdouble|intp|uintp|"
    r"str_|bytes_|datetime64|timedelta64|void)\(((?:[^()]|\([^()]*\))*)\)"
)
_NP_BOOL = re.compile(r"\bnp\.(True|False)_\b")


def _numpy_scalars(text: str) -> str:
    text = _NP_BOOL.sub(r"\1", text)
    previous = None
    while previous != text:
        previous, text = text, _NP_SCALAR.sub(r"\1", text)
    return text


# -- pandas 3.0: the default string dtype is ``str`` (was ``object``) ----------------------
_SPACES = re.compile(r"[ \t]+")
_PD_DTYPE_LINE = re.compile(r"(?m)^(.*\S[ \t]+)object[ \t]*$")
_PD_STR_MARK = re.compile(r"dtype: (?:str|object)\b|dtype='(?:str|object)'|\s(?:str|object)$", re.M)


def _pandas_strings(text: str) -> str:
    text = text.replace("dtype: object", "dtype: str").replace("dtype='object'", "dtype='str'")
    text = text.replace('dtype="object"', 'dtype="str"')
    # Tables of dtypes align their columns to the longest name: compare without the padding.
    return _SPACES.sub(" ", _PD_DTYPE_LINE.sub(r"\1str", text))


# -- pandas 2.0: Int64Index, UInt64Index and Float64Index became Index ---------------------
_PD_INDEX = re.compile(r"\b(?:Int64|UInt64|Float64|Numeric)Index\(")
_WS = re.compile(r"\s+")


def _pandas_index(text: str) -> str:
    # The reprs wrap at another column once the name is shorter: compare without line breaks.
    return _WS.sub(" ", _PD_INDEX.sub("Index(", text))


# -- matplotlib: reprs of figures, axes, texts and containers ------------------------------
_MPL_MARK = re.compile(
    r"<AxesSubplot:|<Axes:|<matplotlib\.\w+(?:\.\w+)* at 0x|<Figure size|"
    r"\bText\(|<(?:Bar)?Container object of"
)
_MPL_RULES = (
    (
        re.compile(r"<matplotlib\.axes\._(?:subplots|axes)\.(?:AxesSubplot|Axes) at 0x\w+>"),
        "<Axes>",
    ),
    (re.compile(r"<(?:AxesSubplot|Axes):[^<>\n]*>"), "<Axes>"),
    (re.compile(r"<matplotlib\.figure\.Figure at 0x\w+>"), "<Figure>"),
    (re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>"), "<Figure>"),
    (re.compile(r"<matplotlib\.text\.(?:Text|Annotation) at 0x\w+>"), "<Text>"),
    (re.compile(r"\b(?:Text|Annotation)\((?:[^()]|\([^()]*\))*\)"), "<Text>"),
    (re.compile(r"<(?:Bar)?Container object of (\d+) artists>"), r"<Container \1>"),
)


def _matplotlib_reprs(text: str) -> str:
    for pattern, replacement in _MPL_RULES:
        text = pattern.sub(replacement, text)
    return text


# -- sympy 1.4: LaTeX output is $\displaystyle ...$ (was $$...$$) --------------------------
_SYMPY_MARK = re.compile(r"^\s*\$\$.*\$\$\s*$|^\s*\$\\displaystyle\b", re.DOTALL)
_SYMPY_OLD = re.compile(r"^\s*\$\$(.*)\$\$\s*$", re.DOTALL)
_SYMPY_NEW = re.compile(r"^\s*\$\\displaystyle\s*(.*)\$\s*$", re.DOTALL)


def _sympy_latex(text: str) -> str:
    for pattern in (_SYMPY_OLD, _SYMPY_NEW):
        match = pattern.match(text)
        if match:
            return match.group(1).strip()
    return text


#: The recognised library drifts, in the order they are applied.
RECOGNIZERS: tuple[DriftRecognizer, ...] = (
    DriftRecognizer(
        "numpy-scalar-repr",
        "numpy",
        "numpy 2.0 shows scalars with their type (np.int64(9), np.float64(0.5)); 1.x showed 9, 0.5",
        re.compile(r"\bnp\.(?:u?int|float|complex|str_|bytes_|True_|False_|longdouble)"),
        _numpy_scalars,
    ),
    DriftRecognizer(
        "pandas-string-dtype",
        "pandas",
        "pandas 3.0 stores text in the str dtype (dtype: str); 2.x showed dtype: object",
        _PD_STR_MARK,
        _pandas_strings,
    ),
    DriftRecognizer(
        "pandas-index-types",
        "pandas",
        "pandas 2.0 removed Int64Index/UInt64Index/Float64Index: indexes show as Index(...)",
        _PD_INDEX,
        _pandas_index,
    ),
    DriftRecognizer(
        "matplotlib-reprs",
        "matplotlib",
        "matplotlib changed the reprs of figures and axes (<AxesSubplot: > became <Axes: > in "
        "3.7; <matplotlib.figure.Figure at 0x...> became <Figure size 640x480 with 1 Axes>)",
        _MPL_MARK,
        _matplotlib_reprs,
    ),
    DriftRecognizer(
        "sympy-latex-delimiters",
        "sympy",
        r"sympy 1.4 wraps LaTeX output in $\displaystyle ...$; earlier releases used $$...$$",
        _SYMPY_MARK,
        _sympy_latex,
    ),
)


def canonical_drift_text(text: str, recognizers: Sequence[DriftRecognizer]) -> str:
    """``text`` rewritten by ``recognizers``, in order."""
    for recognizer in recognizers:
        text = recognizer.canon(text)
    return text


def explain_drift(expected: str, actual: str) -> list[DriftRecognizer]:
    """The recognisers that make ``expected`` and ``actual`` equal (empty: they do not).

    Only recognisers whose changed form occurs on either side are applied; the list names those
    that were needed (a recogniser that changes neither side is left out).
    """
    if expected == actual:
        return []
    found = [r for r in RECOGNIZERS if r.applies(expected, actual)]
    if not found:
        return []
    if canonical_drift_text(expected, found) != canonical_drift_text(actual, found):
        return []
    needed = []
    for recognizer in found:
        others = [r for r in found if r is not recognizer]
        if canonical_drift_text(expected, others) != canonical_drift_text(actual, others):
            needed.append(recognizer)
    return needed or found
