"""Property-based fuzzing of the notebook reader and of ``nbrepro check``'s analysis.

Real notebooks (``tests/fixtures/notebooks``, ``examples/analysis.ipynb``, notebooks with
recorded provenance) are mutated by hypothesis: values replaced by JSON of any type (NaN, huge
numbers, escape sequences, bidi overrides, deep nesting), keys dropped or added, lists grown,
bytes flipped or cut. Whatever comes out, the only exception that may leave the reader, the
analysis, the order suggestion, the provenance readers or the check command is nbrepro's own
one-line input error; what the check prints stays printable.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbrepro.errors import NbreproError

from .cli_checks import REAL_NOTEBOOKS, REPO, UNSAFE, base_notebook


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Any:
    """No jupyter server here: the package's server fixture has nothing to clean up."""
    yield


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SEEDS: list[Any] = [
    *(_load(p) for p in REAL_NOTEBOOKS),
    *(_load(p) for p in sorted((REPO / "tests" / "fixtures" / "diagnosis").glob("*.ipynb"))[:4]),
    base_notebook(provenance=True),
]
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is a regression, not luck
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- strategies ----------------------------------------------------------------------------------

HOSTILE_CHARS = ["\x1b", "\x1b[31m", "\u202e", "\u2066", "\u2028", "\n", "\r", "\t", "\x00",
                 "\x85", "[", "{", '"', "\\", "%", "⟦timeout⟧"]  # fmt: skip
texts = st.lists(
    st.characters(exclude_categories=("Cs",)) | st.sampled_from(HOSTILE_CHARS), max_size=12
).map("".join)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
    | st.sampled_from(["python3", "code", "markdown", "stream", "sha256:00", "ok", "x = 1"])
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)
deep_values = st.integers(min_value=150, max_value=250).map(lambda n: json.loads("[" * n + "]" * n))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (iteratively: seeds may be deep)."""
    out: list[tuple[Any, ...]] = []
    stack = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


OPERATIONS = ["replace", "replace", "same-type", "same-type", "same-type", "deep", "delete",
              "add-key", "append", "wrap"]  # fmt: skip


@st.composite
def mutated_notebooks(draw: st.DrawFn) -> Any:
    """A real notebook with one to four mutations below its top level (whose own damage the
    byte-level test covers): a value replaced by JSON of any type or by one of its own type (a
    hostile string for a string, any integer for an integer), a nesting of 150 to 250 levels, a
    key dropped or added, a list grown, a value wrapped in a list."""
    nb = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(nb)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        operation = draw(st.sampled_from(OPERATIONS))
        parent, key = _get(nb, path[:-1]), path[-1]
        value = parent[key]
        if operation == "replace":
            parent[key] = draw(json_values)
        elif operation == "same-type":
            if isinstance(value, str):
                parent[key] = draw(texts)
            elif isinstance(value, bool) or value is None:
                parent[key] = draw(leaves)
            elif isinstance(value, int):
                parent[key] = draw(st.integers(min_value=-(2**70), max_value=2**70))
            elif isinstance(value, list) and value:
                value.insert(0, copy.deepcopy(value[-1]))
        elif operation == "deep":
            parent[key] = draw(deep_values)
        elif operation == "delete" and isinstance(parent, dict):
            del parent[key]
        elif operation == "add-key" and isinstance(value, dict):
            value[draw(texts)] = draw(json_values)
        elif operation == "append" and isinstance(value, list):
            value.append(draw(json_values))
        elif operation == "wrap":
            parent[key] = [value]
    return nb


def _dumps(nb: Any) -> bytes:
    return json.dumps(nb, allow_nan=True).encode("utf-8")


# -- properties ----------------------------------------------------------------------------------


def _exercise(nb: dict[str, Any]) -> None:
    """Everything the check, the status and the provenance readers do with a read notebook."""
    from nbrepro.analysis import analyze, suggest_order
    from nbrepro.notebook_io import dumps_notebook, parse_notebook
    from nbrepro.provenance import merge_into_notebook
    from nbrepro.record.drift import check_drift

    findings = analyze(nb, select=["ALL"])
    for finding in findings:
        json.dumps(finding.to_dict())
    suggestion = suggest_order(nb)
    json.dumps(suggestion.to_dict())
    with tempfile.TemporaryDirectory() as folder:
        drift = check_drift(nb, Path(folder), current_env={"python": {"version": "3"}})
        json.dumps(drift.to_dict())
    merged = merge_into_notebook(nb, base_notebook(provenance=True)["metadata"]["nbrepro"])
    again = parse_notebook(dumps_notebook(merged).encode("utf-8"))
    assert again["metadata"]["nbrepro"]["cells"] is not None


@settings(FUZZ, max_examples=1000)
@given(mutated_notebooks())
def test_reader_and_analysis_raise_only_input_errors(nb: Any) -> None:
    from nbrepro.notebook_io import parse_notebook

    try:
        read = parse_notebook(_dumps(nb), "fuzzed.ipynb")
    except NbreproError as exc:
        message = exc.message_for("cli")
        assert "\n" not in message and not UNSAFE.search(message), ascii(message)
        return
    _exercise(read)


@st.composite
def damaged_bytes(draw: st.DrawFn) -> bytes:
    """A real notebook's bytes, cut, flipped, or with hostile bytes inserted."""
    data = bytearray(_dumps(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["cut", "flip", "insert", "repeat-brackets"]))
        if operation == "cut":
            del data[at:]
        elif operation == "flip" and data:
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [b"\xff", b"\xef\xbb\xbf", b"\\ud800", b'"', b"\\", b"\x00", b"NaN", b"1e999"]
                )
            )
        else:
            data[at:at] = draw(st.sampled_from([b"[", b"{", b'{"a":'])) * draw(
                st.integers(min_value=100, max_value=3000)
            )
    return bytes(data)


