"""``nbrepro check``: formats, exit codes, rule selection, configuration, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from nbrepro.cli import main
from nbrepro.notebook_io import write_notebook

from .conftest import notebook, with_counts


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with a clean and a problematic notebook; the current directory."""
    monkeypatch.chdir(tmp_path)
    write_notebook(with_counts(notebook(["a = 1", "print(a)"]), [1, 2]), tmp_path / "clean.ipynb")
    bad = with_counts(notebook(["y = x + 1", "x = 1"]), [2, 1])
    write_notebook(bad, tmp_path / "sub" / "bad.ipynb")
    return tmp_path


def run(capsys, *args):
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_notebook_exits_zero(project, capsys):
    code, out, err = run(capsys, "clean.ipynb")
    assert (code, err) == (0, "")
    assert out.strip() == "All checks passed (1 notebook)."


def test_findings_exit_one_in_ruff_like_text(project, capsys):
    code, out, _ = run(capsys, ".")
    assert code == 1
    lines = out.splitlines()
    path = os.path.join("sub", "bad.ipynb")
    cell_id = lines[0].split("[")[1].split("]")[0]
    assert lines[0] == (
        f"{path}:cell 1 [{cell_id}]: NBR101 cell 1 ran as In [2], after cell 2 below it (In [1]): "
        "the notebook was not run top to bottom"
    )
    assert lines[1].startswith("    fix: Restart the kernel")
    assert lines[2].startswith(f"{path}:cell 1 [{cell_id}]:1:5: NBR201 `x` is used before")
    assert lines[-1] == "Found 2 findings (1 error, 1 warning) in 1 of 2 notebooks."


def test_select_and_ignore(project, capsys):
    assert run(capsys, ".", "--select", "NBR2")[1].count("NBR101") == 0
    assert run(capsys, ".", "--ignore", "NBR101,defined-below")[0] == 0
    assert run(capsys, ".", "--select", "NBR1", "--select", "NBR2", "--ignore", "ALL")[0] == 0


def test_unknown_rule_is_bad_input(project, capsys):
    code, out, err = run(capsys, ".", "--select", "NBR999")
    assert code == 2 and out == ""
    assert err.startswith("nbrepro: error: ") and "NBR999" in err and err.count("\n") == 1


def test_json_format_lists_notebooks_with_stable_keys(project, capsys):
    code, out, _ = run(capsys, ".", "--format", "json", "--suggest-order")
    assert code == 1
    data = json.loads(out)
    assert [entry["path"] for entry in data] == ["clean.ipynb", os.path.join("sub", "bad.ipynb")]
    assert all(list(entry) == ["path", "error", "findings", "suggested_order"] for entry in data)
    assert data[0]["findings"] == [] and data[0]["suggested_order"]["order"] == [0, 1]
    assert [f["rule"] for f in data[1]["findings"]] == ["NBR101", "NBR201"]
    assert data[1]["suggested_order"]["order"] == [1, 0]


def test_github_format_emits_annotations(project, capsys):
    code, out, _ = run(capsys, "sub", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    path = os.path.join("sub", "bad.ipynb")
    assert lines[0].startswith(f"::warning file={path},title=NBR101 out-of-order::cell 1 [")
    assert lines[1].startswith(f"::error file={path},title=NBR201 defined-below::cell 1 [")
    assert all("\n" not in line for line in lines)


def test_github_escapes_properties_and_data():
    from nbrepro.cli.check import _escape_data, _escape_property

    assert _escape_property("a,b:c%") == "a%2Cb%3Ac%25"
    assert _escape_data("x\ny%") == "x%0Ay%25"


def test_suggest_order_in_text(project, capsys):
    _, out, _ = run(capsys, ".", "--suggest-order")
    assert "clean.ipynb: the cell order is already consistent with the dataflow" in out
    assert "bad.ipynb: suggested cell order (cells numbered from 1): 2, 1" in out
    assert "  move cell 2 above cell 1 (it defines `x`, used there)" in out


def test_suggest_order_reports_a_cycle(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_notebook(notebook(["a = b", "b = a"]), tmp_path / "cycle.ipynb")
    _, out, _ = run(capsys, "cycle.ipynb", "--suggest-order")
    assert "cycle.ipynb: no suggested order: no order runs top to bottom" in out


def test_configuration_from_the_nearest_pyproject(project, capsys):
    (project / "pyproject.toml").write_text(
        textwrap.dedent("""
        [project]
        name = "demo"

        [tool.nbrepro]
        exclude = ["clean.ipynb"]

        [tool.nbrepro.check]
        ignore = ["NBR101"]
        builtins = ["x"]
    """)
    )
    (project / "sub" / "pyproject.toml").write_text("[project]\nname = 'no nbrepro here'\n")
    monkeypatch_dir = project / "sub"
    os.chdir(monkeypatch_dir)
    code, out, _ = run(capsys, ".")
    assert (code, out.strip()) == (0, "All checks passed (1 notebook).")
    # Flags win over the configuration.
    code, out, _ = run(capsys, ".", "--ignore", "NBR201")
    assert code == 1 and "NBR101" in out
    os.chdir(project)
    code, out, _ = run(capsys, ".", "--format", "json")
    assert [e["path"] for e in json.loads(out)] == [os.path.join("sub", "bad.ipynb")]


def test_exclude_matches_folders_and_names(project, capsys):
    (project / "pyproject.toml").write_text('[tool.nbrepro]\nexclude = ["sub"]\n')
    assert run(capsys, ".")[0] == 0
    (project / "pyproject.toml").write_text('[tool.nbrepro]\nexclude = ["*bad*"]\n')
    assert run(capsys, ".")[0] == 0
    (project / "pyproject.toml").write_text('[tool.nbrepro]\nexclude = ["other/*"]\n')
    assert run(capsys, ".")[0] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tool.nbrepro\n", "invalid TOML"),
        ('[tool.nbrepro.check]\nselect = ["NOPE1"]\n', "unknown rule 'NOPE1'"),
        ("[tool.nbrepro.check]\nignore = 3\n", "`ignore` must be a list of strings"),
        ('[tool.nbrepro]\ncheck = "x"\n', "must be a table"),
    ],
)
def test_bad_configuration_is_bad_input(project, capsys, content, message):
    (project / "pyproject.toml").write_text(content)
    code, out, err = run(capsys, ".")
    assert code == 2 and out == ""
    assert err.startswith("nbrepro: error: ") and message in err and "pyproject.toml" in err


