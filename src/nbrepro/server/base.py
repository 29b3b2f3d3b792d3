"""The base handler: bounded JSON bodies, and the one place core errors become HTTP errors.

* Bodies are streamed (:func:`tornado.web.stream_request_body`): at most
  :data:`MAX_BODY` bytes are kept, the rest is read and discarded, and the request is answered
  413 — a huge body never sits in memory.
* A client error (an :class:`~nbrepro.errors.NbreproError`, or a tornado ``HTTPError`` below 500)
  is answered ``{"message": ...}`` (one line, paths relative to the server root) and logged as
  one line without a traceback; only a bug (a 500) logs its traceback, and its answer carries
  none.
* Nothing nbrepro logs shows a token: request lines and messages pass through :func:`scrub`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import InputError, NbreproError

#: Largest request body the API reads (bytes); a larger one is answered 413.
MAX_BODY = 1 << 20
#: Deepest nesting of arrays and objects a JSON body may have.
MAX_BODY_DEPTH = 64

_SECRET_PARAM = re.compile(
    r"((?:token|auth|key|code|state|xsrf)[A-Za-z_]*=)[^&\s'\"#]+", re.IGNORECASE
)


class RequestTooLarge(InputError):
    """A request body is larger than the API accepts."""

    http_status = 413


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the values of ``token=`` (and other credential) query parameters, and
    every string of ``secrets``, replaced by ``[secret]``."""
    text = _SECRET_PARAM.sub(r"\1[secret]", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[secret]")
    return text


def one_line(text: str) -> str:
    """``text`` on one line (line breaks become spaces)."""
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def _formatted(error: web.HTTPError) -> str:
    """An HTTP error's message with its arguments (empty when it has none)."""
    message = error.log_message or ""
    if error.args and message:
        with contextlib.suppress(TypeError, ValueError):
            message = message % error.args
    return message


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects deeper than ``limit`` (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


@web.stream_request_body
class NbreproHandler(APIHandler):
    """Base of every nbrepro handler.

    Subclasses decorate their methods with ``@web.authenticated`` (and authorize where the
    server's authorizer applies). :class:`~nbrepro.errors.NbreproError` raised by the core is
    answered as ``{"message": ...}`` with the error's HTTP status, in :meth:`write_error`.
    """

    auth_resource = "nbrepro"
    #: Largest body this handler reads, in bytes.
    max_body = MAX_BODY

    _body_chunks: list[bytes] | None = None
    _body_size = 0

    # -- the body --------------------------------------------------------------------------

    def data_received(self, chunk: bytes) -> None:
        """Keep the body up to :attr:`max_body` bytes; discard the rest (answered 413)."""
        if self._body_chunks is None and self._body_size == 0:
            self._body_chunks = []
        self._body_size += len(chunk)
        if self._body_size > self.max_body:
            self._body_chunks = None
        elif self._body_chunks is not None:
            self._body_chunks.append(chunk)

    def body_bytes(self) -> bytes:
        """The request body; :class:`RequestTooLarge` (413) beyond :attr:`max_body` bytes."""
        if self._body_size > self.max_body:
            raise RequestTooLarge(
                f"the request body is larger than {self.max_body} bytes "
                f"({self._body_size} bytes); send less"
            )
        if self._body_chunks:
            return b"".join(self._body_chunks)
        return bytes(self.request.body or b"")

    def read_json_body(self) -> dict[str, Any]:
        """Parse the request body as a JSON object, or answer 400 (413 when too large)."""
        raw = self.body_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"request body is not UTF-8 (byte {exc.start}): send JSON in UTF-8"
            ) from None
        try:
            body = json.loads(text or "{}")
        except RecursionError:
            raise InputError(
                f"request body is nested too deeply (more than {MAX_BODY_DEPTH} levels)"
            ) from None
        except ValueError as exc:
            raise InputError(f"request body is not JSON: {one_line(str(exc))}") from None
        if not isinstance(body, dict):
            raise InputError("request body must be a JSON object")
        if _depth_exceeds(body, MAX_BODY_DEPTH):
            raise InputError(
                f"request body is nested too deeply (more than {MAX_BODY_DEPTH} levels)"
            )
        return body

    def write_json(self, data: Any, status: int = 200) -> None:
        """Answer with a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    # -- messages and logs -----------------------------------------------------------------

    def _root(self) -> str:
        ext = self.settings.get("nbrepro")
        root = getattr(ext, "root_dir", None) or self.settings.get("server_root_dir") or ""
        return os.path.realpath(os.path.expanduser(str(root))) if root else ""

    def client_message(self, text: str) -> str:
        """A message as the client gets it: one line, paths under the server root relative."""
        root = self._root()
        if root and root != os.sep:
            text = text.replace(root + os.sep, "").replace(root, ".")
        return one_line(text)

    def _secrets(self) -> tuple[str, ...]:
        token = getattr(getattr(self, "identity_provider", None), "token", None)
        return (token,) if isinstance(token, str) and token else ()

    def log_text(self, text: str) -> str:
        """``text`` as nbrepro logs it: one line, relative paths, no token."""
        return scrub(self.client_message(text), self._secrets())

    def _request_summary(self) -> str:
        """``METHOD URI (ip)`` with credentials in the query scrubbed."""
        uri = scrub(self.request.uri or "", self._secrets())
        return f"{self.request.method} {uri} ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        """Client errors in one line, without a traceback; a bug (500) with its traceback,
        never with the request's credentials."""
        if isinstance(value, NbreproError):
            log = self.log.warning if value.http_status >= 500 else self.log.info
            log(
                "nbrepro: %d %s: %s",
                value.http_status, self._request_summary(),
                self.log_text(value.message_for("rest")),
            )  # fmt: skip
            return
        if isinstance(value, web.HTTPError):
            message = _formatted(value)
            log = self.log.warning if value.status_code >= 500 else self.log.info
            log("nbrepro: %d %s: %s", value.status_code, self._request_summary(),
                self.log_text(message or value.reason or ""))  # fmt: skip
            return
        self.log.error(
            "nbrepro: internal error %s", self._request_summary(), exc_info=value or True
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer errors as JSON ``{"message": ...}`` (one line); core errors keep their own
        message and status; no answer carries a traceback."""
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, NbreproError):
            self.set_status(exc.http_status)
            message = self.client_message(exc.message_for("rest"))
        elif isinstance(exc, web.HTTPError):
            message = self.client_message(_formatted(exc) or exc.reason or self._reason)
        elif exc is not None:
            message = f"internal error in nbrepro ({type(exc).__name__}); see the server log"
        else:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))
