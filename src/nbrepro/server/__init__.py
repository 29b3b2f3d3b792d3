"""The jupyter-server extension: REST handlers under ``/nbrepro/api/``, thin layers over the core."""

from __future__ import annotations

from typing import Any

from .routes import setup_routes


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register nbrepro's handlers with a running jupyter server."""
    setup_routes(server_app.web_app)
    server_app.log.info("nbrepro server extension loaded")


# Older jupyter_server / notebook versions look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
