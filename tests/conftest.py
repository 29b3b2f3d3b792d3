"""Shared pytest configuration: keep kernels quiet and tests isolated from the user's Jupyter."""

from __future__ import annotations

import os
import warnings

# A fresh, private IPython/Jupyter state for every test run: no user profile, no shared history.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
warnings.filterwarnings("ignore", message=".*TCP.*")
