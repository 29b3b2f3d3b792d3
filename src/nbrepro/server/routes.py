"""The route table: every nbrepro endpoint, joined to the server's ``base_url`` in one place."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .handlers import (
    RunDiffHandler,
    RunHandler,
    RunJobHandler,
    RunNotebookHandler,
    RunsHandler,
    StatusHandler,
    VerifyHandler,
    VerifyJobHandler,
    VerifyOutputsHandler,
)
from .version import VersionHandler

#: (path under ``/nbrepro/api/``, handler class)
ROUTES: list[tuple[str, type]] = [
    ("version", VersionHandler),
    ("status", StatusHandler),
    ("verify", VerifyHandler),
    (r"verify/(?P<job_id>[A-Za-z0-9_-]+)", VerifyJobHandler),
    ("runs", RunsHandler),
    (r"runs/jobs/(?P<job_id>[A-Za-z0-9_-]+)", RunJobHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    (r"verify/(?P<job_id>[A-Za-z0-9_-]+)/outputs", VerifyOutputsHandler),
    (r"runs/(?P<run_a>[^/]+)/diff/(?P<run_b>[^/]+)", RunDiffHandler),
    (r"runs/(?P<run_id>[^/]+)/notebook", RunNotebookHandler),
]


def setup_routes(web_app: Any) -> None:
    """Add nbrepro's routes to a tornado web application."""
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, "nbrepro", "api", path), cls) for path, cls in ROUTES]
    web_app.add_handlers(".*$", handlers)
