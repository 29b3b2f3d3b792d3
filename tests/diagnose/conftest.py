"""Fixtures for the diagnosis tests: the labelled corpus, copied so tests never touch it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "diagnosis"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of ``tests/fixtures/diagnosis`` (without bytecode caches)."""
    target = tmp_path_factory.mktemp("diagnosis") / "corpus"
    shutil.copytree(CORPUS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target
