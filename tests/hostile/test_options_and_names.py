"""Hostile options, parameters and names, and what the text reports make of hostile values.

Numbers that are not finite (``inf``, ``nan``, ``1e309``), out of bounds or not numbers at all,
empty strings, ``--help`` where a value belongs; parameter names that Python or the terminal
cannot take; run names with escape sequences, bidi overrides and line breaks: each is refused
with exit 2 and one line before anything runs. Values that are valid but hostile to a terminal
(an ESC in a parameter value, U+2028 in a metric name) are stored as given and shown escaped
in every text report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .cli_checks import (
    UNSAFE,
    assert_printable,
    assert_refused,
    base_notebook,
    run_cli,
    run_process,
    sha,
    write,
)


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Any:
    """No jupyter server here: the package's server fixture has nothing to clean up."""
    yield


@pytest.fixture
def notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid notebook with a parameters cell, in the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return write(tmp_path / "nb.ipynb", base_notebook())


# -- numbers -----------------------------------------------------------------------------------

NOT_SECONDS = ["inf", "-inf", "nan", "NaN", "Infinity", "1e309", "-1", "0", "", " ", "abc",
               "--help", "1e999999", "0x10"]  # fmt: skip
NUMBER_OPTIONS: list[tuple[str, tuple[str, ...], list[str]]] = [
    ("verify", ("--timeout",), NOT_SECONDS),
    ("verify", ("--notebook-timeout",), ["inf", "nan", "-1", "0", "", "1e309"]),
    ("run", ("--timeout",), NOT_SECONDS),
    ("run", ("--notebook-timeout",), ["inf", "nan", "-1", "0", "", "1e309"]),
    ("runs-reproduce", ("--timeout",), ["inf", "nan", "-inf", "1e309", "-1", "0", ""]),
    ("runs-reproduce", ("--notebook-timeout",), ["inf", "nan", "-1", ""]),
    ("verify", ("--runs",), ["0", "101", "1e3", "9" * 5000, "nan", "", "-1", "2.5"]),
    ("verify", ("-j",), ["0", "-1", "257", "9" * 30, "1.5", "inf"]),
    ("run", ("--jobs",), ["0", "-1", "257", "9" * 30, "1.5", "nan"]),
    ("verify", ("--rtol",), ["nan", "inf", "-1", "1e309"]),
    ("verify", ("--atol",), ["nan", "-inf", "-0.5"]),
    ("verify", ("--image-tolerance",), ["2", "nan", "-0.1", "inf"]),
]
NUMBER_CASES = [
    pytest.param(command, flag, value, id=f"{command}{flag[0]}={value[:12]!r}")
    for command, flag, values in NUMBER_OPTIONS
    for value in values
]


def _argv(command: str, path: Path) -> list[str]:
    if command == "runs-reproduce":
        return ["runs", "reproduce", "some-run"]
    return [command, path.name]


@pytest.mark.parametrize(("command", "flag", "value"), NUMBER_CASES)
def test_a_number_that_is_not_finite_or_in_bounds_is_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], command: str, flag: tuple[str], value: str
) -> None:
    before = sha(notebook)
    outcome = run_cli(capsys, *_argv(command, notebook), *flag, value)
    assert_refused(outcome, contains=flag[0].lstrip("-")[:4] if value != "--help" else None)
    assert sha(notebook) == before
    assert not (notebook.parent / ".nbrepro").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("check", "nb.ipynb", "--timeout", "inf"),
        ("check", "nb.ipynb", "--timeout", "nan"),
        ("env", "--timeout", "inf"),
        ("env", "diff", "nb.ipynb", "--timeout", "nan"),
        ("env", "export", "nb.ipynb", "--timeout", "inf"),
        ("runs", "list", "--timeout", "inf"),
        ("check", "nb.ipynb", "--format", ""),
        ("check", "nb.ipynb", "--select", "NBR999"),
        ("env", "export", "--format", "pip"),
        ("verify", "nb.ipynb", "--kernel", ""),
        ("verify", "nb.ipynb", "--kernel", "\x1b[31mpython3"),
        ("run", "nb.ipynb", "--kernel", "no-such-kernel\u202e"),
        ("verify", "nb.ipynb", "--sanitize", ""),
        ("run", "nb.ipynb", "--grid", "n=1,2", "--grid", "n=3"),
        ("run", "nb.ipynb", "--grid", "=1"),
        ("run", "nb.ipynb", "--grid", "class=1,2"),
        ("run", "nb.ipynb", "--runs-dir", "a" * 5000),
        ("runs", "list", "--runs-dir", "a" * 5000),
        ("runs", "show", "\x1b[31m\u202e"),
    ],
    ids=lambda argv: " ".join(a[:14] for a in argv).encode("unicode_escape").decode(),
)
def test_other_hostile_options_are_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    before = sha(notebook)
    assert_refused(run_cli(capsys, *argv))
    assert sha(notebook) == before


