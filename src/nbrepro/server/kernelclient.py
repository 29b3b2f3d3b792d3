"""Silent requests to a kernel: load the recorder, read its provenance.

Every request here is an ``execute_request`` with ``silent=True, store_history=False`` and
``stop_on_error=False``: it changes no execution count, adds nothing to the history, publishes no
``execute_input`` and cannot abort the user's queued requests. The work happens in
``user_expressions``, whose errors are returned in the reply instead of being shown as
tracebacks. A request uses its own DEALER socket and message session, so it is safe to call from a
worker thread while the server's event loop relays the user's messages.
"""

from __future__ import annotations

import ast
import json
import time
from typing import Any

import zmq
from jupyter_client.session import Session

#: ``user_expressions`` that loads the recorder (IPython returns None or 'already loaded').
LOAD_RECORDER_EXPRESSION = "get_ipython().extension_manager.load_extension('nbrepro') or 'loaded'"
#: ``user_expressions`` that reads the live provenance as JSON text.
PROVENANCE_EXPRESSION = (
    "__import__('nbrepro.record.api', fromlist=['provenance_json']).provenance_json()"
)


class SilentRequestError(Exception):
    """The kernel did not answer in time, or answered with an error."""


def _shell_url(info: dict[str, Any]) -> str:
    transport = info.get("transport", "tcp")
    if transport == "ipc":
        return f"ipc://{info['ip']}-{info['shell_port']}"
    return f"{transport}://{info['ip']}:{info['shell_port']}"


def silent_request(
    connection_info: dict[str, Any],
    user_expressions: dict[str, str],
    *,
    timeout: float,
    code: str = "",
) -> dict[str, Any]:
    """Send one silent execute request; return ``user_expressions`` of the reply.

    ``connection_info`` is the kernel manager's ``get_connection_info()`` (ports, ip, key).
    Raises :class:`SilentRequestError` on timeout or when the request itself failed.
    """
    key = connection_info.get("key", b"")
    session = Session(
        key=key if isinstance(key, bytes) else str(key).encode(),
        signature_scheme=connection_info.get("signature_scheme", "hmac-sha256"),
        username="nbrepro",
    )
    content = {
        "code": code,
        "silent": True,
        "store_history": False,
        "user_expressions": user_expressions,
        "allow_stdin": False,
        "stop_on_error": False,
    }
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    try:
        sock.connect(_shell_url(connection_info))
        msg = session.send(sock, "execute_request", content)
        if msg is None:
            raise SilentRequestError("the request could not be sent")
        msg_id = msg["header"]["msg_id"]
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sock.poll(int(remaining * 1000) + 1):
                raise SilentRequestError(f"the kernel did not answer within {timeout:g} s")
            _idents, parts = session.feed_identities(sock.recv_multipart())
            reply = session.deserialize(parts)
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            body = reply["content"]
            if body.get("status") != "ok":
                raise SilentRequestError(f"{body.get('ename')}: {body.get('evalue')}")
            return dict(body.get("user_expressions") or {})
    finally:
        sock.close(linger=0)


def expression_text(result: dict[str, Any]) -> str:
    """The value of a ``user_expressions`` result (a Python literal's text/plain repr)."""
    if result.get("status") != "ok":
        raise SilentRequestError(f"{result.get('ename')}: {result.get('evalue')}")
    text = (result.get("data") or {}).get("text/plain", "")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return str(text)
    return value if isinstance(value, str) else str(value)


def load_recorder(connection_info: dict[str, Any], *, timeout: float) -> str:
    """Load ``%load_ext nbrepro`` silently; return ``'loaded'`` or ``'already loaded'``."""
    result = silent_request(connection_info, {"load": LOAD_RECORDER_EXPRESSION}, timeout=timeout)
    return expression_text(result.get("load", {}))


def read_provenance(connection_info: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """The live kernel's provenance (``nbrepro.record.api.provenance_json()``)."""
    result = silent_request(connection_info, {"prov": PROVENANCE_EXPRESSION}, timeout=timeout)
    text = expression_text(result.get("prov", {}))
    try:
        prov = json.loads(text)
    except ValueError as exc:
        raise SilentRequestError(f"the kernel's provenance is not JSON: {exc}") from None
    if not isinstance(prov, dict):
        raise SilentRequestError("the kernel's provenance is not a JSON object")
    return prov
