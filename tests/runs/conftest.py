"""Fixtures of the runs tests: small projects, the nbrepro CLI, a real MLflow tracking server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbrepro.notebook_io import write_notebook
from tests.kernel_session import new_notebook

#: A parameterised notebook: reads a data file, logs metrics (one twice), shows a result.
METRICS_SOURCES = [
    "alpha = 1\nlabel = 'base'",
    "import nbrepro\nrows = open('data/train.csv').read().splitlines()\nprint(len(rows), alpha)",
    "nbrepro.log_metric('score', alpha * 2.5)\n"
    "nbrepro.log_metric('loss', 1 / alpha)\n"
    "nbrepro.log_metric('loss', 0.5 / alpha)",
    "from IPython.display import display\n"
    "display({'application/scrapbook.scrap.json+json': "
    "{'name': 'glued', 'data': alpha + 0.5, 'encoder': 'json', 'version': 2}},\n"
    "        metadata={'scrapbook': {'name': 'glued', 'data': True, 'display': False}}, raw=True)",
    "alpha * 3",
]


def make_notebook(path: Path, sources: list[str], parameters_cell: bool = True) -> Path:
    """Write a notebook (first cell tagged ``parameters`` unless told otherwise)."""
    nb = new_notebook(sources)
    if parameters_cell:
        nb["cells"][0]["metadata"]["tags"] = ["parameters"]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, path)
    return path


def make_project(root: Path, sources: list[str] | None = None) -> Path:
    """A project folder (pyproject.toml, data/train.csv, nb.ipynb); returns the notebook."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "train.csv").write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    return make_notebook(root / "nb.ipynb", sources or METRICS_SOURCES)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nbrepro ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "nbrepro", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def bundles(runs_dir: Path) -> list[Path]:
    """Complete run bundles in a runs directory."""
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if (p / "run.json").is_file())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MlflowServer:
    """A real ``mlflow server`` on loopback with a SQLite backend store."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "server.log", "w")  # noqa: SIM115 - closed in stop()
        exe = shutil.which("mlflow") or "mlflow"
        self.proc = subprocess.Popen(
            [
                exe,
                "server",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--default-artifact-root",
                str(folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ready = False

    def wait(self, timeout: float = 150) -> str:
        """Block until ``/health`` answers; return the tracking URI."""
        deadline = time.monotonic() + timeout
        while not self.ready:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as resp:
                    self.ready = resp.status == 200
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("mlflow server did not become healthy") from None
                time.sleep(0.25)
        return self.uri

    def stop(self) -> None:
        """Terminate the server and its workers."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """Start the tracking server once per session (it takes several seconds to start)."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_uri(mlflow_server: MlflowServer) -> str:
    """The tracking URI of the running server (waits for it to be healthy)."""
    return mlflow_server.wait()


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """Run the MLflow tests last, so the server starts while the other tests run."""
    items.sort(key=lambda item: "mlflow" in item.nodeid)


@pytest.fixture(scope="session", autouse=True)
def _start_mlflow_early(request: pytest.FixtureRequest) -> None:
    """When MLflow tests are selected, launch the server at the first runs test (only the
    MLflow tests wait for it), so its slow start overlaps the other tests."""
    if any("mlflow" in item.nodeid for item in request.session.items):
        request.getfixturevalue("mlflow_server")


# A second real Python environment with its own kernel (shared with the recorder's tests).
from tests.record.conftest import kernel_venv, venv_kernels  # noqa: E402, F401
