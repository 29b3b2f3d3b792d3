"""Hostile notebooks and paths: JSON that is not a notebook, fields of the wrong type, deep
nesting, bytes that are not UTF-8, paths too long, devices, pipes, hostile file names, a full
disk. Every command that reads a notebook (``check``, ``verify``, ``run``, ``env diff``,
``env export``) refuses each with exit 2 and one line, and leaves the file as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .cli_checks import (
    PROVENANCE,
    Outcome,
    assert_printable,
    assert_refused,
    base_notebook,
    commands,
    run_cli,
    run_process,
    sha,
    write,
)


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Any:
    """No jupyter server here: the package's server fixture has nothing to clean up."""
    yield


_DELETE = object()


def _set(nb: Any, path: tuple[Any, ...], value: Any) -> Any:
    target = nb
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return nb


def _mutated(path: tuple[Any, ...], value: Any, *, provenance: bool = False) -> bytes:
    nb = _set(base_notebook(provenance=provenance), path, value)
    return json.dumps(nb).encode()


def _text() -> str:
    return json.dumps(base_notebook())


def _prov(path: tuple[Any, ...], value: Any) -> bytes:
    """The base notebook with provenance, ``value`` at ``path`` under ``metadata.nbrepro``."""
    return _mutated(("metadata", "nbrepro", *path), value, provenance=True)


def _deep(levels: int, opener: str = "[", closer: str = "]") -> str:
    return opener * levels + closer * levels


def _with_text(key_path: tuple[Any, ...], raw: str) -> bytes:
    """The base notebook with the JSON text ``raw`` at ``key_path`` (for literals json.dumps
    cannot make: NaN in a count, 5,000-digit numbers, deep nesting)."""
    nb = _set(base_notebook(), key_path, "@@HOLE@@")
    return json.dumps(nb).replace('"@@HOLE@@"', raw).encode()


_PROV = ("metadata", "nbrepro")
_E = "environment"
_C1 = ("cells", 1)
_OUT = ("cells", 1, "outputs", 0)
_RESULT = ("cells", 2, "outputs", 0)

