"""Fixtures for the analysis tests: notebooks made by a real kernel session run out of order.

One kernel (with the nbrepro recorder loaded, as the server extension does) serves the whole
package: each scenario gets a fresh namespace (``%reset -f``, silent) and its own cell ids, runs
its cells in the order a user did, and is saved and read back like a real notebook.
"""

from __future__ import annotations

import ast
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from nbrepro.notebook_io import read_notebook
from tests.kernel_session import KernelSession, new_notebook

PROVENANCE_EXPR = "__import__('nbrepro.record.api', fromlist=['_']).provenance_json()"


def notebook(sources: Sequence[str], *, language: str | None = None) -> dict[str, Any]:
    """A hand-built notebook (cells never run) with unique cell ids."""
    nb = new_notebook(sources)
    prefix = uuid.uuid4().hex[:6]
    for cell in nb["cells"]:
        cell["id"] = f"{prefix}-{cell['id']}"
    if language is not None:
        nb["metadata"]["language_info"] = {"name": language}
        nb["metadata"]["kernelspec"] = {
            "name": language,
            "language": language,
            "display_name": language,
        }
    return nb


def with_counts(nb: dict[str, Any], counts: Sequence[int | None]) -> dict[str, Any]:
    """Set the execution counts of the code cells, top to bottom (hand-built order cases)."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == len(counts)
    for cell, count in zip(code, counts, strict=True):
        cell["execution_count"] = count
        if count is not None:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    return nb


class Scenario:
    """A user's session on one notebook, driven through the shared real kernel."""

    def __init__(self, session: KernelSession, tmp_path: Path, sources: Sequence[str]) -> None:
        self.session = session
        self.tmp_path = tmp_path
        session.nb = notebook(sources)
        reply, _ = session.execute_code("%reset -f", silent=True, store_history=False)
        assert reply["status"] == "ok"

    @property
    def nb(self) -> dict[str, Any]:
        return self.session.nb

    def run(self, *order: int) -> Scenario:
        """Run cells by index in this order; every cell must succeed (a real session)."""
        for index in order:
            reply = self.session.run_cell(index)
            assert reply["status"] == "ok", (index, self.session.nb["cells"][index]["outputs"])
        return self

    def edit(self, index: int, source: str) -> Scenario:
        self.session.edit(index, source)
        return self

    def delete(self, index: int) -> Scenario:
        self.session.delete(index)
        return self

    def provenance(self) -> dict[str, Any]:
        """The kernel's recorded provenance, read as the server reads it."""
        return json.loads(_user_expression(self.session, PROVENANCE_EXPR))

    def save(self, name: str = "nb.ipynb", *, with_provenance: bool = False) -> dict[str, Any]:
        """Save the notebook (with the recorder's provenance merged, if asked) and read it back."""
        nb = self.session.nb
        if with_provenance:
            from nbrepro.provenance import merge_into_notebook

            nb = merge_into_notebook(nb, self.provenance())
        path = self.tmp_path / name
        self.session.nb, original = nb, self.session.nb
        try:
            self.session.save(path)
        finally:
            self.session.nb = original
        return read_notebook(path)


def _user_expression(session: KernelSession, expr: str) -> Any:
    msg = session.kc.session.msg(
        "execute_request",
        {
            "code": "",
            "silent": True,
            "store_history": False,
            "user_expressions": {"x": expr},
            "allow_stdin": False,
            "stop_on_error": False,
        },
    )
    session.kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    while True:
        reply = session.kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    result = reply["content"]["user_expressions"]["x"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])


@pytest.fixture(scope="package")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """One real python3 kernel with the recorder loaded, shared by the analysis tests."""
    cwd = tmp_path_factory.mktemp("kernel-cwd")
    with KernelSession(new_notebook([]), cwd=cwd) as session:
        reply, outputs = session.execute_code("%load_ext nbrepro", silent=True, store_history=False)
        assert reply["status"] == "ok", outputs
        yield session


@pytest.fixture
def scenario(kernel: KernelSession, tmp_path: Path):
    """Factory: ``scenario(sources)`` starts a user's session on a new notebook."""

    def start(sources: Sequence[str]) -> Scenario:
        return Scenario(kernel, tmp_path, sources)

    return start
