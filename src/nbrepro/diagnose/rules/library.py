"""Cause rules about library releases, for notebooks with or without recorded provenance:
``api-removed`` (the error names a symbol a newer release removed, from :data:`REMOVED_APIS`)
and ``library-drift`` (the outputs differ only as a newer release shows them, from the
recognisers of :mod:`nbrepro.compare.drift`; or a matplotlib figure renders differently)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...compare.drift import explain_drift
from .. import evidence as ev
from ..causes import STRENGTH, Cause, Evidence
from ..cell_facts import FailingCell
from ..registry import Claims, rule


@dataclass(frozen=True)
class RemovedApi:
    """A symbol a library release removed, recognised by the error it raises now.

    ``errors``: the exception names; ``message``: a regex over the exception's value; ``what``:
    the symbol, for people; ``remedy``: what replaces it.
    """

    library: str
    release: str
    what: str
    errors: frozenset[str]
    message: re.Pattern[str]
    remedy: str


_ATTR = frozenset({"AttributeError"})
_IMPORT = frozenset({"ImportError", "ModuleNotFoundError", "AttributeError"})

#: The removed symbols recognised by ``api-removed`` (documented in docs/diagnosis.md).
REMOVED_APIS: tuple[RemovedApi, ...] = (
    RemovedApi(
        "matplotlib",
        "3.8",
        "the seaborn-* style names",
        frozenset({"OSError", "KeyError", "ValueError", "FileNotFoundError"}),
        re.compile(r"'?seaborn(?:-[\w-]+)?'? (?:is )?not (?:a valid|found)|^'seaborn[\w-]*'$"),
        "use the seaborn-v0_8-* style names (or seaborn.set_theme())",
    ),
    RemovedApi(
        "pandas",
        "2.0",
        "DataFrame.append / Series.append",
        _ATTR,
        re.compile(r"'(?:DataFrame|Series)' object has no attribute 'append'"),
        "use pandas.concat([...])",
    ),
    RemovedApi(
        "pandas",
        "2.0",
        "DataFrame.iteritems / Series.iteritems",
        _ATTR,
        re.compile(r"'(?:DataFrame|Series)' object has no attribute 'iteritems'"),
        "use .items()",
    ),
    RemovedApi(
        "pandas",
        "3.0",
        "DataFrame.applymap",
        _ATTR,
        re.compile(r"'DataFrame' object has no attribute 'applymap'"),
        "use DataFrame.map",
    ),
    RemovedApi(
        "pandas",
        "1.0/2.0",
        "removed DataFrame/Series methods (ix, as_matrix, get_value, lookup, mad, swapaxes, ...)",
        _ATTR,
        re.compile(
            r"'(?:DataFrame|Series)' object has no attribute "
            r"'(?:ix|as_matrix|get_value|set_value|lookup|mad|swapaxes|select|get_ftype_counts|"
            r"convert_objects|sortlevel|reindex_axis|to_panel|is_copy|ftypes|pad|backfill)'"
        ),
        "see the pandas release notes for the replacement",
    ),
    RemovedApi(
        "pandas",
        "2.0",
        "Int64Index / UInt64Index / Float64Index",
        _IMPORT,
        re.compile(r"\b(?:Int64|UInt64|Float64|Numeric)Index\b"),
        "use pandas.Index(..., dtype=...)",
    ),
    RemovedApi(
        "pandas",
        "2.0",
        "pandas.util.testing / pandas.datetime / pandas.np",
        _IMPORT,
        re.compile(r"pandas\.util\.testing|module 'pandas' has no attribute '(?:datetime|np)'"),
        "use pandas.testing, datetime and numpy directly",
    ),
    RemovedApi(
        "pandas",
        "3.0",
        "the frequency aliases H, T, S, L, U, N, M, Q, Y, A (now h, min, s, ms, us, ns, ME, ...)",
        frozenset({"ValueError"}),
        re.compile(r"Invalid frequency: (?:\d*)(?:H|T|S|L|U|N|M|Q|Y|A|BM|BQ|BY|BA|SM|CBM)\b"),
        "use the new frequency aliases (h, min, s, ME, QE, YE, ...)",
    ),
    RemovedApi(
        "numpy",
        "1.24",
        "the aliases np.float, np.int, np.bool, np.object, np.str, np.long, np.unicode",
        _ATTR,
        re.compile(r"module 'numpy' has no attribute '(?:float|int|bool|object|str|long|unicode)'"),
        "use the builtins float, int, bool, object, str",
    ),
    RemovedApi(
        "numpy",
        "2.0",
        "np.NaN, np.Inf, np.float_, np.complex_, np.product, np.alltrue, np.asscalar, ...",
        _ATTR,
        re.compile(
            r"module 'numpy' has no attribute '(?:NaN|NAN|Inf|PINF|NINF|Infinity|infty|float_|"
            r"complex_|unicode_|string_|product|cumproduct|alltrue|sometrue|asscalar|round_|"
            r"msort|row_stack|trapz|in1d|find_common_type|issubclass_|cast|safe_eval|"
            r"set_string_function|who|recfromcsv|recfromtxt|deprecate|byte_bounds)'"
            r"|`np\.\w+` was removed in the NumPy 2\.0 release"
        ),
        "see the NumPy 2.0 migration guide (np.nan, np.inf, np.float64, np.prod, np.all, ...)",
    ),
    RemovedApi(
        "scikit-learn",
        "1.2",
        "sklearn.datasets.load_boston",
        _IMPORT,
        re.compile(r"load_boston"),
        "use another dataset (fetch_california_housing)",
    ),
)


def removed_api(error_name: str | None, error_value: str | None) -> RemovedApi | None:
    """The entry of :data:`REMOVED_APIS` that the error names (``None``: none)."""
    name, value = error_name or "", error_value or ""
    for entry in REMOVED_APIS:
        if name in entry.errors and entry.message.search(value):
            return entry
    return None


@rule("api-removed", statuses={"error"})
def api_removed(cell: FailingCell) -> Claims:
    """The error names a symbol a newer release of a library removed."""
    o = cell.outcome
    entry = removed_api(o.error_name, o.error_value)
    if entry is None:
        yield "removed APIs: the error names none of the known removed symbols"
        return
    evidence = [
        ev.error(o.error_name, o.error_value),
        Evidence(
            "removed-api",
            f"{entry.library} {entry.release} removed {entry.what}",
            {"library": entry.library, "release": entry.release, "what": entry.what},
        ),
    ]
    ran = cell.stored.get("execution_count")
    if ran is not None and not any(
        isinstance(out, dict) and out.get("output_type") == "error"
        for out in cell.stored.get("outputs") or []
    ):
        evidence.append(
            Evidence(
                "stored-output",
                f"the stored outputs (In [{ran}]) show no error: it ran with an older release",
                {"execution_count": ran},
            )
        )
    yield Cause(
        "api-removed",
        f"uses {entry.what}, which {entry.library} {entry.release} removed",
        STRENGTH["removed-api"],
        evidence,
        remedy=entry.remedy,
    )


_FIGURE = re.compile(r"<Figure size [\d.]+x[\d.]+ with \d+ Axes>|<matplotlib\.figure\.Figure\b")
_PIXELS = re.compile(r"image/png differs: ([\d.]+%) of pixels")


def _stored_figure(cell: FailingCell) -> bool:
    for out in cell.stored.get("outputs") or []:
        data = out.get("data") if isinstance(out, dict) else None
        if isinstance(data, dict) and "image/png" in data:
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            if _FIGURE.search(text):
                return True
    return False


@rule("library-drift", statuses={"mismatch"})
def library_drift(cell: FailingCell) -> Claims:
    """The differing text is a recognised library change; or a matplotlib figure renders
    differently while the code draws no randomness."""
    expected, actual = cell.differing_lines()
    found = explain_drift("\n".join(expected), "\n".join(actual)) if expected or actual else []
    if found:
        evidence = [
            Evidence(
                "output-change",
                f"{r.library}: {r.change}",
                {"recognizer": r.id, "library": r.library},
            )
            for r in found
        ]
        sample = next((line for line in expected if line.strip()), "")
        evidence.append(
            Evidence(
                "diff",
                f"stored {sample.strip()[:80]!r}: every differing line matches after the "
                f"recognised change",
                {"expected": expected[:5], "actual": actual[:5]},
            )
        )
        libraries = ", ".join(sorted({r.library for r in found}))
        yield Cause(
            "library-drift",
            f"shows its outputs as a newer {libraries} does: {found[0].change}",
            STRENGTH["output-change"],
            evidence,
            remedy="pin the older release, or verify with --drift-tolerant if the upgrade "
            "is deliberate",
        )
        return
    pixels = _PIXELS.search(cell.outcome.summary or "")
    if pixels and _stored_figure(cell) and not cell.nondeterminism_hints():
        yield Cause(
            "library-drift",
            f"draws a matplotlib figure that renders differently now ({pixels.group(1)} of "
            "pixels); the code draws no randomness",
            STRENGTH["weak"] + 10,
            [
                Evidence(
                    "output-change",
                    f"the stored matplotlib figure differs in {pixels.group(1)} of pixels",
                    {"library": "matplotlib", "recognizer": "matplotlib-rendering"},
                )
            ],
            remedy="pin the matplotlib release the figures were made with, or compare images "
            "with --image-tolerance",
        )
        return
    yield "library drift: the differences match no recognised library change"
