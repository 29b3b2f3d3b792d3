"""nbrepro: make notebook reproducibility visible while you work and provable in CI.

This module stays import-light on purpose: ``nbrepro check`` and ``nbrepro --help`` import it,
so nothing of jupyter_server, tornado, nbformat or nbclient is imported here. The entry points
that Jupyter and IPython look up delegate lazily to the modules that do the work.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built: no generated _version.py
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "load_ipython_extension", "log_metric", "unload_ipython_extension"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt frontend extension lives."""
    return [{"src": "labextension", "dest": "nbrepro"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Tell jupyter_server which module loads the server extension."""
    return [{"module": "nbrepro.server"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbrepro``: start recording provenance in this IPython session."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbrepro``: stop recording provenance in this IPython session."""
    from .record.extension import unload_ipython_extension as _unload

    _unload(ipython)


def log_metric(name: str, value: float) -> None:
    """Record a metric of the current notebook run (read back by ``nbrepro run``)."""
    from .runs.metrics import log_metric as _log_metric

    _log_metric(name, value)
