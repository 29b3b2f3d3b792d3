"""The base handler: JSON bodies, and the one place core errors become HTTP errors."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import NbreproError


class NbreproHandler(APIHandler):
    """Base of every nbrepro handler.

    Subclasses decorate their methods with ``@web.authenticated`` (and authorize where the
    server's authorizer applies). :class:`~nbrepro.errors.NbreproError` raised by the core is
    answered as ``{"message": ...}`` with the error's HTTP status, in :meth:`write_error`.
    """

    auth_resource = "nbrepro"

    def write_json(self, data: Any, status: int = 200) -> None:
        """Answer with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def read_json_body(self) -> dict[str, Any]:
        """Parse the request body as a JSON object, or answer 400."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise web.HTTPError(400, f"request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "request body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer errors as JSON; core errors keep their own message and status."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, NbreproError):
            self.set_status(exc.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": str(exc)}))
            return
        super().write_error(status_code, **kwargs)