#: (id, the file's bytes): JSON that is not a notebook, or a notebook with a field of the wrong
#: type in a place nbrepro reads.
HOSTILE: list[tuple[str, Callable[[], bytes]]] = [
    # -- not a JSON object / not JSON / not UTF-8
    ("empty-file", lambda: b""),
    ("whitespace-only", lambda: b" \n\t\n"),
    ("json-null", lambda: b"null"),
    ("json-array-top", lambda: b"[]"),
    ("array-of-a-notebook", lambda: json.dumps([base_notebook()]).encode()),
    ("json-number", lambda: b"4"),
    ("json-string", lambda: b'"notebook"'),
    ("empty-object", lambda: b"{}"),
    ("truncated", lambda: json.dumps(base_notebook()).encode()[:-7]),
    ("trailing-garbage", lambda: json.dumps(base_notebook()).encode() + b" }"),
    ("utf8-bom", lambda: b"\xef\xbb\xbf" + json.dumps(base_notebook()).encode()),
    ("utf16", lambda: json.dumps(base_notebook()).encode("utf-16")),
    ("latin1-bytes", lambda: _text().replace("title", "t\xeftle").encode("latin-1")),
    ("nul-byte", lambda: b"\x00" + json.dumps(base_notebook()).encode()),
    ("raw-control-in-string", lambda: _text().replace("title", "t\x01").encode()),
    ("binary-garbage", lambda: bytes(range(256)) * 4),
    ("lone-surrogate-escape", lambda: _with_text((*_C1, "source"), '"x = \'\\ud800\'"')),
    ("lone-low-surrogate-in-key", lambda: _with_text(("metadata", "x"), '{"\\udc00": 1}')),
    ("huge-int-count", lambda: _with_text((*_C1, "execution_count"), "9" * 5000)),
    ("nan-count", lambda: _with_text((*_C1, "execution_count"), "NaN")),
    ("infinity-count", lambda: _with_text((*_C1, "execution_count"), "-Infinity")),
    # -- nested too deeply (the decoder, copies and writers recurse per level)
    ("deep-201-in-metadata", lambda: _with_text(("metadata", "x"), _deep(201))),
    ("deep-2000-arrays", lambda: _with_text(("metadata", "x"), _deep(2000))),
    ("deep-5000-objects", lambda: _with_text(("metadata", "x"), '{"a":' * 5000 + "1" + "}" * 5000)),
    ("deep-100k-top", lambda: _deep(100_000).encode()),
    ("deep-in-output-json", lambda: _with_text((*_RESULT, "data", "application/json"), _deep(300))),
    ("deep-unclosed", lambda: ("[" * 50_000).encode()),
    # -- the notebook's top level
    ("nbformat-3", lambda: _mutated(("nbformat",), 3)),
    ("nbformat-string", lambda: _mutated(("nbformat",), "4")),
    ("nbformat-null", lambda: _mutated(("nbformat",), None)),
    ("nbformat-missing", lambda: _mutated(("nbformat",), _DELETE)),
    ("nbformat-5", lambda: _mutated(("nbformat",), 5)),
    ("cells-missing", lambda: _mutated(("cells",), _DELETE)),
    ("cells-object", lambda: _mutated(("cells",), {"0": {}})),
    ("cells-string", lambda: _mutated(("cells",), "cells")),
    ("cells-null", lambda: _mutated(("cells",), None)),
    ("metadata-list", lambda: _mutated(("metadata",), [])),
    ("metadata-string", lambda: _mutated(("metadata",), "meta")),
    ("metadata-null", lambda: _mutated(("metadata",), None)),
    # -- notebook metadata
    ("kernelspec-string", lambda: _mutated(("metadata", "kernelspec"), "python3")),
    ("kernelspec-list", lambda: _mutated(("metadata", "kernelspec"), ["python3"])),
    ("kernelspec-null", lambda: _mutated(("metadata", "kernelspec"), None)),
    ("kernelspec-name-int", lambda: _mutated(("metadata", "kernelspec", "name"), 3)),
    ("kernelspec-language-list", lambda: _mutated(("metadata", "kernelspec", "language"), ["py"])),
    ("language-info-string", lambda: _mutated(("metadata", "language_info"), "python")),
    ("language-info-name-object", lambda: _mutated(("metadata", "language_info", "name"), {})),
    # -- cells
    ("cell-int", lambda: _mutated(("cells", 1), 7)),
    ("cell-string", lambda: _mutated(("cells", 1), "print(1)")),
    ("cell-null", lambda: _mutated(("cells", 1), None)),
    ("cell-list", lambda: _mutated(("cells", 1), [])),
    ("cell-type-missing", lambda: _mutated((*_C1, "cell_type"), _DELETE)),
    ("cell-type-heading", lambda: _mutated((*_C1, "cell_type"), "heading")),
    ("cell-type-int", lambda: _mutated((*_C1, "cell_type"), 5)),
    ("cell-id-int", lambda: _mutated((*_C1, "id"), 7)),
    ("cell-id-list", lambda: _mutated((*_C1, "id"), ["c1"])),
    ("cell-id-null", lambda: _mutated((*_C1, "id"), None)),
    ("source-int", lambda: _mutated((*_C1, "source"), 12)),
    ("source-list-with-int", lambda: _mutated((*_C1, "source"), ["x = ", 1])),
    ("source-list-with-null", lambda: _mutated((*_C1, "source"), ["x = 1\n", None])),
    ("source-object", lambda: _mutated((*_C1, "source"), {"code": "x"})),
    ("source-null", lambda: _mutated((*_C1, "source"), None)),
    ("markdown-source-int", lambda: _mutated(("cells", 0, "source"), 1)),
    ("cell-metadata-string", lambda: _mutated((*_C1, "metadata"), "tags")),
    ("cell-metadata-list", lambda: _mutated((*_C1, "metadata"), [])),
    ("cell-metadata-null", lambda: _mutated((*_C1, "metadata"), None)),
    ("tags-string", lambda: _mutated((*_C1, "metadata", "tags"), "parameters")),
    ("tags-with-int", lambda: _mutated((*_C1, "metadata", "tags"), ["parameters", 1])),
    ("tags-object", lambda: _mutated((*_C1, "metadata", "tags"), {"parameters": True})),
    ("tags-with-null", lambda: _mutated((*_C1, "metadata", "tags"), [None])),
    ("count-string", lambda: _mutated((*_C1, "execution_count"), "1")),
    ("count-float", lambda: _mutated((*_C1, "execution_count"), 1.5)),
    ("count-bool", lambda: _mutated((*_C1, "execution_count"), True)),
    ("count-list", lambda: _mutated((*_C1, "execution_count"), [1])),
    ("outputs-string", lambda: _mutated((*_C1, "outputs"), "1\n")),
    ("outputs-object", lambda: _mutated((*_C1, "outputs"), {"0": {}})),
    ("outputs-with-int", lambda: _mutated((*_C1, "outputs"), [1])),
    ("outputs-with-string", lambda: _mutated((*_C1, "outputs"), ["text"])),
    ("outputs-null", lambda: _mutated((*_C1, "outputs"), None)),
    ("markdown-outputs-string", lambda: _mutated(("cells", 0, "outputs"), "x")),
    # -- outputs
    ("output-type-missing", lambda: _mutated((*_OUT, "output_type"), _DELETE)),
    ("output-type-int", lambda: _mutated((*_OUT, "output_type"), 1)),
    ("stream-text-int", lambda: _mutated((*_OUT, "text"), 5)),
    ("stream-text-list-int", lambda: _mutated((*_OUT, "text"), ["1", 2])),
    ("stream-name-int", lambda: _mutated((*_OUT, "name"), 1)),
    ("data-string", lambda: _mutated((*_RESULT, "data"), "2")),
    ("data-text-int", lambda: _mutated((*_RESULT, "data", "text/plain"), 2)),
    ("data-text-list-int", lambda: _mutated((*_RESULT, "data", "text/plain"), [2])),
    ("output-metadata-list", lambda: _mutated((*_RESULT, "metadata"), [])),
    ("result-count-string", lambda: _mutated((*_RESULT, "execution_count"), "2")),
    ("traceback-string", lambda: _mutated((*_OUT, "traceback"), "Traceback...")),
    ("traceback-with-int", lambda: _mutated((*_OUT, "traceback"), ["a", 1])),
    ("ename-int", lambda: _mutated((*_OUT, "ename"), 1)),
    ("evalue-null", lambda: _mutated((*_OUT, "evalue"), None)),
    # -- metadata.nbrepro (the provenance readers: drift, diagnosis, check, merge)
    ("provenance-string", lambda: _mutated(_PROV, "recorded")),
    ("provenance-list", lambda: _mutated(_PROV, [PROVENANCE])),
    ("provenance-number", lambda: _mutated(_PROV, 1)),
    ("prov-cells-string", lambda: _prov(("cells",), "c1")),
    ("prov-cells-list", lambda: _prov(("cells",), [{}])),
    ("prov-cell-entry-string", lambda: _prov(("cells", "c1"), "ok")),
    ("prov-cell-inputs-string", lambda: _prov(("cells", "c1", "inputs"), "data.csv")),
    ("prov-cell-inputs-int", lambda: _prov(("cells", "c1", "inputs"), [1])),
    ("prov-cell-count-string", lambda: _prov(("cells", "c1", "execution_count"), "1")),
    ("prov-cell-hash-int", lambda: _prov(("cells", "c1", "source_hash"), 5)),
    ("prov-inputs-list", lambda: _prov(("inputs",), ["data.csv"])),
    ("prov-inputs-string", lambda: _prov(("inputs",), "data.csv")),
    ("prov-input-entry-string", lambda: _prov(("inputs", "data.csv"), "file")),
    ("prov-input-size-string", lambda: _prov(("inputs", "data.csv", "size"), "3")),
    ("prov-input-produced-string", lambda: _prov(("inputs", "data.csv", "produced"), "no")),
    ("prov-input-hash-int", lambda: _prov(("inputs", "data.csv", "hash"), 0)),
    ("prov-executions-object", lambda: _prov(("executions",), {})),
    ("prov-executions-string", lambda: _prov(("executions",), "c1")),
    ("prov-execution-string", lambda: _prov(("executions", 0), "c1")),
    ("prov-execution-cell-id-int", lambda: _prov(("executions", 0, "cell_id"), 1)),
    ("prov-execution-inputs-string", lambda: _prov(("executions", 0, "inputs"), "a")),
    ("prov-environment-string", lambda: _prov((_E,), "linux")),
    ("prov-environment-list", lambda: _prov((_E,), [])),
    ("prov-python-string", lambda: _prov((_E, "python"), "3.11")),
    ("prov-python-version-int", lambda: _prov((_E, "python", "version"), 3)),
    ("prov-platform-list", lambda: _prov((_E, "platform"), ["linux"])),
    ("prov-kernel-string", lambda: _prov((_E, "kernel"), "python3")),
    ("prov-packages-list", lambda: _prov((_E, "packages"), ["numpy"])),
    ("prov-package-version-int", lambda: _prov((_E, "packages", "numpy"), 1)),
    ("prov-package-name-newline", lambda: _prov((_E, "packages"), {"np\n-i http://x": "1"})),
    ("prov-package-version-escape", lambda: _prov((_E, "packages", "numpy"), "1\x1b[2J")),
    ("prov-env-vars-string", lambda: _prov((_E, "env_vars"), "TZ=UTC")),
    ("prov-env-var-int", lambda: _prov((_E, "env_vars", "TZ"), 0)),
    ("prov-digest-int", lambda: _prov((_E, "packages_digest"), 0)),
    ("prov-session-string", lambda: _prov(("session",), "s")),
    ("prov-session-id-int", lambda: _prov(("session", "id"), 5)),
    ("prov-deleted-string", lambda: _prov(("deleted_cells",), "c9")),
    ("prov-deleted-int", lambda: _prov(("deleted_cells",), [9])),
    ("prov-recorder-int", lambda: _prov(("recorder",), 1)),
    ("prov-version-int", lambda: _prov(("nbrepro_version",), 1)),
]  # fmt: skip

