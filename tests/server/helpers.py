"""Helpers for the server tests: notebooks on disk and sessions driven like JupyterLab.

``NotebookSession`` drives a kernel the way JupyterLab does: it creates a session through the
REST API, opens the kernel websocket with the ``v1.kernel.websocket.jupyter.org`` protocol and
sends execute requests carrying ``metadata.cellId``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

from nbrepro.notebook_io import write_notebook
from tests.kernel_session import new_notebook

V1 = "v1.kernel.websocket.jupyter.org"


def make_notebook(root: Path, name: str, sources: list[str], **metadata: Any) -> Path:
    nb = new_notebook(sources)
    nb["metadata"].update(metadata)
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, path)
    return path


async def get_json(jp_fetch: Any, *parts: str, **params: Any) -> Any:
    response = await jp_fetch(*parts, params=params, method="GET")
    return json.loads(response.body)


class NotebookSession:
    """A notebook session on the test server, driven over the kernel websocket."""

    def __init__(self, jp_fetch: Any, jp_ws_fetch: Any, path: str, kernel: str = "python3") -> None:
        self.jp_fetch = jp_fetch
        self.jp_ws_fetch = jp_ws_fetch
        self.path = path
        self.kernel = kernel
        self.session = Session(key=b"", username="test")
        self.ws: Any = None
        self.kernel_id = ""
        self.session_id = ""

    async def start(self) -> NotebookSession:
        body = json.dumps(
            {
                "path": self.path,
                "type": "notebook",
                "name": Path(self.path).name,  # as JupyterLab sends it
                "kernel": {"name": self.kernel},
            }
        )
        response = await self.jp_fetch("api", "sessions", method="POST", body=body)
        model = json.loads(response.body)
        self.kernel_id = model["kernel"]["id"]
        self.session_id = model["id"]
        await self.connect()
        return self

    async def connect(self) -> None:
        self.ws = await self.jp_ws_fetch(
            "api",
            "kernels",
            self.kernel_id,
            "channels",
            params={"session_id": self.session.session},
            subprotocols=[V1],
        )
        await self.wait_until_ready()

    async def wait_until_ready(self, limit: float = 60) -> None:
        """Send ``kernel_info_request`` until both its reply and its iopub status arrive, as
        JupyterLab does on connect: the kernel's iopub subscription is set up asynchronously,
        and output published before it is live (the first cell's ``print``) is lost."""
        deadline = asyncio.get_running_loop().time() + limit
        while not await self._kernel_info(timeout=2):
            assert asyncio.get_running_loop().time() < deadline, "the kernel never answered"

    async def execute(
        self, code: str, cell_id: str | None = None, timeout: float = 60
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Run code as JupyterLab does; return (execute_reply content, iopub messages)."""
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata=metadata,
        )
        msg_id = msg["header"]["msg_id"]
        msg["header"]["date"] = json_default(msg["header"]["date"])
        self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", self.session.pack), binary=True)
        iopub: list[dict[str, Any]] = []
        reply: dict[str, Any] | None = None
        idle = False
        while reply is None or not idle:
            raw = await asyncio.wait_for(self.ws.read_message(), timeout)
            assert raw is not None, "the kernel websocket closed"
            channel, parts = deserialize_msg_from_ws_v1(raw)
            header = json.loads(parts[0])
            parent = json.loads(parts[1])
            if parent.get("msg_id") != msg_id:
                continue
            content = json.loads(parts[3])
            if channel == "shell" and header["msg_type"] == "execute_reply":
                reply = content
            elif channel == "iopub":
                iopub.append({"msg_type": header["msg_type"], "content": content})
                if header["msg_type"] == "status" and content["execution_state"] == "idle":
                    idle = True
        return reply, iopub

    async def run_cell(self, nb: dict[str, Any], index: int) -> dict[str, Any]:
        cell = nb["cells"][index]
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        reply, _ = await self.execute(source, cell_id=cell["id"])
        return reply

    async def restart(self) -> None:
        """Restart the kernel, then wait until it answers on this websocket, as JupyterLab does
        (the server reconnects the kernel's channels after a restart and a message sent
        meanwhile can be lost; see :meth:`wait_until_ready`)."""
        await self.jp_fetch("api", "kernels", self.kernel_id, "restart", method="POST", body="{}")
        await self.wait_until_ready()

    async def _kernel_info(self, timeout: float) -> bool:
        msg = self.session.msg("kernel_info_request", {})
        msg["header"]["date"] = json_default(msg["header"]["date"])
        self.ws.write_message(serialize_msg_to_ws_v1(msg, "shell", self.session.pack), binary=True)
        end = asyncio.get_running_loop().time() + timeout
        replied = published = False
        while (left := end - asyncio.get_running_loop().time()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), left)
            except asyncio.TimeoutError:
                return False
            assert raw is not None, "the kernel websocket closed"
            channel, parts = deserialize_msg_from_ws_v1(raw)
            parent = json.loads(parts[1])
            if parent.get("msg_id") == msg["header"]["msg_id"]:
                replied = replied or channel == "shell"
                published = published or channel == "iopub"
                if replied and published:
                    return True
        return False

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        await self.jp_fetch("api", "sessions", self.session_id, method="DELETE")


def stream_text(iopub: list[dict[str, Any]]) -> str:
    return "".join(m["content"].get("text", "") for m in iopub if m["msg_type"] == "stream")
