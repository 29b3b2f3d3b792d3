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


#: PYTHONHASHSEED (a recorded variable) in the workers' environment only.
WORKER_HASH_SEED = "7"


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes started as subprocesses."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        # The workers' own environment, unlike the client's: their scratch folders go to a
        # folder of theirs, and their kernels see a variable the client does not.
        self.scratch = folder / "worker-tmp"
        self.scratch.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"},
            "TMPDIR": str(self.scratch),
            "PYTHONHASHSEED": WORKER_HASH_SEED,
        }
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
            env=self.env,
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


def _start_sweep(args: list[str], cluster: Cluster, cwd: Path) -> subprocess.Popen[str]:
    """``nbrepro ARGS --scheduler <cluster>`` started in the background."""
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    return subprocess.Popen(
        [sys.executable, "-m", "nbrepro", *args, "--scheduler", cluster.address],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    sweep = _start_sweep(args, cluster, tmp_path)
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


SHIPPED = [
    "import os\nprint(os.getcwd() == HERE)",
    "total = sum(int(x) for x in open('data/values.txt').read().split())\nprint(total)",
    "import helper\nprint(helper.twice(total))",
    "os.makedirs('out', exist_ok=True)\nopen('out/result.txt', 'w').write(str(total))",
]


def _shipped_project(root: Path) -> Path:
    """A notebook reading a recorded data file and a local module (both recorded inputs) and
    writing a result file; its first cell says whether the kernel ran in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir()
    (root / "data" / "values.txt").write_text("1 2 3 4\n")
    (root / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    (root / "unrelated.bin").write_bytes(b"never shipped")
    nb = new_notebook([f"HERE = {str(root)!r}", *SHIPPED])
    inputs = {
        "data/values.txt": {"hash": None, "kind": "file", "produced": False, "size": 8},
        "helper.py": {"hash": None, "kind": "file", "produced": False, "size": 31},
        "out/result.txt": {"hash": None, "kind": "file", "produced": True, "size": 2},
    }
    nb["metadata"]["nbrepro"] = {"inputs": inputs}
    write_notebook(nb, root / "nb.ipynb")
    return root / "nb.ipynb"


def _executed_outputs(folder: Path) -> list[str]:
    (copy,) = folder.rglob("*.ipynb")
    cells = json.loads(copy.read_text())["cells"]
    return ["".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])]


def test_ship_inputs_runs_on_a_worker_scratch_folder_and_brings_back_what_it_wrote(
    cluster: Cluster, tmp_path: Path
) -> None:
    from nbrepro.executors.shipping import inputs_to_ship

    path = _shipped_project(tmp_path / "project")
    nb = json.loads(path.read_text())
    assert sorted(inputs_to_ship(nb, path.parent)) == ["data/values.txt", "helper.py"]
    before = path.read_bytes()
    options = VerifyOptions(output_dir=tmp_path / "shipped", ship_inputs=True)
    report = verify_paths([path], options, executor="dask", scheduler=cluster.address)
    assert report.notebooks[0].status != "could-not-run", report.notebooks[0].reason
    # The kernel ran elsewhere (a scratch folder of the worker), on the shipped files ...
    assert _executed_outputs(tmp_path / "shipped")[:3] == ["False\n", "10\n", "20\n"]
    # ... and what it wrote there is here now, as a shared folder would have left it.
    assert (path.parent / "out" / "result.txt").read_text() == "10"
    # The workers' scratch folders are gone (Dask's own space aside).
    assert not list(cluster.scratch.glob("nbrepro-shipped-*"))
    assert path.read_bytes() == before
    # Without shipping, the same workers run in the (shared) folder itself.
    (path.parent / "out" / "result.txt").unlink()
    options = VerifyOptions(output_dir=tmp_path / "shared")
    verify_paths([path], options, executor="dask", scheduler=cluster.address)
    assert _executed_outputs(tmp_path / "shared")[:3] == ["True\n", "10\n", "20\n"]
    assert (path.parent / "out" / "result.txt").read_text() == "10"


def test_ship_inputs_refuses_what_it_cannot_send_in_one_line(
    cluster: Cluster, tmp_path: Path
) -> None:
    path = _shipped_project(tmp_path / "project")
    common = ["verify", "nb.ipynb", "--executor", "dask", "--scheduler", cluster.address]
    cases = {
        ("--ship-inputs", "--include", "nothing/*.csv"): "--include nothing/*.csv: matches no file",
        ("--ship-inputs", "--include", "../*"): "--include ../*: a pattern relative to",
        ("--include", "data/*"): "--include needs --ship-inputs",
    }
    for extra, message in cases.items():
        done = _nbrepro(*common, *extra, cwd=path.parent)
        assert done.returncode == 2, (extra, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr, done.stderr
    local = _nbrepro("verify", "nb.ipynb", "--ship-inputs", cwd=path.parent)
    assert local.returncode == 2
    assert local.stderr.strip() == "nbrepro: error: --ship-inputs needs --executor dask"


def test_each_execution_records_the_environment_of_the_worker_kernel_that_ran_it(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded environment says PYTHONHASHSEED is the workers' value, which this process
    does not have: compared with the workers' kernels, nothing drifted; compared with this
    machine's, it would have."""
    from nbrepro.record.kernelenv import kernel_environment

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    environment = dict(kernel_environment("python3").environment or {})
    environment["env_vars"] = {**environment["env_vars"], "PYTHONHASHSEED": WORKER_HASH_SEED}
    nb = new_notebook(["x = 1", "print(x)"])
    nb["metadata"]["nbrepro"] = {"schema_version": 1, "environment": environment, "inputs": {}}
    write_notebook(nb, tmp_path / "nb.ipynb")
    remote = verify_paths(
        [tmp_path / "nb.ipynb"], VerifyOptions(), executor="dask", scheduler=cluster.address
    ).notebooks[0]
    local = verify_paths([tmp_path / "nb.ipynb"], VerifyOptions()).notebooks[0]
    assert not any("PYTHONHASHSEED" in w for w in remote.warnings), remote.warnings
    assert any("PYTHONHASHSEED" in w for w in local.warnings), local.warnings

    from nbrepro.executors import ExecuteRequest

    with make_executor("dask", scheduler=cluster.address) as executor:
        request = ExecuteRequest(key="where", nb=nb, kernel_name="python3", cwd=str(tmp_path))
        ran_on = executor.run(request).ran_on
    worker_pids = {w.pid for w in cluster.workers}
    assert ran_on["pid"] in worker_pids and ran_on["host"]
    assert ran_on["environment"]["env_vars"]["PYTHONHASHSEED"] == WORKER_HASH_SEED


def _kernels_under(pids: set[int]) -> list[int]:
    import psutil

    found = []
    for pid in pids:
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        found += [c.pid for c in children if "ipykernel" in " ".join(c.cmdline())]
    return found


def test_ctrl_c_cancels_running_tasks_on_the_workers_and_stores_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    _project(tmp_path, ["alpha = 0", "import time\ntime.sleep(120)", "alpha"])
    args = ["run", "nb.ipynb", "--grid", "alpha=1,2,3,4", "-j", "2", "--executor", "dask"]
    sweep = _start_sweep(args, cluster, tmp_path)
    workers = {w.pid for w in cluster.workers}
    try:
        deadline = time.monotonic() + 90
        while len(_kernels_under(workers)) < 2:  # both workers are running a kernel
            assert time.monotonic() < deadline and sweep.poll() is None, "no kernels started"
            time.sleep(0.2)
        time.sleep(1.0)  # the kernels are in the sleeping cell
        sweep.send_signal(signal.SIGINT)
        _out, err = sweep.communicate(timeout=60)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, err
    assert "Traceback" not in err
    deadline = time.monotonic() + 30
    while _kernels_under(workers):  # the workers stopped their kernels, long before 120 s
        assert time.monotonic() < deadline, "kernels still run on the workers"
        time.sleep(0.2)
    assert not _bundles(tmp_path / "store")
    assert cluster.alive_workers() == 2


def test_a_run_on_a_worker_records_its_files_and_the_worker_kernels_environment(
    cluster: Cluster, tmp_path: Path
) -> None:
    """``nbrepro run --executor dask --ship-inputs``: the recorder runs in the worker's kernel
    (the files read and written, not guesses), the bundle says which worker ran it, and its
    environment is that worker kernel's (PYTHONHASHSEED only the workers have)."""
    path = _shipped_project(tmp_path / "project")
    common = ["--executor", "dask", "--scheduler", cluster.address, "--ship-inputs", "-q"]
    done = _nbrepro("run", "nb.ipynb", *common, cwd=path.parent)
    assert done.returncode == 0, done.stderr
    (manifest,) = _bundles(path.parent / ".nbrepro" / "runs")
    assert manifest["ran_on"]["pid"] in {w.pid for w in cluster.workers}
    assert manifest["environment"]["env_vars"]["PYTHONHASHSEED"] == WORKER_HASH_SEED
    assert manifest["recording"]["mode"] == "recorder", manifest["recording"]
    assert {"data/values.txt", "helper.py"} <= set(manifest["inputs"])
    assert (path.parent / "out" / "result.txt").read_text() == "10"