#: Commands whose every hostile case runs in-process (all but the slowest pairs run).
COMMANDS = ("check", "check-json", "verify", "run", "env-diff", "env-export")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "content"), HOSTILE, ids=[name for name, _ in HOSTILE])
def test_hostile_notebook_is_refused_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: Callable[[], bytes],
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "hostile.ipynb", content())
    before = sha(path)
    outcome = run_cli(capsys, *commands(path.name)[command])
    assert_refused(outcome, contains="hostile.ipynb")
    assert sha(path) == before
    assert not (tmp_path / ".nbrepro").exists(), "nothing may be stored for a refused notebook"


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("deep-100k-top", "check"),
        ("kernelspec-string", "check"),
        ("source-list-with-int", "verify"),
        ("prov-cells-string", "verify"),
        ("prov-cells-string", "run"),
        ("deep-2000-arrays", "env-diff"),
        ("prov-package-name-newline", "env-export"),
        ("tags-string", "check"),
    ],
)
def test_hostile_notebook_in_a_real_process(tmp_path: Path, name: str, command: str) -> None:
    content = dict(HOSTILE)[name]
    path = write(tmp_path / "hostile.ipynb", content())
    before = sha(path)
    assert_refused(run_process(*commands(path.name)[command], cwd=tmp_path))
    assert sha(path) == before


