"""``GET /nbrepro/api/version``: the version handshake the frontend makes at start-up."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from .base import NbreproHandler

#: The REST API generation; the frontend refuses a server of another generation.
API_VERSION = 1


class VersionHandler(NbreproHandler):
    """Answer the server extension's version and API generation."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        """``{"version": "...", "api": 1}``."""
        self.write_json({"version": __version__, "api": API_VERSION})
