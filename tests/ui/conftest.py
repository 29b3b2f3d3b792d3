"""A real JupyterLab server and a real Chromium (Debian's package) for end-to-end UI tests."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
UI_DIR = Path(__file__).resolve().parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """Run the browser tests last: Playwright's sync API keeps an event loop running in this
    thread for the rest of the session, which the kernel and server tests' loops cannot share."""
    items.sort(key=lambda item: item.path.is_relative_to(UI_DIR))


@dataclass
class LabServer:
    """A running ``jupyter lab`` subprocess."""

    url: str
    token: str
    root: Path

    def lab_url(self, path: str = "lab") -> str:
        """The URL of a page of this server, with the token."""
        return f"{self.url}{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _isolated_lab_dirs(base: Path) -> dict[str, str]:
    """Environment giving the test lab its own settings and workspaces, and this checkout's build.

    The labextension built from this checkout (``npm run build``) is put first on JUPYTER_PATH,
    so that an older copy installed under ``sys.prefix/share/jupyter/labextensions`` does not
    shadow it; settings changed by a test (e.g. the theme) stay in the temporary folder.
    """
    env: dict[str, str] = {}
    for name in ("settings", "workspaces"):
        folder = base / f"lab-{name}"
        folder.mkdir(exist_ok=True)
        env[f"JUPYTERLAB_{name.upper()}_DIR"] = str(folder)
    built = REPO / "src" / "nbrepro" / "labextension"
    if (built / "package.json").exists():
        extensions = base / "jupyter-path" / "labextensions"
        extensions.mkdir(parents=True, exist_ok=True)
        link = extensions / "nbrepro"
        if not link.exists():
            link.symlink_to(built, target_is_directory=True)
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(base / "jupyter-path"), *filter(None, [os.environ.get("JUPYTER_PATH")])]
        )
    return env


@contextmanager
def _running_lab(root: Path, *extra_args: str, app: str = "jupyterlab") -> Iterator[LabServer]:
    """Run ``jupyter lab`` (or ``app``: ``notebook`` for Notebook 7) on loopback with a token,
    serving ``root``, until the block ends."""
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", **_isolated_lab_dirs(root.parent))
    log_path = root.parent / f"{root.name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            app,
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--allow-root",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                raise RuntimeError(log_path.read_text()[-3000:]) from None
            time.sleep(0.2)
    try:
        yield LabServer(url=url, token=token, root=root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab with nbrepro's server extension, for the whole session."""
    with _running_lab(tmp_path_factory.mktemp("lab-root")) as server:
        yield server


@pytest.fixture
def lab_without_server_extension(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab with nbrepro's frontend but its server extension disabled."""
    root = tmp_path_factory.mktemp("lab-root-no-server")
    with _running_lab(root, "--ServerApp.jpserver_extensions=nbrepro=False") as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def notebook7_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Notebook 7 (``jupyter notebook``) with nbrepro's server extension and frontend."""
    pytest.importorskip("notebook", minversion="7")
    with _running_lab(tmp_path_factory.mktemp("nb7-root"), app="notebook") as server:
        yield server
