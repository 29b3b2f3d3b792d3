"""``nbrepro verify`` on a real non-Python kernel: bash_kernel (installed by scripts/test.sh).

The stored outputs come from independent executors (nbclient, papermill), never from nbrepro.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from nbclient import NotebookClient
from papermill.parameterize import parameterize_notebook

from nbrepro.execute.parameters import INJECTED_TAG, inject_parameters

pytestmark = pytest.mark.kernel

SOURCES = [
    'name=world\ncount=3\nflag=false\nratio=0.5\nitems=(x "y z")',
    'echo "hello $name"',
    "for i in $(seq $count); do echo line $i; done",
    'echo "$flag $ratio ${items[1]}"',
    "cat data.txt",
]
# What the -p/-r/-y options below give, typed and ordered as papermill's command line does
# (YAML first, then -p, then -r).
PARAMETERS: dict[str, Any] = {
    "ratio": 1.5,
    "items": [1, "a b"],
    "count": 2,
    "flag": True,
    "name": "it's $HOME",
}
PARAMETER_ARGS = [
    "-r",
    "name",
    "it's $HOME",
    "-p",
    "count",
    "2",
    "-p",
    "flag",
    "True",
    "-y",
    'ratio: 1.5\nitems: [1, "a b"]',
]


def bash_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "bash", "display_name": "Bash", "language": "bash"}}
    )
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"c{i}") for i, src in enumerate(SOURCES)]
    nb.cells[0].metadata["tags"] = ["parameters"]
    return nb


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bash notebook executed once by nbclient, with its data file, in its own folder."""
    folder = tmp_path_factory.mktemp("bash")
    (folder / "data.txt").write_text("from the data file\n")
    nb = bash_notebook()
    NotebookClient(nb, kernel_name="bash", resources={"metadata": {"path": str(folder)}}).execute()
    assert nb.cells[4].outputs[0]["text"] == "from the data file\n"
    nbformat.write(nb, folder / "shell.ipynb")
    return folder


@pytest.fixture
def executed(golden: Path, tmp_path: Path) -> Path:
    """A private copy of the executed bash notebook and its data file."""
    for name in ("shell.ipynb", "data.txt"):
        shutil.copy2(golden / name, tmp_path / name)
    return tmp_path / "shell.ipynb"


def verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbrepro", "verify", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_bash_notebook_that_reproduces_exits_0_and_is_left_untouched(executed):
    before = executed.read_bytes()
    proc = verify(executed, "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "shell.ipynb: reproduced (5 of 5 code cells compared" in proc.stdout
    assert "kernel bash" in proc.stdout
    assert proc.stderr == ""
    assert executed.read_bytes() == before


def test_bash_notebook_whose_output_changed_exits_1_with_a_diff(executed):
    (executed.parent / "data.txt").write_text("changed data\n")
    proc = verify(executed, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    notebook = json.loads(proc.stdout)["notebooks"][0]
    assert notebook["status"] == "not-reproduced" and notebook["kernel"] == "bash"
    assert [c["status"] for c in notebook["cells"]] == ["ok", "ok", "ok", "ok", "mismatch"]
    diff = notebook["cells"][4]["diff"]
    assert "-from the data file" in diff and "+changed data" in diff


def papermill_injected_source(nb: nbformat.NotebookNode) -> str:
    """The injected cell's source, made by papermill's own parameterize_notebook."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata["papermill"] = {}
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    out = parameterize_notebook(nb, dict(PARAMETERS), kernel_name="bash")
    (cell,) = [c for c in out.cells if INJECTED_TAG in c.metadata["tags"]]
    return str(cell.source)


def test_parameters_are_injected_into_bash_exactly_as_papermill_does(executed, tmp_path):
    expected = papermill_injected_source(nbformat.read(executed, 4))
    assert expected == (
        "# Parameters\nratio=1.5\nitems=(1 'a b')\ncount=2\nflag=true\nname='it'\"'\"'s $HOME'\n"
    )
    ours = inject_parameters(json.loads(executed.read_text()), PARAMETERS)
    assert ours.nb["cells"][1]["source"] == expected and ours.index == 1
    assert ours.warnings == [
        "cannot check parameter names: papermill cannot inspect bash parameters cells"
    ]

    # papermill runs the notebook with these values: that copy is the baseline.
    by_papermill = tmp_path / "by_papermill.ipynb"
    papermill.execute_notebook(
        str(executed),
        str(by_papermill),
        parameters=dict(PARAMETERS),
        kernel_name="bash",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    kept = tmp_path / "kept"
    proc = verify(
        executed, *PARAMETER_ARGS, "--against", by_papermill, "--output", kept, "--format", "json"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notebook = json.loads(proc.stdout)["notebooks"][0]
    assert notebook["baseline"] == "against" and notebook["parameters"] == PARAMETERS
    assert [c["status"] for c in notebook["cells"]] == ["ok"] * 6
    executed_copy = json.loads(Path(notebook["output_path"]).read_text())
    injected = executed_copy["cells"][1]
    assert injected["metadata"]["tags"] == [INJECTED_TAG]
    assert "".join(injected["source"]) == expected
    texts = ["".join(o["text"]) for c in executed_copy["cells"][2:5] for o in c["outputs"]]
    assert "".join(texts) == "hello it's $HOME\nline 1\nline 2\ntrue 1.5 a b\n"


def test_a_value_papermill_cannot_translate_to_bash_is_exit_2_in_one_line(tmp_path):
    path = tmp_path / "shell.ipynb"
    nbformat.write(bash_notebook(), path)
    proc = verify(path, "-y", "d: {k: v}", "--runs", "2")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"nbrepro: error: {path}: cannot inject parameter 'd': papermill's BashTranslator "
        "cannot translate a dict value\n"
    )


def test_a_failing_bash_command_is_an_error_named_by_its_exit_status(tmp_path):
    nb = bash_notebook()
    nb.cells = [nbformat.v4.new_code_cell("ls /no-such-folder-here", id="fails")]
    path = tmp_path / "fails.ipynb"
    nbformat.write(nb, path)
    proc = verify(path, "--format", "json")
    assert proc.returncode == 1
    (cell,) = json.loads(proc.stdout)["notebooks"][0]["cells"]
    assert (cell["status"], cell["error_name"], cell["error_value"]) == ("error", "Error", "2")
    assert cell["summary"] == "Error: 2"


def test_a_bash_run_records_an_environment_the_provenance_schema_accepts(tmp_path):
    """A run on a kernel of another language records its platform and kernel, and neither an
    empty ``python`` nor an empty packages digest (the run manifest's ``environment`` is the
    provenance schema's environment object)."""
    import jsonschema

    from nbrepro.provenance import load_schema

    nb = bash_notebook()
    nb.cells = [nbformat.v4.new_code_cell('echo "ran"', id="only")]
    path = tmp_path / "shell.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "run", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (manifest_path,) = tmp_path.glob(".nbrepro/runs/*/run.json")
    environment = json.loads(manifest_path.read_text())["environment"]
    assert environment["kernel"] == {"name": "bash", "language": "bash"} | (
        {"language_version": environment["kernel"]["language_version"]}
        if "language_version" in environment["kernel"]
        else {}
    )
    assert "python" not in environment and "packages_digest" not in environment
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": "#/$defs/environment"}
    )
    assert [e.message for e in validator.iter_errors(environment)] == []
    # The schema still holds a Python kernel's environment to its interpreter and digest.
    python_env = dict(environment, kernel={"name": "python3", "language": "python"})
    assert len(list(validator.iter_errors(python_env))) == 2