def test_bad_notebooks_are_reported_and_the_others_still_checked(project, capsys):
    (project / "broken.ipynb").write_text("{not json")
    code, out, err = run(capsys, ".", "missing.ipynb")
    assert code == 2
    assert err.splitlines() == [
        "nbrepro: error: broken.ipynb: not a valid notebook (invalid JSON: Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1))",
        "nbrepro: error: missing.ipynb: no such file or directory",
    ]
    assert "NBR201" in out  # the readable notebooks were checked
    assert "2 inputs could not be read" in out


def test_folders_skip_python_environments_and_checkpoints(project, capsys):
    bad = (project / "sub" / "bad.ipynb").read_text()
    for folder in (".venv/share/doc", "env/lib/site-packages/pkg", ".ipynb_checkpoints"):
        (project / folder).mkdir(parents=True)
        (project / folder / "copy.ipynb").write_text(bad)
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "env" / "conda-meta").mkdir()
    code, out, _ = run(capsys, ".")
    assert code == 1 and "copy.ipynb" not in out
    assert out.splitlines()[-1].endswith("in 1 of 2 notebooks.")


def test_empty_folder_is_clean_with_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(notebook(["y = x"]), tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    code, out, err = run(capsys, ".")
    assert (code, out) == (0, "")
    assert err == "nbrepro: warning: no notebooks found\n"


def test_input_notebook_is_not_modified(project, capsys):
    path = project / "sub" / "bad.ipynb"
    before = path.read_bytes()
    run(capsys, str(path), "--suggest-order", "--format", "json")
    assert path.read_bytes() == before


def _python(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def test_command_line_process_exit_codes_without_tracebacks(project):
    (project / "broken.ipynb").write_text("{not json")
    (project / "old.ipynb").write_text(
        json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []})
    )
    assert _python("-m", "nbrepro", "check", "clean.ipynb", cwd=project).returncode == 0
    assert _python("-m", "nbrepro", "check", "sub", cwd=project).returncode == 1
    for bad in ("broken.ipynb", "old.ipynb", "missing.ipynb"):
        proc = _python("-m", "nbrepro", "check", bad, cwd=project)
        assert proc.returncode == 2, bad
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith(f"nbrepro: error: {bad}:")
    old = _python("-m", "nbrepro", "check", "old.ipynb", cwd=project)
    assert "unsupported notebook format 3" in old.stderr


def test_check_imports_no_nbformat_jupyter_server_tornado_or_ipython(project):
    code = (
        "import sys, contextlib, io\n"
        "from nbrepro.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', '.', '--suggest-order'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('nbformat', 'jupyter_server', 'tornado', 'IPython', 'jsonschema', 'nbclient'))\n"
        "print(heavy)\n"
    )
    # A cell with IPython syntax exercises the rewriting path too.
    write_notebook(notebook(["%matplotlib inline\nfiles = !ls", "files"]), project / "ipy.ipynb")
    proc = _python("-c", code, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