def test_check_reports_every_unreadable_notebook_and_still_checks_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = dict(HOSTILE)
    for name in ("kernelspec-string", "deep-2000-arrays", "prov-cells-string", "tags-string"):
        write(tmp_path / f"{name}.ipynb", bad[name]())
    good = base_notebook()
    good["cells"][1]["execution_count"], good["cells"][2]["execution_count"] = 2, 1
    write(tmp_path / "good.ipynb", good)
    outcome = run_cli(capsys, "check", ".")
    assert outcome.code == 2 and "Traceback" not in outcome.err + outcome.out
    assert len(outcome.err.splitlines()) == 4
    assert all(line.startswith("nbrepro: error: ") for line in outcome.err.splitlines())
    assert "good.ipynb:cell 2" in outcome.out  # the readable notebook was checked
    assert "4 inputs could not be read" in outcome.out


# -- notebooks that are odd but valid: never refused ---------------------------------------------


def _valid_odd() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []

    def add(name: str, change: Callable[[dict[str, Any]], Any], provenance: bool = False) -> None:
        nb = base_notebook(provenance=provenance)
        change(nb)
        cases.append((name, nb))

    add("no-ids-nbformat-4.0", lambda nb: [c.pop("id") for c in nb["cells"]])
    add("no-metadata-at-all", lambda nb: [c.pop("metadata") for c in nb["cells"]])
    add("unknown-keys", lambda nb: nb["metadata"].update(widgets={"x": [1, {"y": None}]}))
    add("unknown-output-type", lambda nb: nb["cells"][1]["outputs"].append({"output_type": "x"}))
    add(
        "json-mime-any-value",
        lambda nb: nb["cells"][2]["outputs"][0]["data"].update(
            {"application/json": [1, {"a": None}], "application/vnd.x+json": 3}
        ),
    )
    add("deep-but-legal-150", lambda nb: nb["metadata"].update(x=json.loads(_deep(150))))
    add(
        "unicode-everywhere",
        lambda nb: nb["cells"][1].update(
            source="ñ = '日本語 \u2028 \u202e'\nprint(ñ)", id="ünï-çødé"
        ),
    )
    add("surrogate-pair-escaped", lambda nb: nb["cells"][2].update(source="'\U0001f600'"))
    add(
        "hostile-cell-ids",
        lambda nb: [
            c.update(id=i)
            for c, i in zip(nb["cells"], ["\x1b[31m", "\u202eevil", "a\u2028b"], strict=True)
        ],
    )
    add(
        "provenance-nulls",
        lambda nb: nb["metadata"]["nbrepro"].update(
            executions=None, deleted_cells=None, session={"id": None, "started": None}
        ),
        provenance=True,
    )
    add("provenance-empty", lambda nb: nb["metadata"].update(nbrepro={}))
    add(
        "provenance-unknown-keys",
        lambda nb: nb["metadata"]["nbrepro"].update(future={"x": [1]}, schema_version=99),
        provenance=True,
    )
    add(
        "relay-provenance",
        lambda nb: nb["metadata"].update(
            nbrepro={
                "schema_version": 1,
                "recorder": "relay",
                "session": {"id": "k", "started": None},
                "environment": {"kernel": {"name": "", "language": ""}},
                "inputs": {},
                "cells": {},
                "executions": [],
            }
        ),
    )
    add(
        "count-zero-and-null",
        lambda nb: [
            nb["cells"][1].update(execution_count=0),
            nb["cells"][2].update(execution_count=None),
        ],
    )
    add(
        "huge-counts",
        lambda nb: [
            nb["cells"][1].update(execution_count=2**70),
            nb["cells"][2].update(execution_count=10**4299),
        ],
    )
    add("deep-python-source", lambda nb: nb["cells"][2].update(source="x = 1" + " + 1" * 3000))
    add("very-long-source-line", lambda nb: nb["cells"][2].update(source="y = " + "(" * 1000))
    return cases  # fmt: skip


