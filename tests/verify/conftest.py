"""Fixtures for the verify tests: a private copy of the golden notebooks, a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"


@pytest.fixture(scope="module")
def nbdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``tests/fixtures/notebooks`` (tests never touch the committed files)."""
    target = tmp_path_factory.mktemp("notebooks")
    for path in FIXTURES.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    return target


# A second real Python environment with its own kernel (shared with the recorder's tests).
from tests.record.conftest import kernel_venv, venv_kernels  # noqa: E402, F401
