"""The execution engine with a real ipykernel: statuses, faults, isolation, input untouched."""

from __future__ import annotations

import asyncio
import copy

import pytest
from tests.kernel_session import new_notebook

from nbrepro.errors import KernelNotFound
from nbrepro.execute.engine import execute_notebook

pytestmark = pytest.mark.kernel


def test_one_run_records_every_status_and_leaves_the_input_untouched(tmp_path):
    (tmp_path / "here.txt").write_text("found me")
    nb = new_notebook(
        [
            "print(open('here.txt').read())",  # 0 cwd is honoured
            "import os\nprint(os.environ['NBREPRO_TEST_VAR'])",  # 1 env is passed
            "print(get_ipython().history_manager.hist_file)",  # 2 no history database on disk
            "#md a markdown cell",  # 3 not a code cell
            "raise KeyError('boom')",  # 4 error does not stop the run
            "print('skipped')",  # 5 skip-execution tag
            "print('skipped by index')",  # 6 skip_cells
            "print('still running')",  # 7
            "import time\ntime.sleep(30)",  # 8 per-cell timeout
            "print('never')",  # 9 not run
        ]
    )
    nb["cells"][5]["metadata"]["tags"] = ["skip-execution"]
    nb["cells"][5]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "old\n"}]
    original = copy.deepcopy(nb)
    seen, started = [], []
    result = execute_notebook(
        nb,
        cwd=tmp_path,
        timeout=1.5,
        env={"NBREPRO_TEST_VAR": "from-env"},
        skip_cells=[6],
        on_cell=seen.append,
        on_cell_start=lambda index, cid: started.append(index),
    )
    assert nb == original
    statuses = {c.index: c.status for c in result.cells}
    assert statuses == {
        0: "ok",
        1: "ok",
        2: "ok",
        4: "error",
        5: "skipped",
        6: "skipped",
        7: "ok",
        8: "timeout",
        9: "not-run",
    }
    assert [c.index for c in seen] == [c.index for c in result.cells]
    assert started == [0, 1, 2, 4, 7, 8]
    out = result.nb["cells"]
    assert out[0]["outputs"][0]["text"] == "found me\n"
    assert out[1]["outputs"][0]["text"] == "from-env\n"
    assert out[2]["outputs"][0]["text"] == ":memory:\n"
    assert out[5]["outputs"][0]["text"] == "old\n"
    error = result.cells[3]
    assert (error.error_name, error.error_value) == ("KeyError", "'boom'")
    assert out[7]["outputs"][0]["text"] == "still running\n"
    assert result.timed_out and not result.notebook_timed_out
    assert result.cells[-2].duration >= 1.4
    assert result.kernel_died_at is None
    assert result.kernel_name == "python3"
    assert result.nb["metadata"]["language_info"]["name"] == "python"
    assert "TCP without encryption" not in result.kernel_stderr
    assert not result.ok


def test_kernel_death_names_the_cell_and_stops_the_run(tmp_path):
    nb = new_notebook(["print('before')", "import os\nos._exit(1)", "print('after')"])
    result = execute_notebook(nb, cwd=tmp_path)
    assert result.kernel_died_at == 1
    assert [c.status for c in result.cells] == ["ok", "kernel-died", "not-run"]
    assert "cell 2 (id cell-1)" in (result.cells[1].error_value or "")


def test_whole_notebook_timeout_counts_from_kernel_ready(tmp_path):
    nb = new_notebook(["import time", "time.sleep(0.6)", "time.sleep(0.6)", "print('late')"])
    result = execute_notebook(nb, cwd=tmp_path, notebook_timeout=1.0)
    assert result.notebook_timed_out and result.timed_out
    assert [c.status for c in result.cells] == ["ok", "ok", "timeout", "not-run"]


def test_unknown_kernel_is_a_one_line_input_error(tmp_path):
    nb = new_notebook(["1"], kernel="no-such-kernel")
    with pytest.raises(KernelNotFound, match="'no-such-kernel' is not installed"):
        execute_notebook(nb, cwd=tmp_path)


async def test_sync_api_works_inside_a_running_event_loop(tmp_path):
    asyncio.get_running_loop()
    result = execute_notebook(new_notebook(["40 + 2"]), cwd=tmp_path)
    assert result.ok
    assert result.nb["cells"][0]["outputs"][0]["data"]["text/plain"] == "42"


def test_local_ipykernels_talk_over_private_ipc_sockets_that_are_removed_after(
    tmp_path, monkeypatch
):
    """No TCP port is taken, so kernels started in parallel cannot race for one (papermill
    #511); the sockets live in a private folder that is gone once the kernel is."""
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code = (
        "import json, ipykernel.connect\n"
        "info = json.loads(ipykernel.connect.get_connection_info())\n"
        "print(info['transport'], info['ip'].startswith(" + repr(str(scratch)) + "))"
    )
    result = execute_notebook(new_notebook([code]), cwd=tmp_path)
    assert [c.status for c in result.cells] == ["ok"]
    assert result.nb["cells"][0]["outputs"][0]["text"] == "ipc True\n"
    assert list(scratch.iterdir()) == []


def test_a_kernel_of_any_kind_dies_with_the_process_that_started_it(tmp_path):
    """Kernels run in a session of their own; one that does not watch its parent (not an
    ipykernel: here a process that never answers) still dies when nbrepro is killed -9."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    spec = tmp_path / "jupyter" / "kernels" / "sleeper"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", "import time; time.sleep(600)", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Sleeper", "language": "python"})
    )
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps(new_notebook(["1"])))
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path / "jupyter")}
    verify = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "verify", str(nb), "--kernel", "sleeper"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        sleepers: list[psutil.Process] = []
        while not sleepers:
            assert time.monotonic() < deadline and verify.poll() is None, "no kernel started"
            time.sleep(0.1)
            sleepers = [
                p
                for p in psutil.Process(verify.pid).children(recursive=True)
                if "time.sleep(600)" in " ".join(p.cmdline())
            ]
        os.kill(verify.pid, signal.SIGKILL)
        verify.wait(timeout=10)
        gone, alive = psutil.wait_procs(sleepers, timeout=10)
    finally:
        if verify.poll() is None:
            verify.kill()
    for process in alive:
        process.kill()
    assert alive == [] and len(gone) == 1