VALID_ODD = _valid_odd()


@pytest.mark.parametrize(("name", "nb"), VALID_ODD, ids=[name for name, _ in VALID_ODD])
def test_odd_but_valid_notebooks_are_read_and_checked(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    nb: dict[str, Any],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "odd.ipynb", nb)
    before = sha(path)
    for args in (
        ("check", "--suggest-order", path.name),
        ("check", "--format", "github", path.name),
    ):
        outcome = run_cli(capsys, *args)
        assert outcome.code in (0, 1), outcome.err
        assert outcome.err == "" and "Traceback" not in outcome.out
        assert_printable(outcome.out)
    assert sha(path) == before


def test_an_odd_notebook_is_written_back_as_it_reads(tmp_path: Path) -> None:
    from nbrepro.notebook_io import read_notebook, to_nbformat_layout, write_notebook

    for name, nb in VALID_ODD:
        path = write(tmp_path / f"{name}.ipynb", nb)
        read = read_notebook(path)
        write_notebook(read, tmp_path / "copy.ipynb")
        assert read_notebook(tmp_path / "copy.ipynb") == to_nbformat_layout(read), name


def test_the_base_notebooks_are_valid_for_nbformat_and_the_provenance_schema() -> None:
    import nbformat

    from nbrepro.provenance import validation_errors

    for provenance in (False, True):
        nbformat.validate(nbformat.from_dict(base_notebook(provenance=provenance)))
    assert validation_errors(PROVENANCE) == []