def test_timeouts_are_refused_by_a_real_process(notebook: Path) -> None:
    for argv in (
        ("verify", "nb.ipynb", "--timeout", "inf"),
        ("run", "nb.ipynb", "--timeout", "nan"),
    ):
        assert_refused(run_process(*argv, cwd=notebook.parent))


# -- parameters --------------------------------------------------------------------------------

BAD_NAMES = ["class", "None", "True", "lambda", "1x", "a b", "a-b", "", "\x1b[31m", "\u202en",
             "a\u2028b", "n;import os", "__import__('os')", "x.y", "n\n", "\t"]  # fmt: skip


@pytest.mark.parametrize("command", ("verify", "run"))
@pytest.mark.parametrize("name", BAD_NAMES, ids=ascii)
def test_a_parameter_name_python_cannot_take_is_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    before = sha(notebook)
    extra = ["--runs", "2"] if command == "verify" else []
    outcome = run_cli(capsys, command, notebook.name, *extra, "-p", name, "1")
    assert_refused(outcome, contains="parameter name")
    assert sha(notebook) == before


BAD_YAML = {
    "python-tag": "{n: !!python/object/apply:os.system ['echo owned']}",
    "a-list": "[1, 2]",
    "unclosed": "a: [unclosed",
    "integer-key": "{1: 2}",
    "deep-10000": "[" * 10_000,
    "deep-mapping": "a: " + "[" * 5000 + "]" * 5000,
    "tab-indent": "a:\n\tb: 1",
}


@pytest.mark.parametrize("text", BAD_YAML.values(), ids=BAD_YAML.keys())
def test_parameters_yaml_that_is_not_a_mapping_of_names_is_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert_refused(run_cli(capsys, "run", notebook.name, "-y", text))
    assert_refused(run_cli(capsys, "verify", notebook.name, "--runs", "2", "-y", text))


@pytest.mark.parametrize("kind", ("missing", "folder", "not-utf8", "deep"))
def test_a_parameters_file_that_cannot_be_read_is_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = notebook.parent / "params.yaml"
    if kind == "folder":
        path.mkdir()
    elif kind == "not-utf8":
        path.write_bytes(b"n: \xff\xfe\n")
    elif kind == "deep":
        path.write_text("n: " + "[" * 20_000)
    assert_refused(run_cli(capsys, "run", notebook.name, "-f", str(path)))


# -- run names ---------------------------------------------------------------------------------

BAD_RUN_NAMES = ["\x1b[31mred", "\u202eevil", "a\nb", "a\rb", "a\u2028b", "a\u2029b", "x" * 201,
                 "", "   ", "\t", "a\x85b", "\u2066x\u2069", "\x07bell", "\x7f", "a\u200fb",
                 "--\x1b]0;title\x07"]  # fmt: skip


