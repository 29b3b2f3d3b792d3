"""Fixtures of the ecosystem tests: notebooks made by real kernel sessions, plugin arguments."""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kernel_session import KernelSession, new_notebook


def pytest_configure(config: pytest.Config) -> None:
    """Enable pytest's ``pytester`` fixture for these tests (a sub-folder conftest may not set
    ``pytest_plugins``)."""
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def _plugin_installed() -> bool:
    return any(
        ep.value == "nbrepro.pytest_plugin"
        for ep in importlib.metadata.entry_points(group="pytest11")
    )


#: ``-p nbrepro.pytest_plugin`` until the pytest11 entry point is installed (loading it twice
#: would be an error once it is).
PLUGIN_ARGS: list[str] = [] if _plugin_installed() else ["-p", "nbrepro.pytest_plugin"]

#: A notebook that reads a data file and prints a result from it.
DATA_SOURCES = [
    "with open('numbers.txt') as fh:\n    numbers = [int(x) for x in fh.read().split()]",
    "print('total:', sum(numbers))",
    "len(numbers)",
]


@pytest.fixture(scope="session")
def recorded_notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``sums.ipynb`` and its ``numbers.txt``, executed in a real kernel.

    Top to bottom in one session, so the notebook reproduces as long as the data is unchanged.
    """
    folder = tmp_path_factory.mktemp("recorded")
    (folder / "numbers.txt").write_text("1 2 3 4\n", encoding="utf-8")
    with KernelSession(new_notebook(DATA_SOURCES), cwd=folder) as session:
        session.run_order(range(len(DATA_SOURCES)))
        session.save(folder / "sums.ipynb")
    return folder


@pytest.fixture
def copy_recorded(recorded_notebooks: Path) -> Callable[[Path, str], Path]:
    """Copy the recorded notebook and its data into a folder under a given notebook name."""

    def copy(dest: Path, name: str = "sums.ipynb") -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(recorded_notebooks / "numbers.txt", dest / "numbers.txt")
        shutil.copy(recorded_notebooks / "sums.ipynb", dest / name)
        return dest / name

    return copy