def test_check_never_imports_nbformat_or_its_validator(tmp_path: Path) -> None:
    path = write(tmp_path / "hostile.ipynb", dict(HOSTILE)["prov-cells-string"]())
    code = textwrap.dedent(
        f"""
        import contextlib, io, sys
        from nbrepro.cli import main
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            code = main(["check", {str(path)!r}])
        print(code, sorted(m for m in sys.modules if m.split(".")[0] in ("nbformat", "jsonschema")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "[]"]


# -- paths -------------------------------------------------------------------------------------

LONG_NAME = "a" * 5000 + ".ipynb"
LONG_COMPONENT = "b" * 300 + ".ipynb"
DEEP_PATH = "/".join(["c" * 200] * 30) + "/x.ipynb"


def _special(tmp_path: Path, kind: str) -> str:
    """A path of kind ``kind`` under ``tmp_path`` (made there), as given on the command line."""
    if kind == "long-name":
        return LONG_NAME
    if kind == "long-component":
        return LONG_COMPONENT
    if kind == "deep-path":
        return DEEP_PATH
    if kind == "missing":
        return "missing.ipynb"
    if kind == "dev-null":
        return os.devnull
    if kind == "symlink-loop":
        os.symlink("loop.ipynb", tmp_path / "loop.ipynb")
        return "loop.ipynb"
    if kind == "dangling-symlink":
        os.symlink("nowhere.ipynb", tmp_path / "dangling.ipynb")
        return "dangling.ipynb"
    if kind == "control-characters-in-name":
        name = "bad\x1b[31m\u202e\u2028\r\tname.ipynb"
        write(tmp_path / name, b"{not json")
        return name
    raise AssertionError(kind)


#: Paths ``nbrepro run`` still fails on outside the notebook reader (see the report of issue 13).
PATH_KINDS = (
    "long-name",
    "long-component",
    "deep-path",
    "missing",
    "dev-null",
    "symlink-loop",
    "dangling-symlink",
    "control-characters-in-name",
)


@pytest.mark.parametrize("command", ("check", "verify", "run", "env-diff", "env-export"))
@pytest.mark.parametrize("kind", PATH_KINDS)
def test_hostile_path_is_refused_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    arg = _special(tmp_path, kind)
    outcome = run_cli(capsys, *commands(arg)[command])
    assert_refused(outcome)
    assert not (tmp_path / ".nbrepro").exists()


@pytest.mark.parametrize("command", ("run", "env-diff", "env-export"))
def test_a_directory_is_not_a_notebook(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.ipynb").mkdir()
    assert_refused(run_cli(capsys, *commands("folder.ipynb")[command]), contains="directory")


@pytest.mark.parametrize("command", ("check", "verify", "env-diff"))
@pytest.mark.parametrize("kind", ("dev-zero", "fifo"))
def test_a_device_or_a_pipe_is_refused_not_read_forever(
    tmp_path: Path, kind: str, command: str
) -> None:
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.ipynb")  # nobody ever writes to it
        arg = "pipe.ipynb"
    else:
        arg = "/dev/zero"
    assert_refused(run_process(*commands(arg)[command], cwd=tmp_path, timeout=60))


def test_a_fifo_in_a_folder_does_not_hang_check(tmp_path: Path) -> None:
    write(tmp_path / "a.ipynb", base_notebook())
    os.mkfifo(tmp_path / "b.ipynb")
    outcome = run_process("check", ".", cwd=tmp_path, timeout=60)
    assert_refused(outcome, contains="b.ipynb")
    assert "1 input could not be read" in outcome.out


def test_a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    nb = base_notebook()
    nb["cells"][1]["execution_count"], nb["cells"][2]["execution_count"] = 2, 1
    name = os.fsdecode(b"caf\xe9-\x1b[2J.ipynb")
    write(tmp_path / name, nb)
    outcome = run_process("check", name, cwd=tmp_path)  # stdout is strict UTF-8
    assert outcome.code == 1, outcome.err
    assert "Traceback" not in outcome.err and "\\udce9" in outcome.out
    assert_printable(outcome.out)


def test_hostile_cell_ids_and_paths_are_escaped_in_every_check_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    nb = base_notebook()
    nb["cells"][1].update(id="\x1b]0;owned\x07\u202e", execution_count=3)
    nb["cells"][2].update(id="x\u2028y\r", execution_count=1, source="y = zz + 1")
    name = "n\u202eb\x1b[1m.ipynb"
    write(tmp_path / name, nb)
    for fmt in ("text", "github"):
        outcome = run_cli(capsys, "check", "--format", fmt, "--suggest-order", name)
        assert outcome.code == 1 and outcome.err == ""
        assert_printable(outcome.out)
        assert "\\x1b]0;owned\\x07\\u202e" in outcome.out
    outcome = run_cli(capsys, "check", "--format", "json", name)
    assert json.loads(outcome.out)[0]["path"] == name  # data, exact


# -- writes: a full disk ---------------------------------------------------------------------

_FULL_DISK = r"""
import hashlib, json, os, sys
from pathlib import Path
folder, source = Path(sys.argv[1]), Path(sys.argv[2])
nb = folder / "nb.ipynb"
nb.write_bytes(source.read_bytes())
try:  # fill the disk
    with open(folder / "filler", "wb") as fh:
        while True:
            fh.write(b"x" * 4096)
            fh.flush()
except OSError:
    pass
before = hashlib.sha256(nb.read_bytes()).hexdigest()
result = {}
if sys.argv[3] == "magic":
    import contextlib, io
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nbrepro")
    shell.run_cell("x = 1", store_history=True)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        shell.run_line_magic("nbrepro", f"save {nb}")
    result["err"] = err.getvalue()
else:
    import subprocess
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "env", "export", str(nb), "-o", str(folder / "req.txt")],
        capture_output=True, text=True,
    )
    result.update(err=proc.stderr, code=proc.returncode, out=proc.stdout)
