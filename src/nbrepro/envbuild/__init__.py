"""Rebuilding a notebook's recorded environment: locks, uv builds cached by lock digest,
temporary kernelspecs, and verification in the rebuilt environment.

``nbrepro env lock`` writes a lock (:mod:`.lock`); ``nbrepro verify --rebuild-env`` builds the
environment with uv (:mod:`.build`, installing from pip's index, :mod:`.index`), registers a
temporary kernelspec (:mod:`.kernel`) and verifies there (:mod:`.rebuild`); ``nbrepro env
export --format dockerfile|binder`` writes container recipes (:mod:`.export`).
"""

from __future__ import annotations

from .build import (
    EXIT_NOT_REBUILT,
    BuiltEnvironment,
    EnvironmentNotRebuilt,
    build_environment,
    cache_dir,
)
from .lock import EnvLock, lock_from_environment, lock_from_notebook

__all__ = [
    "EXIT_NOT_REBUILT",
    "BuiltEnvironment",
    "EnvLock",
    "EnvironmentNotRebuilt",
    "build_environment",
    "cache_dir",
    "lock_from_environment",
    "lock_from_notebook",
]