@settings(FUZZ, max_examples=1500)
@given(damaged_bytes())
def test_damaged_bytes_raise_only_input_errors(data: bytes) -> None:
    from nbrepro.notebook_io import parse_notebook

    try:
        read = parse_notebook(data, "damaged.ipynb")
    except NbreproError:
        return
    _exercise(read)


def _depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value (iteratively)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


@st.composite
def nested_json(draw: st.DrawFn) -> str:
    """JSON text with nesting around 200 levels, brackets and escapes inside strings."""
    levels = draw(st.integers(min_value=1, max_value=260))
    kinds = draw(st.lists(st.sampled_from(["list", "object"]), min_size=levels, max_size=levels))
    inner = json.dumps(draw(json_values))
    noise = json.dumps(draw(st.text(alphabet='[]{}"\\ab', max_size=30)))
    for kind in kinds:
        inner = f"[{noise}, {inner}]" if kind == "list" else f'{{"k\\"[{{": {inner}, "n": {noise}}}'
    return inner


@settings(FUZZ, max_examples=300)
@given(nested_json())
def test_the_nesting_limit_counts_only_structure(text: str) -> None:
    from nbrepro.notebook_structure import MAX_DEPTH, check_nesting

    depth = _depth(json.loads(text))
    for data in (text, text.encode("utf-8")):
        if depth > MAX_DEPTH:
            with pytest.raises(NbreproError):
                check_nesting(data)
        else:
            check_nesting(data)


SNIPPETS = ["x = 1", "print(x)", "y = x + z", "del x", "%time x = 2", "!ls", "%%bash\necho",
            "from m import *", "def f():\n    return q", "(" * 300 + ")" * 300, "[" * 200,
            "x = 1" + " + 1" * 1500, "a" + ".b" * 2000, "f" + "(x)" * 1500, "lambda: " * 200,
            "exec('x')", "globals()['x'] = 1", "class C:\n    pass", "async def f(): await g()",
            "\x00", "\x1b[31m", "\u202e = 1", "é = 1", "x = '\u2028'", "if x:\n\tpass",
            "try:\n    x\nexcept NameError:\n    pass", "%run other.ipynb"]  # fmt: skip


@st.composite
def notebooks_of_code(draw: st.DrawFn) -> dict[str, Any]:
    """A notebook of 1-6 code cells made of hostile snippets, with any execution counts."""
    nb = base_notebook(provenance=draw(st.booleans()))
    cells = []
    for index in range(draw(st.integers(min_value=1, max_value=6))):
        pieces = draw(st.lists(st.sampled_from(SNIPPETS) | texts, min_size=1, max_size=3))
        cells.append(
            {
                "cell_type": "code",
                "id": f"c{index}",
                "metadata": {"tags": draw(st.lists(st.sampled_from(["parameters", "x"])))},
                "execution_count": draw(st.none() | st.integers(min_value=0, max_value=9)),
                "outputs": [],
                "source": "\n".join(pieces),
            }
        )
    nb["cells"] = cells
    return nb


@settings(FUZZ, max_examples=400)
@given(notebooks_of_code())
def test_analysis_of_hostile_code_never_raises(nb: dict[str, Any]) -> None:
    from nbrepro.notebook_io import parse_notebook

    _exercise(parse_notebook(_dumps(nb)))


@settings(FUZZ, max_examples=300)
@given(mutated_notebooks())
def test_the_check_command_prints_one_error_line_or_printable_findings(nb: Any) -> None:
    from nbrepro.cli import main

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "fuzzed.ipynb")
        Path(path).write_bytes(_dumps(nb))
        before = Path(path).read_bytes()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "--suggest-order", path])
        assert Path(path).read_bytes() == before
    assert code in (0, 1, 2)
    assert not UNSAFE.search(out.getvalue()), ascii(out.getvalue()[:500])
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nbrepro: error: "), err.getvalue()
    else:
        assert err.getvalue() == ""