result["same"] = hashlib.sha256(nb.read_bytes()).hexdigest() == before
result["left"] = sorted(p.name for p in folder.iterdir())
print(json.dumps(result))
"""


def _on_a_full_disk(tmp_path: Path, notebook: dict[str, Any], mode: str) -> dict[str, Any]:
    """Run the script above in a private mount namespace with a 1 MB tmpfs (root only)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a small tmpfs")
    folder = tmp_path / "disk"
    folder.mkdir()
    source = write(tmp_path / "source.ipynb", notebook)
    script = tmp_path / "full_disk.py"
    script.write_text(_FULL_DISK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env.update(JUPYTER_PLATFORM_DIRS="1", IPYTHONDIR=str(tmp_path / "ipython"))
    command = (
        f"mount -t tmpfs -o size=1m tmpfs {folder} && "
        f"exec {sys.executable} {script} {folder} {source} {mode}"
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    if proc.returncode != 0 and "mount" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def test_nbrepro_save_on_a_full_disk_is_one_line_and_the_notebook_is_intact(
    tmp_path: Path,
) -> None:
    result = _on_a_full_disk(tmp_path, base_notebook(), "magic")
    assert "Traceback" not in result["err"]
    lines = result["err"].splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbrepro: error: "), result["err"]
    assert "No space left on device" in lines[0]
    assert result["same"] is True
    assert result["left"] == ["filler", "nb.ipynb"], "no temporary file left behind"


def test_env_export_to_a_full_disk_is_one_line(tmp_path: Path) -> None:
    result = _on_a_full_disk(tmp_path, base_notebook(provenance=True), "export")
    outcome = Outcome(result["code"], result["out"], result["err"])
    assert_refused(outcome, contains="No space left on device")
    assert result["same"] is True
    assert result["left"] == ["filler", "nb.ipynb"]


def test_nbrepro_save_into_an_invalid_notebook_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "nb.ipynb", dict(HOSTILE)["kernelspec-string"]())
    before = sha(path)
    code = textwrap.dedent(
        f"""
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "nbrepro")
        shell.run_cell("x = 1", store_history=True)
        shell.run_line_magic("nbrepro", "save {path}")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env.update(JUPYTER_PLATFORM_DIRS="1", IPYTHONDIR=str(tmp_path / "ipython"))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbrepro: error: "), proc.stderr
    assert "metadata.kernelspec is not an object" in lines[0]
    assert sha(path) == before
