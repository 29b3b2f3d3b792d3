"""The relay observer: a kernel websocket connection that reports executions as it relays them.

:func:`recording_connection_class` derives a class from the server's configured
``kernel_websocket_connection_class`` (the default ``ZMQChannelsWebsocketConnection`` or any
subclass a deployment set). It sees every message a frontend sends to a kernel and every message
the kernel sends back, for every kernel language:

* a non-silent ``execute_request`` on the shell channel (its ``metadata.cellId`` and code) and
  the ``execute_reply`` that answers it (``execution_count``, ``status``, ``ename``) become one
  journal entry;
* while the recorder is being loaded into a (re)started kernel, shell messages are held and then
  relayed in their original order, so the user's first execution runs after the recorder.

Observation is best-effort: a message it cannot parse is relayed untouched.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

from .recording import RecordingService

_V1 = "v1.kernel.websocket.jupyter.org"
_DELIM = b"<IDS|MSG>"


class RecordingConnectionMixin:
    """Mixin for a kernel websocket connection class; see the module docstring."""

    #: Set on the derived class by :func:`recording_connection_class`.
    nbrepro_service: RecordingService | None = None

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        """Observe (and possibly hold) a frontend message, then relay it."""
        service = self.nbrepro_service
        if service is None:
            super().handle_incoming_message(incoming_msg)  # type: ignore[misc]
            return
        held: list[Any] | None = getattr(self, "_nbrepro_held", None)
        if held:
            held.append(incoming_msg)
            return
        try:
            parsed = self._nbrepro_parse_incoming(incoming_msg)
        except Exception:
            parsed = None
        kernel_id: str = self.kernel_id  # type: ignore[attr-defined]
        if parsed is not None and parsed[0] == "shell":
            state = service.kernels.get(kernel_id)
            if state is not None and state.gated:
                self._nbrepro_hold(incoming_msg, state.gate)
                return
        self._nbrepro_relay(incoming_msg, parsed)

    def _nbrepro_relay(self, incoming_msg: Any, parsed: tuple[str, dict[str, Any]] | None) -> None:
        service = self.nbrepro_service
        if parsed is not None and service is not None:
            channel, msg = parsed
            header = msg.get("header") or {}
            if channel == "shell" and header.get("msg_type") == "execute_request":
                content = msg.get("content") or {}
                if not content.get("silent"):
                    metadata = msg.get("metadata") or {}
                    service.on_execute_request(
                        self.kernel_id,  # type: ignore[attr-defined]
                        str(header.get("msg_id")),
                        str(content.get("code", "")),
                        metadata.get("cellId"),
                    )
        super().handle_incoming_message(incoming_msg)  # type: ignore[misc]

    def _nbrepro_hold(self, first: Any, gate: Any) -> None:
        self._nbrepro_held = [first]

        def release(_: Any = None) -> None:
            held, self._nbrepro_held = self._nbrepro_held, []
            for message in held:
                try:
                    parsed = self._nbrepro_parse_incoming(message)
                except Exception:
                    parsed = None
                self._nbrepro_relay(message, parsed)

        gate.add_done_callback(release)

    def _nbrepro_parse_incoming(self, ws_msg: Any) -> tuple[str, dict[str, Any]] | None:
        """``(channel, {header, metadata, content})``; only execute requests are fully parsed."""
        if self.subprotocol == _V1:  # type: ignore[attr-defined]
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            header = json.loads(parts[0])
            msg: dict[str, Any] = {"header": header}
            if header.get("msg_type") == "execute_request":
                msg["metadata"] = json.loads(parts[2])
                msg["content"] = json.loads(parts[3])
            return str(channel), msg
        if isinstance(ws_msg, bytes):
            return None
        msg = json.loads(ws_msg)
        return str(msg.get("channel") or "shell"), msg

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        """Observe execute replies, then relay the message."""
        service = self.nbrepro_service
        if service is not None:
            try:
                self._nbrepro_observe_outgoing(service, stream, outgoing_msg)
            except Exception as exc:
                self.log.debug("nbrepro: unreadable kernel message: %s", exc)  # type: ignore[attr-defined]
        super().handle_outgoing_message(stream, outgoing_msg)  # type: ignore[misc]

    def _nbrepro_observe_outgoing(
        self, service: RecordingService, stream: Any, msg_list: list[Any]
    ) -> None:
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
        if channel != "shell":
            return
        parts = [bytes(p) if not isinstance(p, bytes) else p for p in msg_list]
        start = parts.index(_DELIM) + 2  # after the delimiter and the signature
        if b"execute_reply" not in parts[start]:
            return
        unpack = self.session.unpack  # type: ignore[attr-defined]
        header = unpack(parts[start])
        if header.get("msg_type") != "execute_reply":
            return
        parent = unpack(parts[start + 1])
        content = unpack(parts[start + 3])
        service.on_execute_reply(self.kernel_id, str(parent.get("msg_id")), content)  # type: ignore[attr-defined]


def recording_connection_class(base: type, service: RecordingService) -> type:
    """A subclass of ``base`` (a kernel websocket connection class) that reports to ``service``."""
    return type(
        f"Recording{base.__name__}",
        (RecordingConnectionMixin, base),
        {"nbrepro_service": service, "__module__": __name__},
    )