@pytest.mark.parametrize("name", BAD_RUN_NAMES, ids=ascii)
def test_a_run_name_that_is_not_one_plain_line_is_refused(
    notebook: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = sha(notebook)
    assert_refused(run_cli(capsys, "run", notebook.name, "--name", name), contains="--name")
    assert sha(notebook) == before
    assert not (notebook.parent / ".nbrepro").exists()


@pytest.mark.parametrize("name", BAD_RUN_NAMES, ids=ascii)
def test_the_core_rule_refuses_the_same_names(name: str) -> None:
    from nbrepro.optionspec import OptionError
    from nbrepro.runs.options import RUN_OPTIONS

    with pytest.raises(OptionError) as caught:
        RUN_OPTIONS["name"].validate(name)
    message = caught.value.message_for("cli")
    assert "\n" not in message and not UNSAFE.search(message)


GOOD_RUN_NAMES = ["baseline", "lr=0.1, seed 3", "é-ü", "名前", "x" * 200, "a\\b", "emoji 🚀"]


@pytest.mark.parametrize("name", GOOD_RUN_NAMES, ids=ascii)
def test_plain_names_pass_the_rule(name: str) -> None:
    from nbrepro.runs.options import RUN_OPTIONS, run_name_problem

    assert run_name_problem(name) is None
    assert RUN_OPTIONS["name"].validate(name) == name


def test_the_server_applies_the_same_name_rule() -> None:
    from nbrepro.errors import InputError
    from nbrepro.jobs.manager import validate_run_name

    for name in BAD_RUN_NAMES:
        if not name.strip():
            continue  # the server reads an empty name as no name
        with pytest.raises(InputError):
            validate_run_name(name)


# -- the text helper -----------------------------------------------------------------------------

UNSAFE_CHARS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))] + list(
    "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
) + ["\ud800", "\udcff"]  # fmt: skip


@pytest.mark.parametrize(
    "group",
    [
        pytest.param(UNSAFE_CHARS[:32], id="C0"),
        pytest.param(UNSAFE_CHARS[32:65], id="DEL-and-C1"),
        pytest.param(UNSAFE_CHARS[65:79], id="bidi-and-separators"),
        pytest.param(UNSAFE_CHARS[79:], id="lone-surrogates"),
    ],
)
def test_printable_escapes_every_unsafe_character(group: list[str]) -> None:
    from nbrepro.textsafe import printable, printable_lines, unsafe_character

    for char in group:
        shown = printable(f"a{char}b")
        assert not UNSAFE.search(shown) and "\n" not in shown and "\t" not in shown, ascii(char)
        assert shown.startswith("a\\") and shown.endswith("b")
        assert unsafe_character(char) is not None
        kept = printable_lines(f"a{char}b")
        assert not UNSAFE.search(kept.replace("\n", "").replace("\t", "")), ascii(char)
    assert printable("\x1b[31mred") == "\\x1b[31mred"
    assert printable("\u202eevil") == "\\u202eevil"


@pytest.mark.parametrize(
    "text",
    ["plain", "C:\\Users\\me\\nb.ipynb", "é 中文 🚀", "tab\tin a line", "100% done", ""],
    ids=ascii,
)
def test_printable_leaves_safe_text_alone(text: str) -> None:
    from nbrepro.textsafe import printable, printable_lines, unsafe_character

    assert printable(text, tabs=True) == text
    assert printable_lines(f"{text}\n{text}") == f"{text}\n{text}"
    if "\t" not in text:
        assert printable(text) == text and unsafe_character(text) is None


def test_tables_escape_hostile_cells() -> None:
    from nbrepro.runs.table import format_value, runs_table

    rows = [
        {
            "run_id": "r1",
            "name": "\x1b[31mred",
            "verdict": "ok",
            "duration": 1.0,
            "parameters": {"msg": "\u202eevil", "n": 1},
            "metrics": {"loss\u2028x": 0.5},
        },
        {
            "run_id": "r2",
            "name": "plain",
            "verdict": "ok",
            "duration": 2.0,
            "parameters": {"msg": "a\x1b]0;t\x07", "n": 2},
            "metrics": {},
        },
    ]
    table = runs_table(rows)
    assert_printable(table)
    assert "\\x1b[31mred" in table and "\\u202eevil" in table and "loss\\u2028x" in table
    assert format_value("\x1b" * 40).startswith("\\x1b") and len(format_value("\x1b" * 40)) == 24


