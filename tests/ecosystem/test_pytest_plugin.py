"""The pytest plugin, run by pytest itself (pytester) over notebooks made by real kernels."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import PLUGIN_ARGS

pytestmark = pytest.mark.kernel


def test_plugin_collects_nothing_without_the_flag(pytester: pytest.Pytester, copy_recorded):
    copy_recorded(pytester.path)
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider")
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_plugin_passes_a_notebook_that_reproduces(pytester: pytest.Pytester, copy_recorded):
    copy_recorded(pytester.path)
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", "--nbrepro", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*sums.ipynb::verify PASSED*"])


def test_plugin_fails_a_notebook_whose_output_changed_and_shows_the_cell_diff(
    pytester: pytest.Pytester, copy_recorded
):
    copy_recorded(pytester.path)
    (pytester.path / "numbers.txt").write_text("1 2 3 4 5\n", encoding="utf-8")
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", "--nbrepro")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "sums.ipynb: NOT reproduced (2 of 3 code cells differ;*",
            "  cell 2 (id cell-1) mismatch: stdout differs*",
            "    -total: 10",
            "    +total: 15",
            "  cell 3 (id cell-2) mismatch: text/plain differs*",
            "FAILED sums.ipynb::verify - sums.ipynb: NOT reproduced*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "without encryption" not in result.stdout.str()


def test_plugin_collects_one_item_per_notebook_and_skips_checkpoints(
    pytester: pytest.Pytester, copy_recorded
):
    copy_recorded(pytester.path / "a")
    copy_recorded(pytester.path / "b", "other.ipynb")
    copy_recorded(pytester.path / "a" / ".ipynb_checkpoints", "sums-checkpoint.ipynb")
    pytester.makeini("[pytest]\nnorecursedirs = build\n")
    result = pytester.runpytest_inprocess(
        *PLUGIN_ARGS, "-p", "no:cacheprovider", "--nbrepro", "--collect-only", "-q"
    )
    result.stdout.fnmatch_lines(["a/sums.ipynb::verify", "b/other.ipynb::verify", "2 tests*"])
    assert "checkpoint" not in result.stdout.str()


def test_plugin_spreads_notebooks_over_xdist_workers(pytester: pytest.Pytester, copy_recorded):
    copy_recorded(pytester.path, "first.ipynb")
    copy_recorded(pytester.path, "second.ipynb")
    result = pytester.runpytest_subprocess(
        *PLUGIN_ARGS, "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "--nbrepro", "-v"
    )
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "created: 2/2 workers" in out
    workers = {line.split("]")[0] for line in out.splitlines() if " PASSED " in line}
    assert workers == {"[gw0", "[gw1"}, out


def test_plugin_fails_an_unreadable_notebook_with_a_one_line_message(pytester: pytest.Pytester):
    (pytester.path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", "--nbrepro")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["nbrepro: error: *broken.ipynb*"])
    assert "Traceback" not in result.stdout.str()


def test_plugin_options_and_ini_settings_map_to_verify_options(pytester: pytest.Pytester):
    (pytester.path / "clean.cfg").write_text("regex: \\d+ ms\nreplace: N ms\n", encoding="utf-8")
    pytester.makeini(
        "[pytest]\n"
        "nbrepro_timeout = 30\n"
        "nbrepro_rtol = 0.01\n"
        "nbrepro_sanitize = clean.cfg\n"
        "nbrepro_ignore_stderr = true\n"
        "nbrepro_param =\n    alpha=0.5\n    name=ann\n"
    )
    from nbrepro.pytest_plugin import build_options

    config = pytester.parseconfigure(
        *PLUGIN_ARGS,
        "--nbrepro",
        "--nbrepro-timeout",
        "5",
        "--nbrepro-kernel",
        "python3",
        "--nbrepro-runs",
        "2",
        "--nbrepro-atol",
        "0.5",
        "--nbrepro-lax",
    )
    options = build_options(config)
    assert options.timeout == 5.0  # the command line wins over the ini file
    assert options.kernel == "python3"
    assert options.runs == 2
    assert options.lax is True
    assert options.parameters == {"alpha": 0.5, "name": "ann"}
    assert options.compare is not None
    assert (options.compare.rtol, options.compare.atol) == (0.01, 0.5)
    assert options.compare.ignore_stderr is True
    assert options.compare.sanitizers[0].apply("took 12 ms") == "took N ms"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nbrepro-runs", "0"], "--nbrepro-runs: must be at least 1: 0"),
        (["--nbrepro-timeout", "soon"], "--nbrepro-timeout: not a number: 'soon'"),
        (["--nbrepro-param", "alpha"], "--nbrepro-param expects NAME=VALUE, got 'alpha'"),
        (["--nbrepro-sanitize", "missing.cfg"], "nbrepro: missing.cfg: no such sanitize file"),
    ],
)
def test_plugin_rejects_bad_options_before_collecting(
    pytester: pytest.Pytester, args: list[str], message: str
):
    result = pytester.runpytest_inprocess(
        *PLUGIN_ARGS, "-p", "no:cacheprovider", "--nbrepro", *args
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_plugin_module_imports_none_of_the_core():
    code = (
        "import json, sys, nbrepro.pytest_plugin\n"
        "heavy = [m for m in sys.modules if m.startswith(('nbrepro.verify.pipeline',"
        " 'nbrepro.verify.model', 'nbrepro.verify.prepare', 'nbrepro.compare',"
        " 'nbrepro.execute', 'nbclient', 'nbformat', 'jupyter_client'))]\n"
        "print(json.dumps(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []
