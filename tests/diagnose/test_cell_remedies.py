"""The one-line remedy of a diagnosed cell (``remedy`` in its JSON), one test per remedy text.

Notebooks and their recorded provenance are made by hand here; verify supplies real ones in
test_verify_diagnosis.py and test_corpus.py.
"""

from __future__ import annotations

import pytest
from tests.diagnose.outcomes import Outcome

import nbrepro.verify.options  # noqa: F401  (the option table that mentions render against)
from nbrepro.diagnose import diagnose_notebook
from nbrepro.hashing import source_hash
from nbrepro.optionspec import render_mentions
from nbrepro.record.drift import CellRef, DriftReport, InputDrift
from nbrepro.record.envdiff import Change, EnvDiff

RERUN = "re-run the notebook top to bottom and save it"


def notebook(*sources: str) -> dict:
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
        for i, s in enumerate(sources)
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def recorded(*sources: str, ran=None, edited=(), environment=None) -> dict:
    """A notebook whose provenance says its cells ran in the order ``ran`` (positions, or the
    id of code that is not a cell of the notebook); ``edited`` cells changed since."""
    nb = notebook(*sources)
    executions, cells = [], {}
    for count, who in enumerate(range(len(sources)) if ran is None else ran, 1):
        cid = f"c{who}" if isinstance(who, int) else who
        digest = source_hash(sources[who]) if isinstance(who, int) else source_hash("")
        if who in edited:
            digest = "sha256:" + "0" * 64
        executions.append({"cell_id": cid, "execution_count": count, "source_hash": digest})
        if isinstance(who, int):
            cells[cid] = {"execution_count": count, "source_hash": digest, "inputs": []}
    nb["metadata"]["nbrepro"] = {
        "cells": cells,
        "executions": executions,
        "deleted_cells": [],
        "environment": environment or {},
    }
    return nb


def remedy(nb, *outcomes, index=None, **kwargs) -> str | None:
    """The remedy of the cell at ``index`` (default: the last outcome's)."""
    kwargs.setdefault("kernel_env", {})
    diagnosis = diagnose_notebook(nb, list(outcomes), **kwargs)
    cell = diagnosis.cells[outcomes[-1].index if index is None else index]
    text = cell.to_dict()["remedy"]
    return render_mentions(text, "cli") if text is not None else None


def error(index: int, name: str, value: str) -> Outcome:
    return Outcome(index, f"c{index}", "error", "", name, value, ["error"])


def mismatch(index: int) -> Outcome:
    return Outcome(index, f"c{index}", "mismatch")


def changed(path: str, status: str = "changed", cell: int = 0) -> InputDrift:
    return InputDrift(
        path, status, "file", "sha256:aa", "sha256:bb", 3, 4, [CellRef(f"c{cell}", 0)]
    )


def drift(*inputs: InputDrift, env: EnvDiff | None = None) -> DriftReport:
    return DriftReport(has_provenance=True, environment=env, inputs=list(inputs))


# -- recorded provenance ---------------------------------------------------------------------


def test_code_edited_rerun_and_save():
    assert remedy(recorded("x = 1", edited={0}), mismatch(0)) == RERUN


def test_code_edited_that_now_raises_fix_the_error_first():
    nb = recorded("raise ValueError('new')", edited={0})
    assert remedy(nb, error(0, "ValueError", "new")) == (
        "fix the ValueError the edited code raises, then " + RERUN
    )


def test_input_changed_restore_the_file_or_rerun():
    nb = recorded("data = open('a.csv').read()", "print(data)")
    report = drift(changed("a.csv"))
    expected = "restore a.csv or re-run the notebook and save it"
    assert remedy(nb, mismatch(0), drift=report) == expected
    # Through the name it defines, for the cell below.
    assert remedy(nb, mismatch(1), drift=report) == expected


def test_input_changed_in_a_cell_that_now_fails_restore_the_file():
    nb = recorded("data = open('a.csv').read()\nint(data)")
    outcome = error(0, "ValueError", "invalid literal")
    assert remedy(nb, outcome, drift=drift(changed("a.csv"))) == "restore a.csv"


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        (
            "import numpy as np\nprint(np.pi)",
            EnvDiff(changed=[Change("numpy", "1.26.4", "2.0.0")]),
            "install numpy==1.26.4",
        ),
        (
            "import time\nprint(time.localtime())",
            EnvDiff(env_vars=[Change("TZ", "JST-9", None)]),
            "start the kernel with TZ=JST-9, as when it ran",
        ),
        (
            "import time\nprint(time.localtime())",
            EnvDiff(env_vars=[Change("TZ", None, "UTC")]),
            "start the kernel without $TZ, as when it ran",
        ),
        (
            "print(1)",
            EnvDiff(python=[Change("version", "3.11.7", "3.12.1")]),
            "use Python 3.11.7, as when it ran",
        ),
        (
            "print(1)",
            EnvDiff(changed=[Change("nbr-unused-pkg", "1.0", "2.0")]),
            "recreate the recorded environment (nbrepro env export --format requirements)",
        ),
    ],
)
def test_environment_changed_put_back_what_the_cell_depends_on(source, env, expected):
    assert remedy(recorded(source), mismatch(0), drift=drift(env=env)) == expected


# -- execution order and hidden state --------------------------------------------------------


def test_execution_order_from_the_journal_move_the_definer_above_or_rerun_in_order():
    nb = recorded("print(y)", "y = 1", ran=[1, 0])
    assert remedy(nb, mismatch(0)) == "move cell 2 above cell 1 or re-run in order"


def test_execution_order_redefined_above_rerun_top_to_bottom():
    nb = recorded("x = 1", "x = 2", "print(x)", ran=[1, 0, 2])
    assert remedy(nb, mismatch(2)) == RERUN


def test_execution_order_without_a_journal_move_the_definer_above():
    nb = notebook("print(y)", "y = 1")
    outcome = error(0, "NameError", "name 'y' is not defined")
    assert remedy(nb, outcome) == "move cell 2 above cell 1 (it defines `y`)"


def test_hidden_state_define_the_name_or_restart_and_run_all():
    outcome = error(0, "NameError", "name 'z' is not defined")
    assert remedy(notebook("print(z)"), outcome) == (
        "define `z` in a cell, or restart the kernel and run all to check"
    )


def test_hidden_state_from_the_journal_with_a_definer_below_move_it_above():
    nb = recorded("print(z)", "z = 2", ran=["console-1", 0])
    assert remedy(nb, mismatch(0)) == "move cell 2 above cell 1 (it defines `z`)"


# -- nondeterminism and outside resources ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import random\nprint(random.random())", "`random.seed(0)`"),
        ("import numpy as np\nprint(np.random.rand())", "`np.random.seed(0)`"),
        ("import torch\nprint(torch.rand(2))", "`torch.manual_seed(0)`"),
    ],
)
def test_nondeterminism_seed_the_generator(source, expected):
    assert remedy(notebook(source), mismatch(0)) == (
        f"seed the generator: {expected} in the first code cell"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "print({'a', 'b', 'c'})",
            "sort the set before showing it, or start the kernel with PYTHONHASHSEED=0",
        ),
        (
            "import uuid\nprint(uuid.uuid4())",
            "keep generated uuids out of the outputs (or derive them from a seeded generator)",
        ),
        (
            "import os\nprint(os.urandom(4))",
            "keep random bytes out of the outputs (or draw them from a seeded generator)",
        ),
    ],
)
def test_nondeterminism_other_sources_of_variation(source, expected):
    assert remedy(notebook(source), mismatch(0)) == expected


def test_nondeterminism_of_the_clock_in_runs_that_differ():
    outcome = Outcome(0, "c0", "nondeterministic", "outputs differ", None, None, ["ok", "ok"])
    assert remedy(notebook("import time\nprint(time.time())"), outcome, runs=2) == (
        "keep the current time out of the outputs (or pass it in as a parameter)"
    )


def test_nondeterminism_without_a_visible_source_has_no_remedy():
    outcome = Outcome(0, "c0", "nondeterministic", "outputs differ", None, None, ["ok", "ok"])
    assert remedy(notebook("print(1)"), outcome, runs=2) is None


def test_external_resource_network_error_and_network_use():
    offline = "keep a copy of what it downloads in the project and read that"
    outcome = error(0, "URLError", "<urlopen error [Errno -2] Name or service not known>")
    source = "import urllib.request\nurllib.request.urlopen('https://example.org').read()"
    assert remedy(notebook(source), outcome) == f"check the network connection, or {offline}"
    assert remedy(notebook(source), mismatch(0)) == offline


def test_external_resource_clock_while_fresh_runs_agree():
    nb = notebook("import time\nprint(time.strftime('%H:%M'))")
    assert remedy(nb, Outcome(0, "c0", "mismatch", run_statuses=["ok", "ok"]), runs=2) == (
        "keep the current time out of the outputs (or pass it in as a parameter)"
    )


# -- what the run and the error show ---------------------------------------------------------


def test_kernel_died_and_the_cells_that_never_ran_after_it():
    nb = notebook("import os\nos._exit(1)", "print(2)")
    outcomes = [
        Outcome(0, "c0", "kernel-died", run_statuses=["kernel-died"]),
        Outcome(1, "c1", "not-run", run_statuses=["not-run"]),
    ]
    assert remedy(nb, *outcomes, index=0) == (
        "find what kills the kernel here (memory, a native crash), then run all"
    )
    assert remedy(nb, *outcomes, index=1) == "fix cell 1 first (the kernel died there)"


def test_timeout_and_the_cells_that_never_ran_after_it():
    nb = notebook("import time\ntime.sleep(99)", "print(2)")
    outcomes = [
        Outcome(0, "c0", "timeout", "cell timeout 1 s", run_statuses=["timeout"]),
        Outcome(1, "c1", "not-run", run_statuses=["not-run"]),
    ]
    assert remedy(nb, *outcomes, index=0) == "make the cell faster or raise the timeout (--timeout)"
    assert remedy(nb, *outcomes, index=1) == "fix cell 1 first (it ran past the timeout)"


def test_missing_module_install_the_recorded_version_or_the_package():
    outcome = error(0, "ModuleNotFoundError", "No module named 'nbr_mod'")
    environment = {"packages": {"nbr-mod": "1.0"}}
    assert remedy(recorded("import nbr_mod", environment=environment), outcome) == (
        "install nbr-mod==1.0"
    )
    assert remedy(notebook("import nbr_mod"), outcome) == (
        "install the package that provides `nbr_mod`"
    )


def test_missing_file_restore_a_recorded_input_or_create_it():
    outcome = error(0, "FileNotFoundError", "[Errno 2] No such file or directory: 'a.csv'")
    source = "open('a.csv').read()"
    report = drift(changed("a.csv", "missing"))
    assert remedy(recorded(source), outcome, drift=report) == "restore a.csv"
    assert remedy(notebook(source), outcome) == "create a.csv or fix the path the cell opens"
    vague = error(0, "FileNotFoundError", "it is gone")
    assert remedy(notebook(source), vague) == "restore the file the cell opens or fix its path"


def test_upstream_failed_fix_the_root_cell_first():
    nb = notebook("rows = open('a.csv').read()", "print(len(rows))")
    outcomes = [
        error(0, "FileNotFoundError", "[Errno 2] No such file or directory: 'a.csv'"),
        error(1, "NameError", "name 'rows' is not defined"),
    ]
    assert remedy(nb, *outcomes) == (
        "fix cell 1 first: create a.csv or fix the path the cell opens"
    )


def test_unknown_has_no_remedy():
    assert remedy(notebook("print(1)"), mismatch(0)) is None
