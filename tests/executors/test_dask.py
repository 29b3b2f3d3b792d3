"""The executors against a real Dask scheduler and two workers on 127.0.0.1 (started here)."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from nbrepro.errors import EXIT_USAGE, NbreproError
from nbrepro.executors import make_executor, result_from_dict, result_to_dict
from nbrepro.notebook_io import write_notebook
from nbrepro.verify import VerifyOptions, verify_paths
from tests.kernel_session import new_notebook

pytestmark = pytest.mark.kernel


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes started as subprocesses."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.scheduler = self._start(
            "dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(self.file),
        )
        deadline = time.monotonic() + 60
        while not self.file.is_file():
            assert time.monotonic() < deadline and self.scheduler.poll() is None, "no scheduler"
            time.sleep(0.1)
        self.address = json.loads(self.file.read_text())["address"]
        for _ in range(2):
            self.add_worker()
        self.wait_for(2)

    def _start(self, tool: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{tool}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", f"distributed.cli.{tool}", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        self.procs.append(proc)
        return proc

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One single-threaded worker without a nanny (so SIGKILL really loses it)."""
        worker = self._start(
            "dask_worker",
            "--scheduler-file",
            str(self.file),
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
        )
        self.workers.append(worker)
        return worker

    def alive_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout="10s", set_as_default=False) as client:
            return len(client.scheduler_info()["workers"])

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 90
        while self.alive_workers() < count:
            assert time.monotonic() < deadline, "the Dask workers did not start"
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real scheduler and two workers on 127.0.0.1, killed at the end."""
    started = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield started
    finally:
        started.stop()


def _project(root: Path, sources: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.nbrepro]\nruns_dir = "store"\n')
    nb = new_notebook(sources)
    nb["cells"][0]["metadata"]["tags"] = ["parameters"]
    write_notebook(nb, root / "nb.ipynb")
    return root / "nb.ipynb"


def _nbrepro(*args: str, cwd: Path, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    return subprocess.run(
        [sys.executable, "-m", "nbrepro", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _bundles(runs_dir: Path) -> list[dict[str, Any]]:
    if not runs_dir.is_dir():
        return []
    return [
        json.loads((p / "run.json").read_text())
        for p in sorted(runs_dir.iterdir())
        if (p / "run.json").is_file()
    ]


SWEEP = ["alpha = 0", "import time\ntime.sleep(0.5)\nbeta = alpha * 2", "print(beta)"]
GRID = "alpha=" + ",".join(str(i) for i in range(8))


def test_a_sweep_of_8_points_on_the_cluster_makes_8_bundles(
    cluster: Cluster, tmp_path: Path
) -> None:
    _project(tmp_path, SWEEP)
    args = ["run", "nb.ipynb", "--grid", GRID, "-j", "2", "--executor", "dask", "-q"]
    done = _nbrepro(*args, "--scheduler", cluster.address, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifests = _bundles(tmp_path / "store")
    assert len(manifests) == 8
    assert sorted(m["sweep"]["index"] for m in manifests) == list(range(8))
    assert sorted(m["parameters"]["alpha"] for m in manifests) == list(range(8))
    assert all(m["verdict"] == "succeeded" for m in manifests)
    assert done.stdout.splitlines()[-1] == "8 of 8 runs succeeded"


def test_a_worker_killed_mid_sweep_still_gives_exactly_8_bundles(
    cluster: Cluster, tmp_path: Path
) -> None:
    _project(tmp_path, ["alpha = 0", "import time\ntime.sleep(2)", "alpha"])
    args = ["run", "nb.ipynb", "--grid", GRID, "-j", "2", "--executor", "dask", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", *args, "--scheduler", cluster.address],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    victim = cluster.workers[0]
    try:
        deadline = time.monotonic() + 120
        while not _bundles(tmp_path / "store"):  # the sweep is under way: kill a busy worker
            assert time.monotonic() < deadline and sweep.poll() is None, "no run was stored"
            time.sleep(0.1)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        out, err = sweep.communicate(timeout=180)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        cluster.workers.remove(victim)
        cluster.add_worker()  # two workers again for the tests after this one
    assert sweep.returncode == 0, err
    manifests = _bundles(tmp_path / "store")
    assert len(manifests) == 8
    assert len({m["run_id"] for m in manifests}) == 8
    assert sorted(m["sweep"]["index"] for m in manifests) == list(range(8))
    assert out.splitlines()[-1] == "8 of 8 runs succeeded"
    cluster.wait_for(2)


def _comparable(report: Any) -> list[dict[str, Any]]:
    rows = []
    for notebook in report.to_dict()["notebooks"]:
        rows.append(
            {
                "path": notebook["path"],
                "status": notebook["status"],
                "reason": notebook["reason"],
                "cells": [
                    {k: v for k, v in cell.items() if "duration" not in k and "diff" not in k}
                    for cell in notebook["cells"]
                ],
            }
        )
    return rows


def _verify_project(root: Path) -> list[str]:
    """Three notebooks: one that reproduces, one that does not (random), one that raises."""
    import nbformat
    from nbclient import NotebookClient

    root.mkdir(parents=True, exist_ok=True)
    sources = {
        "same.ipynb": ["x = 2", "print(x * 21)"],
        "random.ipynb": ["import random", "print(random.random())"],
        "raises.ipynb": ["print('before')", "1 / 0"],
    }
    for name, cells in sources.items():
        nb = nbformat.from_dict(new_notebook(cells))
        NotebookClient(nb, allow_errors=True, kernel_name="python3").execute()
        nbformat.write(nb, root / name)
    return [str(root / name) for name in sources]


def test_verify_on_the_cluster_gives_the_local_report(cluster: Cluster, tmp_path: Path) -> None:
    paths = _verify_project(tmp_path)
    options = VerifyOptions(jobs=2)
    local = verify_paths(paths, options)
    remote = verify_paths(paths, options, executor="dask", scheduler=cluster.address)
    assert [n.status for n in local.notebooks][:2] == ["reproduced", "not-reproduced"]
    assert _comparable(remote) == _comparable(local)


def test_the_scheduler_of_the_project_configuration_is_used(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbrepro.executors.dask_cluster import DaskExecutor, scheduler_address

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    (tmp_path / "pyproject.toml").write_text(f'[tool.nbrepro]\nscheduler = "{cluster.address}"\n')
    assert scheduler_address(None, tmp_path) == cluster.address
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:9")
    assert scheduler_address(None, tmp_path) == "tcp://127.0.0.1:9"
    assert scheduler_address("tcp://10.0.0.1:8786", tmp_path) == "tcp://10.0.0.1:8786"
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS")
    with DaskExecutor(start=tmp_path) as executor:
        assert executor.cluster is None and executor.address == cluster.address


def test_without_an_address_a_local_cluster_is_started_and_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    paths = _verify_project(tmp_path)[:1]
    executor = make_executor("dask", jobs=1, start=tmp_path)
    try:
        assert executor.cluster is not None  # type: ignore[attr-defined]
        report = verify_paths(paths, VerifyOptions(), executor=executor)
    finally:
        executor.close()
    assert report.notebooks[0].status == "reproduced"
    assert executor.cluster.status.name == "closed"  # type: ignore[attr-defined]


def test_an_unreachable_scheduler_is_one_line_and_exit_2() -> None:
    with pytest.raises(NbreproError) as caught:
        make_executor("dask", scheduler="tcp://127.0.0.1:9", connect_timeout=2)
    message = caught.value.message_for("cli")
    assert caught.value.exit_code == EXIT_USAGE
    assert "\n" not in message and "tcp://127.0.0.1:9" in message and "--scheduler" in message


def test_the_command_line_says_an_unreachable_scheduler_in_one_line(tmp_path: Path) -> None:
    _project(tmp_path, ["alpha = 0"])
    args = ["run", "nb.ipynb", "--grid", "alpha=1,2", "--executor", "dask"]
    done = _nbrepro(*args, "--scheduler", "tcp://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "tcp://127.0.0.1:9" in done.stderr
    assert not _bundles(tmp_path / "store")


def test_without_dask_installed_the_message_is_one_line_and_exit_2() -> None:
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "from nbrepro.executors import make_executor\n"
        "from nbrepro.errors import NbreproError\n"
        "try:\n    make_executor('dask')\n"
        "except NbreproError as exc:\n"
        "    print(exc.message_for('cli')); sys.exit(exc.exit_code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout.strip() == "--executor dask needs nbrepro[dask]"


def test_an_execution_result_travels_as_pickle_and_json(tmp_path: Path) -> None:
    from nbrepro.executors import ExecuteRequest, run_request

    nb = new_notebook(["print('hi')", "1 / 0"])
    request = ExecuteRequest(key="k", nb=nb, kernel_name="python3", cwd=str(tmp_path))
    assert pickle.loads(pickle.dumps(request)) == request
    result = run_request(request)
    assert pickle.loads(pickle.dumps(result)) == result
    again = result_from_dict(json.loads(json.dumps(result_to_dict(result))))
    assert again == result
    assert [c.status for c in again.cells] == ["ok", "error"]