# -- hostile values in real runs and reports -----------------------------------------------------

HOSTILE_VALUES = ["\x1b[31mred\x1b[0m", "\u202eevil", "line\u2028break"]


@pytest.fixture(scope="module")
def runs_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real runs (a kernel each) of a notebook whose parameter values, printed output and
    metric name hold escape sequences, bidi overrides and line separators."""
    folder = tmp_path_factory.mktemp("runs-project")
    (folder / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    nb = base_notebook()
    nb["cells"][1]["source"] = "msg = 'plain'"
    nb["cells"][2]["source"] = (
        "import nbrepro\nprint(msg)\nnbrepro.log_metric('loss\\u2028\\x1b[1m', len(msg))"
    )
    write(folder / "nb.ipynb", nb)
    grid = "msg=" + ",".join(HOSTILE_VALUES[:2])
    outcome = run_process("run", "nb.ipynb", "--grid", grid, "-q", cwd=folder, timeout=300)
    assert outcome.code == 0, outcome.err[-3000:]
    assert "Traceback" not in outcome.err
    assert_printable(outcome.out)
    return folder


def _run_ids(folder: Path) -> list[str]:
    listing = run_process("runs", "list", "--format", "json", cwd=folder)
    return [run["run_id"] for run in json.loads(listing.out)["runs"]]


@pytest.mark.parametrize("action", ("list", "show", "diff"))
def test_runs_listings_show_hostile_values_escaped(runs_project: Path, action: str) -> None:
    ids = _run_ids(runs_project)
    assert len(ids) == 2
    argv = {"list": ("runs", "list"), "show": ("runs", "show", ids[0])}.get(
        action, ("runs", "diff", *ids)
    )
    outcome = run_process(*argv, cwd=runs_project)
    assert outcome.code == 0 and "Traceback" not in outcome.err, outcome.err[-2000:]
    assert_printable(outcome.out)
    assert "\\x1b[31mred" in outcome.out or "\\u202eevil" in outcome.out


def test_runs_json_keeps_the_values_exact(runs_project: Path) -> None:
    listing = run_process("runs", "list", "--format", "json", cwd=runs_project)
    values = {run["parameters"]["msg"] for run in json.loads(listing.out)["runs"]}
    assert values == set(HOSTILE_VALUES[:2])


def test_the_verify_report_escapes_hostile_outputs_ids_and_paths(tmp_path: Path) -> None:
    nb = base_notebook()
    nb["cells"][1].update(id="\x1b[2J", source="print('\\x1b[31mred\\u202e \\u2028 done')")
    nb["cells"][1]["metadata"]["tags"] = []
    nb["cells"][2].update(id="\u202eid", source="'\\x1b]0;title\\x07'")
    name = "v\u202e\x1b[1m.ipynb"
    path = write(tmp_path / name, nb)
    before = sha(path)
    outcome = run_process("verify", "-v", name, cwd=tmp_path, timeout=300)
    assert outcome.code == 1, outcome.err[-3000:]  # the stored outputs differ
    assert "Traceback" not in outcome.err + outcome.out
    assert_printable(outcome.out)
    assert "red\\u202e" in outcome.out and "(id \\x1b[2J)" in outcome.out
    assert "\\u202eid" in outcome.out and "\\x1b]0;title\\x07" in outcome.out
    assert sha(path) == before


def test_env_diff_escapes_recorded_values(tmp_path: Path) -> None:
    nb = base_notebook(provenance=True)
    env = nb["metadata"]["nbrepro"]["environment"]
    env["python"]["version"] = "3.0\u202e\x1b[2J"
    env["env_vars"]["TZ"] = "\x1b]0;owned\x07"
    path = write(tmp_path / "nb.ipynb", nb)
    before = sha(path)
    outcome = run_process("env", "diff", "nb.ipynb", cwd=tmp_path, timeout=300)
    assert outcome.code == 1, outcome.err[-3000:]
    assert "Traceback" not in outcome.err
    assert_printable(outcome.out)
    assert "\\u202e" in outcome.out
    assert sha(path) == before
