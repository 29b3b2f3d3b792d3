"""Drive a real kernel the way JupyterLab does, to make notebooks by real sessions.

Tests use :class:`KernelSession` to run a notebook's cells in any order (sending each cell's id
in the execute request's metadata, as JupyterLab does) and to save the resulting notebook with
real outputs and execution counts — so out-of-order notebooks in tests come from a real kernel,
not from hand-edited JSON.
"""

from __future__ import annotations

import copy
import os
import queue
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager


def new_notebook(sources: Sequence[str], kernel: str = "python3") -> dict[str, Any]:
    """A version-4.5 notebook: one code cell per source (markdown if it starts with '#md ')."""
    cells = []
    for i, src in enumerate(sources):
        if src.startswith("#md "):
            cells.append(
                {"cell_type": "markdown", "id": f"md-{i}", "metadata": {}, "source": src[4:]}
            )
        else:
            cells.append(
                {
                    "cell_type": "code",
                    "id": f"cell-{i}",
                    "metadata": {},
                    "source": src,
                    "outputs": [],
                    "execution_count": None,
                }
            )
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }


class KernelSession:
    """A live kernel plus the notebook whose cells it executes."""

    def __init__(
        self,
        nb: dict[str, Any],
        cwd: str | os.PathLike[str] | None = None,
        kernel_name: str = "python3",
        env: dict[str, str] | None = None,
    ) -> None:
        self.nb = copy.deepcopy(nb)
        self.km = KernelManager(kernel_name=kernel_name)
        kwargs: dict[str, Any] = {"cwd": str(cwd) if cwd else None}
        if env is not None:
            kwargs["env"] = env
        self.km.start_kernel(**kwargs)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the kernel."""
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def execute_code(
        self,
        code: str,
        *,
        silent: bool = False,
        store_history: bool = True,
        metadata: dict[str, Any] | None = None,
        timeout: float = 60,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Execute code; return (execute_reply content, nbformat outputs)."""
        msg = self.kc.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
        )
        msg["metadata"].update(metadata or {})
        self.kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        outputs: list[dict[str, Any]] = []
        while True:
            try:
                io = self.kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no output from kernel for {code!r}") from None
            if io["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = io["msg_type"], io["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                if (
                    outputs
                    and outputs[-1].get("output_type") == "stream"
                    and outputs[-1]["name"] == content["name"]
                ):
                    outputs[-1]["text"] += content["text"]
                else:
                    outputs.append(
                        {"output_type": "stream", "name": content["name"], "text": content["text"]}
                    )
            elif kind in ("display_data", "execute_result"):
                out = {
                    "output_type": kind,
                    "data": content["data"],
                    "metadata": content.get("metadata", {}),
                }
                if kind == "execute_result":
                    out["execution_count"] = content["execution_count"]
                outputs.append(out)
            elif kind == "error":
                outputs.append(
                    {
                        "output_type": "error",
                        "ename": content["ename"],
                        "evalue": content["evalue"],
                        "traceback": content["traceback"],
                    }
                )
            elif kind == "clear_output":
                outputs.clear()
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        return reply["content"], outputs

    def run_cell(
        self, index: int, *, source: str | None = None, deleted_cells: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Execute cell ``index`` as JupyterLab does (cellId in metadata); store its outputs.

        ``source`` first replaces the cell's source (an edit before running). Returns the
        execute reply's content.
        """
        cell = self.nb["cells"][index]
        if source is not None:
            cell["source"] = source
        meta: dict[str, Any] = {"cellId": cell.get("id") or str(uuid.uuid4())}
        if deleted_cells:
            meta["deletedCells"] = list(deleted_cells)
        reply, outputs = self.execute_code(cell["source"], metadata=meta)
        cell["outputs"] = outputs
        cell["execution_count"] = reply.get("execution_count")
        return reply

    def run_order(self, order: Iterable[int]) -> None:
        """Execute cells by index in the given order."""
        for index in order:
            self.run_cell(index)

    def edit(self, index: int, source: str) -> None:
        """Change a cell's source without running it (the user edited it after it ran)."""
        self.nb["cells"][index]["source"] = source

    def delete(self, index: int) -> str:
        """Delete a cell from the notebook (its effects stay in the kernel); return its id."""
        cell = self.nb["cells"].pop(index)
        return str(cell.get("id"))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the notebook as it stands (with nbformat's layout)."""
        from nbrepro.notebook_io import write_notebook

        write_notebook(self.nb, path)
        return Path(path)
