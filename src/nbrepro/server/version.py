"""``GET /nbrepro/api/version``: the version handshake the frontend makes at start-up.

The answer also advertises what this server offers (``capabilities``), so that the frontend shows
only what works: ``verify`` (verification jobs) and ``runs`` (experiment runs, when the run
store is part of the installation). New keys never change the API generation.
"""

from __future__ import annotations

import importlib.util

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from .base import NbreproHandler

#: The REST API generation; the frontend refuses a server of another generation.
API_VERSION = 1


def capabilities() -> dict[str, bool]:
    """What this server offers: verification jobs always; runs when ``nbrepro.runs`` imports."""
    runs = all(
        importlib.util.find_spec(name) is not None
        for name in ("nbrepro.runs.runner", "nbrepro.runs.store")
    )
    return {"verify": True, "runs": runs}


class VersionHandler(NbreproHandler):
    """Answer the server extension's version, API generation and capabilities."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        """``{"version": "...", "api": 1, "capabilities": {"verify": true, "runs": true}}``."""
        self.write_json(
            {"version": __version__, "api": API_VERSION, "capabilities": capabilities()}
        )
