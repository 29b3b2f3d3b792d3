"""Two real environments built with uv, a notebook recorded in the first, shared by the session.

The package that differs: ``wcwidth`` (pure Python, on the index). 0.2.6 added the Unicode 15
tables, so the width of U+1FAE8 (SHAKING FACE, new in Unicode 15) changed from 1 (0.2.5: not a
known wide character) to 2 (0.2.13: an East Asian wide emoji). A notebook printing that width
is recorded where 0.2.5 is installed (environment A) and verified where 0.2.13 is (B); the
rebuilt copy of A is built from the recording alone.

A and B are virtual environments seeing this interpreter's packages (ipykernel, nbrepro's
recorder) with their own ``wcwidth``; their kernel ``nbr-wcwidth`` runs A while recording and
B afterwards (the kernel was upgraded). Built environments, uv's downloads and the temporary
kernelspecs live in this session's temporary folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbrepro.envbuild.build import find_uv, venv_python
from nbrepro.envbuild.index import pip_index

KERNEL = "nbr-wcwidth"
OLD, NEW = "0.2.5", "0.2.13"
#: Prints 1 with wcwidth 0.2.5 and 2 with 0.2.13 (see the module docstring).
WIDTH_CELL = "import wcwidth\nprint(wcwidth.wcswidth('\\U0001FAE8'))"


def uv_venv(root: Path, wcwidth: str, uv_cache: Path) -> Path:
    """A uv virtual environment seeing this interpreter's packages, with ``wcwidth`` pinned."""
    uv = find_uv()
    env = dict(os.environ, UV_CACHE_DIR=str(uv_cache))
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [uv, "venv", "--quiet", "--system-site-packages", "--python", sys.executable,
         str(root)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    python = venv_python(root)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *pip_index().uv_args(),
         f"wcwidth=={wcwidth}"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    return python


def write_kernel(data_dir: Path, python: Path) -> None:
    """Kernel ``nbr-wcwidth`` running ``python`` (as ``ipykernel install --name`` writes it)."""
    folder = data_dir / "kernels" / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL,
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))


@dataclass(frozen=True)
class DriftSetup:
    """The session's environments and the notebook recorded in A."""

    base: Path
    jupyter_path: Path
    data_dir: Path
    env_cache: Path
    uv_cache: Path
    recorded: Path

    def variables(self) -> dict[str, str]:
        """The environment variables verification runs with."""
        return {
            "JUPYTER_PATH": str(self.jupyter_path),
            "JUPYTER_DATA_DIR": str(self.data_dir),
            "NBREPRO_ENV_CACHE": str(self.env_cache),
            "UV_CACHE_DIR": str(self.uv_cache),
        }

    def temporary_kernels(self) -> list[str]:
        """Temporary kernelspecs left in the data folder (should be none)."""
        kernels = self.data_dir / "kernels"
        return sorted(p.name for p in kernels.iterdir()) if kernels.is_dir() else []


@pytest.fixture(scope="session")
def drift_setup(tmp_path_factory: pytest.TempPathFactory) -> DriftSetup:
    """Environments A (wcwidth 0.2.5) and B (0.2.13), and a notebook recorded in A.

    Under xdist the built environments and uv's cache are shared by the workers (in the run's
    common temporary folder; builds of one lock wait for each other), so the rebuilt copy is
    built once per test run."""
    from tests.record.kernel_venv import record_notebook

    base = tmp_path_factory.mktemp("envbuild")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = tmp_path_factory.getbasetemp().parent if worker else base
    uv_cache = shared / "envbuild-uv-cache"
    python_a = uv_venv(base / "env-a", OLD, uv_cache)
    python_b = uv_venv(base / "env-b", NEW, uv_cache)
    setup = DriftSetup(
        base,
        base / "jupyter",
        base / "data",
        shared / "envbuild-envs",
        uv_cache,
        base / "nb" / "w.ipynb",
    )
    setup.recorded.parent.mkdir()
    write_kernel(setup.jupyter_path, python_a)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in setup.variables().items():
            mp.setenv(name, value)
        record_notebook(KERNEL, [WIDTH_CELL], setup.recorded)
    write_kernel(setup.jupyter_path, python_b)  # the kernel's environment was upgraded since
    return setup


@pytest.fixture
def drift(drift_setup: DriftSetup, monkeypatch: pytest.MonkeyPatch) -> Iterator[DriftSetup]:
    """``drift_setup`` with its variables set (kernel ``nbr-wcwidth`` runs B)."""
    for name, value in drift_setup.variables().items():
        monkeypatch.setenv(name, value)
    yield drift_setup
    assert drift_setup.temporary_kernels() == []
